import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { startTrainingPipeline } from '../control/start-training-pipeline.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import { type Config, loadConfig } from '../shared/config.ts';
import { AWAITING_APPROVAL_QUERY } from '../shared/pipeline-identity.ts';
import { describeIssues } from '../shared/parse-input.ts';
import type { PipelineOutcome } from '../shared/pipeline.ts';
import { readFileSync } from 'node:fs';
import { controlDeployment, deploymentState, startRollout } from '../control/deployment-commands.ts';
import { type DeploymentAction, deploymentWorkflowId, rolloutPlanSchema } from '../shared/deployment.ts';
import { approveUpdate, rejectUpdate } from '../workflows/approval-gate.ts';
import type { DeploymentView } from '../workflows/model-deployment.ts';
import { pipelineStatusQuery } from '../workflows/training-pipeline.ts';
import { type Command, EXIT, type Env, UsageError, exitCodeFor } from './command.ts';
import { loadSpecFile } from './load-spec.ts';
import { MONITOR_HELP, monitorSchedule, monitorStatus } from './monitor-commands.ts';
import { describeApprovalPaths, describeOutcome, followPipeline } from './progress-view.ts';
import { RETRAIN_HELP, retrain, retrainSchedule } from './retrain-commands.ts';
import { TIMELINE_HELP, modelsTimeline } from './timeline-command.ts';

export { EXIT } from './command.ts';

const HELP = {
  main: `sluice: train, approve and inspect models.

Usage:
  sluice pipeline start <spec.json> [--requested-by NAME] [--no-follow] [--auto-approve]
  sluice pipeline status <workflow-id>
  sluice pipeline approve <workflow-id> --by NAME [--comment TEXT]
  sluice pipeline reject <workflow-id> --by NAME [--comment TEXT]
  sluice pipeline list [--awaiting-approval]
  sluice models list
  sluice models show <name> [version]
  sluice deploy start <model> <version> --by NAME [--plan plan.json] [--reason TEXT]
  sluice deploy status <model>
  sluice deploy promote|pause|resume|rollback <model> --by NAME [--reason TEXT]
  sluice monitor schedule <model> --every 1h [--window 1h] [--retrain-spec spec.json] [--k 2 --n 3] [--cooldown 24h]
  sluice monitor status <model>
  sluice retrain <model> --reason TEXT [--spec spec.json]
  sluice retrain schedule <model> --every 7d [--spec spec.json]
  sluice models timeline <model> [--html out.html]

Run 'sluice <command> --help' for details. Settings come from SLUICE_* variables (see the README).
Exit codes: 0 ok, 1 bad input, 2 bad config, 3 the run ended without an approved model, 4 the run failed.`,
  'pipeline start': `Usage: sluice pipeline start <spec.json> [--requested-by NAME] [--no-follow] [--auto-approve]

Starts a training pipeline run, or attaches to the run this exact request (model, dataset content,
spec) already started, and follows it stage by stage. 'contract' and 'features' in the spec may be
paths relative to the spec file.
  --requested-by NAME  who asks (default: your login); recorded, and used by forbidSelfApproval
  --no-follow          print the run id and exit
  --auto-approve       approve on your behalf when the run reaches approval`,
  'pipeline status': `Usage: sluice pipeline status <workflow-id>

Shows the run's stages with timings, its evaluation and gate verdicts, and its approval state.`,
  'pipeline approve': `Usage: sluice pipeline approve <workflow-id> --by NAME [--comment TEXT]

Approves a run that awaits approval (a Temporal Update: refused with the reason if the run is not
waiting, if NAME already approved, or if policy forbids NAME approving their own run).`,
  'pipeline reject': `Usage: sluice pipeline reject <workflow-id> --by NAME [--comment TEXT]

Rejects a run that awaits approval; the reason is recorded in the registry's status history.`,
  'pipeline list': `Usage: sluice pipeline list [--awaiting-approval]

Lists training pipeline runs, newest first; --awaiting-approval lists only runs waiting for a decision
(the same filter works in the Temporal UI: ${AWAITING_APPROVAL_QUERY}).`,
  'models list': `Usage: sluice models list

Lists registered models with their versions, statuses and aliases.`,
  'models show': `Usage: sluice models show <name> [version]

Shows a model's versions, or one version's manifest (lineage, metrics, ONNX hash) and status history.`,
  'deploy start': `Usage: sluice deploy start <model> <version> --by NAME [--plan plan.json] [--reason TEXT]

Starts a canary rollout of an approved version (an update-with-start of workflow deploy-<model>).
The plan file holds the rollout plan (shadow, steps, health, maxExtensions, onInsufficientData); without
it the default plan runs: 5 → 25 → 50 → 100 %. Refused with the reason while another rollout runs.`,
  'deploy status': `Usage: sluice deploy status <model>

Shows the model's routes, the rollout in progress (step, health figures and verdicts) and past rollouts.`,
  'deploy promote': `Usage: sluice deploy promote <model> --by NAME [--reason TEXT]

Promotes the version being rolled out now, skipping the remaining steps; answers once it is champion.`,
  'deploy pause': `Usage: sluice deploy pause <model> --by NAME [--reason TEXT]

Holds the rollout at its current split: no step advances and nothing is judged until resumed.`,
  'deploy resume': `Usage: sluice deploy resume <model> --by NAME [--reason TEXT]

Resumes a paused rollout; the current step bakes afresh from now.`,
  'deploy rollback': `Usage: sluice deploy rollback <model> --by NAME [--reason TEXT]

Rolls the version being rolled out back: the champion takes all traffic, the registry records
rolled-back with the reason.`,
  ...MONITOR_HELP,
  ...RETRAIN_HELP,
  ...TIMELINE_HELP,
} as const;
const helpFor = (key: string): string => (HELP as Record<string, string>)[key] ?? HELP.main;

async function pipelineStart(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'requested-by': { type: 'string' }, 'no-follow': { type: 'boolean' }, 'auto-approve': { type: 'boolean' } },
  });
  const [specPath] = positionals;
  if (!specPath || positionals.length > 1) throw new UsageError(HELP['pipeline start']);
  const requestedBy = values['requested-by'] ?? userInfo().username;
  const started = await startTrainingPipeline(
    { client: env.client, config: env.config, store: MinioArtifactStore.fromConfig(env.config.minio) },
    { spec: loadSpecFile(specPath), requestedBy, trigger: { kind: 'manual', by: requestedBy } },
  );
  env.write(`${started.started ? 'started' : 'this exact request already has a run; attached to'} ${started.workflowId}`);
  env.write(`dataset version ${started.datasetVersion}, spec ${started.specHash.slice(0, 12)}`);
  env.write(`Temporal UI: ${env.uiRunUrl(started.workflowId)}`);
  if (values['no-follow']) return EXIT.ok;
  const outcome = await followPipeline(started.handle, {
    client: env.client,
    taskQueue: env.config.taskQueues.pipeline,
    runUrl: env.uiRunUrl(started.workflowId),
    write: env.write,
    ...(values['auto-approve'] ? { autoApproveAs: `${requestedBy} (auto-approve)` } : {}),
  });
  for (const line of describeOutcome(outcome)) env.write(line);
  return outcomeExit(outcome);
}

function outcomeExit(outcome: PipelineOutcome): number {
  return outcome.status === 'approved' ? EXIT.ok : EXIT.notApproved;
}

async function pipelineStatus(env: Env, args: string[]): Promise<number> {
  const [id] = parseArgs({ args, allowPositionals: true }).positionals;
  if (!id) throw new UsageError(HELP['pipeline status']);
  const handle = env.client.workflow.getHandle(id);
  const description = await handle.describe();
  env.write(`${id}: ${description.status.name}  (started ${description.startTime.toISOString()})`);
  env.write(`Temporal UI: ${env.uiRunUrl(id)}`);
  if (description.status.name !== 'RUNNING') {
    if (description.status.name === 'COMPLETED') {
      const outcome = (await handle.result()) as PipelineOutcome;
      for (const line of describeOutcome(outcome)) env.write(line);
      return outcomeExit(outcome);
    }
    return EXIT.runFailed;
  }
  let status;
  try {
    // Without a worker, Temporal holds a query until its own deadline; five seconds is enough to know.
    status = await env.connection.withDeadline(Date.now() + 5000, () => handle.query(pipelineStatusQuery));
  } catch {
    // Queries are answered by a worker; without one, the search attributes still say where the run is.
    env.write(`  stage: ${String(description.searchAttributes.PipelineStage?.[0] ?? 'unknown')} (no worker answered the status query on task queue ${description.taskQueue}; start one with: npm run worker)`);
    return EXIT.ok;
  }
  const now = Date.now();
  status.stages.forEach((s, i) => {
    const end = status.stages[i + 1]?.startedAt;
    env.write(`  ${end ? '✔' : '▶'} ${s.stage.padEnd(18)} ${(((end ? Date.parse(end) : now) - Date.parse(s.startedAt)) / 1000).toFixed(1)} s  ${s.detail}`);
  });
  if (status.stage === 'awaiting-approval' || status.stage === 'approval-escalated') {
    env.write(`  approvals: ${status.approval.approvals.map((a) => a.by).join(', ') || 'none yet'} of ${status.approval.requiredApprovals} needed; deadline ${status.approval.deadline ?? 'n/a'}`);
    for (const line of describeApprovalPaths(id, env.uiRunUrl(id))) env.write(`  ${line}`);
  }
  return EXIT.ok;
}

async function pipelineDecide(env: Env, decision: 'approve' | 'reject', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { by: { type: 'string' }, comment: { type: 'string' } } });
  const [id] = positionals;
  if (!id || !values.by) throw new UsageError(helpFor(`pipeline ${decision}`));
  const handle = env.client.workflow.getHandle(id);
  const state = await handle.executeUpdate(decision === 'approve' ? approveUpdate : rejectUpdate, { args: [{ by: values.by, comment: values.comment ?? '' }] });
  env.write(`${decision === 'approve' ? 'approved' : 'rejected'} by ${values.by}; approval status now: ${state.status} (${state.approvals.length}/${state.requiredApprovals} approvals)`);
  return EXIT.ok;
}

async function pipelineList(env: Env, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'awaiting-approval': { type: 'boolean' } } });
  const query = values['awaiting-approval'] ? AWAITING_APPROVAL_QUERY : 'WorkflowType = "trainingPipeline"';
  let count = 0;
  for await (const run of env.client.workflow.list({ query })) {
    const stage = run.searchAttributes.PipelineStage?.[0] ?? '';
    const version = run.searchAttributes.ModelVersion?.[0];
    env.write(`${run.workflowId}  ${run.status.name.padEnd(10)} ${String(stage).padEnd(18)} ${version !== undefined ? `v${String(version)}` : ''}  ${run.startTime.toISOString()}`);
    if (++count >= 50) break;
  }
  if (count === 0) env.write(values['awaiting-approval'] ? 'no runs await approval' : 'no training pipeline runs yet');
  return EXIT.ok;
}

async function modelsList(env: Env): Promise<number> {
  const names = await env.registry.models();
  if (names.length === 0) env.write('no models registered yet');
  for (const name of names) {
    const index = await env.registry.index(name);
    const aliases = Object.entries(index.aliases).map(([a, v]) => `${a}=v${v}`).join(' ');
    const statuses = Object.entries(index.versions).map(([v, e]) => `v${v}:${e.history.at(-1)?.status ?? '?'}`).join(' ');
    env.write(`${name}  ${index.latestVersion} version(s)  ${aliases}  ${statuses}`);
  }
  return EXIT.ok;
}

async function modelsShow(env: Env, args: string[]): Promise<number> {
  const [name, versionArg] = parseArgs({ args, allowPositionals: true }).positionals;
  if (!name) throw new UsageError(HELP['models show']);
  if (versionArg === undefined) {
    const index = await env.registry.index(name);
    for (const [version, entry] of Object.entries(index.versions)) {
      const last = entry.history.at(-1);
      const aliases = Object.entries(index.aliases).filter(([, v]) => String(v) === version).map(([a]) => a);
      env.write(`v${version}  ${last?.status ?? '?'}  ${last ? `${last.at} by ${last.by}` : ''}${aliases.length ? `  [${aliases.join(', ')}]` : ''}`);
    }
    return EXIT.ok;
  }
  const version = Number(versionArg);
  if (!Number.isInteger(version) || version < 1) throw new UsageError(`version must be a positive whole number, got '${versionArg}'`);
  const view = await env.registry.view(name, version);
  env.write(JSON.stringify({ status: view.status, aliases: view.aliases, manifest: view.manifest, history: view.history }, null, 2));
  return EXIT.ok;
}

function describeDeployment(state: DeploymentView, write: (line: string) => void): void {
  const routes = state.routes;
  write(`${state.model}: ${state.phase}; champion ${state.champion === undefined ? 'none' : `v${state.champion}`}`);
  if (routes) {
    const parts = [`primary v${routes.primary}`];
    if (routes.canary) parts.push(`canary v${routes.canary.version} ${routes.canary.percent}%`);
    if (routes.shadow) parts.push(`shadow v${routes.shadow.version} ${routes.shadow.percent}%`);
    write(`  routes: ${parts.join(', ')}`);
  }
  const rollouts = state.current ? [...state.history.slice(-5), state.current] : state.history.slice(-5);
  for (const rollout of rollouts) {
    write(`  v${rollout.version} by ${rollout.by} at ${rollout.startedAt}: ${rollout.outcome ? `${rollout.outcome.kind} (${rollout.outcome.reason})` : 'in progress'}`);
    for (const step of rollout.steps) {
      const last = step.checks.at(-1);
      const figures = last
        ? ` ${last.verdict}: ${last.figures.candidate.samples} samples, psi ${last.figures.psi?.toFixed(3) ?? 'n/a'}, p99 ${last.figures.candidate.p99LatencyMs?.toFixed(1) ?? 'n/a'} ms, auc ${last.figures.candidate.auc?.toFixed(3) ?? 'n/a'} vs ${last.figures.champion.auc?.toFixed(3) ?? 'n/a'}${last.reasons.length ? ` (${last.reasons.join('; ')})` : ''}`
        : '';
      write(`    ${step.kind} ${step.percent}%${figures}${step.reportKey ? ` report ${step.reportKey}` : ''}`);
    }
  }
  for (const ignored of state.ignoredSignals.slice(-3)) write(`  ignored signal ${ignored.signal} at ${ignored.at}: ${ignored.reason}`);
}

async function deployStart(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { by: { type: 'string' }, plan: { type: 'string' }, reason: { type: 'string' } } });
  const [model, versionArg] = positionals;
  const version = Number(versionArg);
  if (!model || !values.by || !Number.isInteger(version) || version < 1) throw new UsageError(HELP['deploy start']);
  const parsedPlan = rolloutPlanSchema.safeParse(values.plan ? JSON.parse(readFileSync(values.plan, 'utf8')) : {});
  if (!parsedPlan.success) throw new UsageError(`Invalid rollout plan: ${describeIssues(parsedPlan.error).join('; ')}`);
  const state = await startRollout(env.client, env.config.taskQueues.pipeline, model, { version, plan: parsedPlan.data, by: values.by, reason: values.reason ?? '' });
  describeDeployment(state, env.write);
  env.write(`Temporal UI: ${env.uiRunUrl(deploymentWorkflowId(model))}`);
  return EXIT.ok;
}

async function deployStatus(env: Env, args: string[]): Promise<number> {
  const [model] = parseArgs({ args, allowPositionals: true }).positionals;
  if (!model) throw new UsageError(HELP['deploy status']);
  const state = await env.connection.withDeadline(Date.now() + 5000, () => deploymentState(env.client, model));
  describeDeployment(state, env.write);
  return EXIT.ok;
}

async function deployControl(env: Env, action: DeploymentAction, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { by: { type: 'string' }, reason: { type: 'string' } } });
  const [model] = positionals;
  if (!model || !values.by) throw new UsageError(helpFor(`deploy ${action}`));
  const state = await controlDeployment(env.client, model, action, { by: values.by, reason: values.reason ?? '' });
  describeDeployment(state, env.write);
  return EXIT.ok;
}

const COMMANDS: Record<string, Command> = {
  'pipeline start': pipelineStart,
  'pipeline status': pipelineStatus,
  'pipeline approve': (env, args) => pipelineDecide(env, 'approve', args),
  'pipeline reject': (env, args) => pipelineDecide(env, 'reject', args),
  'pipeline list': pipelineList,
  'models list': (env) => modelsList(env),
  'models show': modelsShow,
  'deploy start': deployStart,
  'deploy status': deployStatus,
  'deploy promote': (env, args) => deployControl(env, 'promote', args),
  'deploy pause': (env, args) => deployControl(env, 'pause', args),
  'deploy resume': (env, args) => deployControl(env, 'resume', args),
  'deploy rollback': (env, args) => deployControl(env, 'rollback', args),
  'monitor schedule': monitorSchedule,
  'monitor status': monitorStatus,
  'retrain schedule': retrainSchedule,
  retrain,
  'models timeline': modelsTimeline,
};

/** The command an argv names: two words (`deploy start`), or one (`retrain <model>`) where no two-word command matches. */
function commandKey(argv: string[]): string {
  const two = argv.slice(0, 2).join(' ');
  return COMMANDS[two] ? two : (argv[0] ?? '');
}

/** Runs one CLI invocation and returns its exit code; every expected error becomes one plain line. */
export async function runCli(argv: string[], io: { write: (line: string) => void; error: (line: string) => void; env: NodeJS.ProcessEnv }): Promise<number> {
  const key = commandKey(argv);
  const rest = argv.slice(key.split(' ').length);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.write(HELP.main);
    return argv.length === 0 ? EXIT.userError : EXIT.ok;
  }
  const command = COMMANDS[key];
  if (!command) {
    io.error(`unknown command '${argv.join(' ')}'\n\n${HELP.main}`);
    return EXIT.userError;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.write(helpFor(key));
    return EXIT.ok;
  }
  let config: Config;
  try {
    config = loadConfig(io.env);
  } catch (err) {
    return exitCodeFor(err, io.error);
  }
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 5000 }).catch((err: unknown) => {
      throw new UsageError(`Cannot reach Temporal at ${config.temporal.address} (SLUICE_TEMPORAL_ADDRESS): ${(err as Error).message}. Is the stack up? Try: npm run infra:up`);
    });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const [host] = config.temporal.address.split(':');
    const env: Env = {
      config,
      connection,
      client,
      registry: new ModelRegistry(MinioArtifactStore.fromConfig(config.minio), config.buckets.models),
      write: io.write,
      uiRunUrl: (id) => `http://${host}:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(id)}`,
    };
    return await command(env, rest);
  } catch (err) {
    return exitCodeFor(err, io.error);
  } finally {
    await connection?.close();
  }
}
