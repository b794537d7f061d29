import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { startTrainingPipeline } from '../../control/start-training-pipeline.ts';
import { AWAITING_APPROVAL_QUERY } from '../../shared/pipeline-identity.ts';
import type { PipelineOutcome } from '../../shared/pipeline.ts';
import { approveUpdate, rejectUpdate } from '../../workflows/approval-gate.ts';
import { pipelineStatusQuery } from '../../workflows/training-pipeline.ts';
import { type Env, EXIT, UsageError, subcommands } from '../command.ts';
import { signedDecision } from '../decision-signing.ts';
import type { Decision } from '../../shared/approval.ts';
import { PROOF_MAX_AGE_MS } from '../../shared/decision-proof.ts';
import { loadSpecFile } from '../load-spec.ts';
import { describeApprovalPaths, describeOutcome, followPipeline } from '../progress-view.ts';

const HELP = {
  'pipeline start': `Usage: sluice pipeline start <spec.json> [--requested-by NAME] [--no-follow] [--auto-approve]

Starts a training pipeline run, or attaches to the run this exact request (model, dataset content,
spec) already started, and follows it stage by stage. 'contract' and 'features' in the spec may be
paths relative to the spec file.
  --requested-by NAME  who asks (default: your login); recorded, and used by forbidSelfApproval
  --no-follow          print the run id and exit
  --auto-approve       approve on your behalf when the run reaches approval`,
  'pipeline status': `Usage: sluice pipeline status <workflow-id> [--json]

Shows the run's stages with timings, its evaluation and gate verdicts, and its approval state.
  --json   {workflowId, status, startTime, stage?, stages?, approval?, evaluation?, outcome?}: status is
           Temporal's (RUNNING, COMPLETED, FAILED...); stages, approval and evaluation come from the
           run's status query while it runs (absent when no worker answers), outcome once it completed`,
  'pipeline approve': `Usage: sluice pipeline approve <workflow-id> --by NAME [--key-file FILE] [--comment TEXT]

Approves a run that awaits approval (a Temporal Update: refused with the reason if the run is not
waiting, if NAME already approved, or if policy forbids NAME approving their own run).
  --key-file FILE  NAME's Ed25519 private key (sluice approvers keygen): signs the decision for this
                   run, as a model whose policy has requireVerifiedIdentity requires`,
  'pipeline reject': `Usage: sluice pipeline reject <workflow-id> --by NAME [--key-file FILE] [--comment TEXT]

Rejects a run that awaits approval; the reason is recorded in the registry's status history.
  --key-file FILE  NAME's Ed25519 private key: signs the decision, as for approve`,
  'pipeline sign-decision': `Usage: sluice pipeline sign-decision <workflow-id> approve|reject --by NAME --key-file FILE [--comment TEXT]

Prints a signed decision as one JSON document, for the Temporal UI: open the run, "Send a Signal",
name approve (or reject), and paste it as the input. It is signed for the run now awaiting approval
and is valid for ${PROOF_MAX_AGE_MS / 60_000} minutes; the decision itself is checked when the signal arrives (a refused
one is listed under ignoredSignals, with the reason, in the approvalState query).`,
  'pipeline list': `Usage: sluice pipeline list [--awaiting-approval] [--json]

Lists training pipeline runs, newest first; --awaiting-approval lists only runs waiting for a decision
(the same filter works in the Temporal UI: ${AWAITING_APPROVAL_QUERY}).
  --json   [{workflowId, status, stage, modelVersion, startTime}], at most 50`,
} as const;

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
    { client: env.client, config: env.config, store: env.store },
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
    ...(env.live && { live: env.live }),
    ...(values['auto-approve'] ? { autoApproveAs: `${requestedBy} (auto-approve)` } : {}),
  });
  for (const line of describeOutcome(outcome)) env.write(line);
  return outcomeExit(outcome);
}

function outcomeExit(outcome: PipelineOutcome): number {
  return outcome.status === 'approved' ? EXIT.ok : EXIT.notApproved;
}

async function pipelineStatus(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const [id] = positionals;
  if (!id) throw new UsageError(HELP['pipeline status']);
  const handle = env.client.workflow.getHandle(id);
  const description = await handle.describe();
  const report = { workflowId: id, status: description.status.name, startTime: description.startTime.toISOString() };
  if (description.status.name !== 'RUNNING') {
    const outcome = description.status.name === 'COMPLETED' ? ((await handle.result()) as PipelineOutcome) : undefined;
    if (values.json) env.write(JSON.stringify({ ...report, ...(outcome && { outcome }) }, null, 2));
    else {
      env.write(`${id}: ${description.status.name}  (started ${report.startTime})`);
      env.write(`Temporal UI: ${env.uiRunUrl(id)}`);
      for (const line of outcome ? describeOutcome(outcome) : []) env.write(line);
    }
    return outcome ? outcomeExit(outcome) : EXIT.runFailed;
  }
  let status;
  try {
    // Without a worker, Temporal holds a query until its own deadline; five seconds is enough to know.
    status = await env.connection.withDeadline(Date.now() + 5000, () => handle.query(pipelineStatusQuery));
  } catch {
    // Queries are answered by a worker; without one, the search attributes still say where the run is.
    const stage = String(description.searchAttributes.PipelineStage?.[0] ?? 'unknown');
    if (values.json) env.write(JSON.stringify({ ...report, stage }, null, 2));
    else {
      env.write(`${id}: ${description.status.name}  (started ${report.startTime})`);
      env.write(`Temporal UI: ${env.uiRunUrl(id)}`);
      env.write(`  stage: ${stage} (no worker answered the status query on task queue ${description.taskQueue}; start one with: npm run worker)`);
    }
    return EXIT.ok;
  }
  if (values.json) {
    env.write(JSON.stringify({ ...report, stage: status.stage, stages: status.stages, approval: status.approval, ...(status.evaluation && { evaluation: status.evaluation }) }, null, 2));
    return EXIT.ok;
  }
  env.write(`${id}: ${description.status.name}  (started ${report.startTime})`);
  env.write(`Temporal UI: ${env.uiRunUrl(id)}`);
  const now = Date.now();
  status.stages.forEach((s, i) => {
    const end = status.stages[i + 1]?.startedAt;
    env.write(`  ${end ? '✔' : '▶'} ${s.stage.padEnd(18)} ${(((end ? Date.parse(end) : now) - Date.parse(s.startedAt)) / 1000).toFixed(1)} s  ${s.detail}`);
  });
  if (status.stage === 'awaiting-approval' || status.stage === 'approval-escalated') {
    env.write(`  approvals: ${status.approval.approvals.map((a) => a.by).join(', ') || 'none yet'} of ${status.approval.requiredApprovals} needed; deadline ${status.approval.deadline ?? 'n/a'}`);
    for (const line of describeApprovalPaths(id, env.uiRunUrl(id), status.approval.verification !== undefined)) env.write(`  ${line}`);
  }
  return EXIT.ok;
}

const DECISION_OPTIONS = { by: { type: 'string' }, comment: { type: 'string' }, 'key-file': { type: 'string' } } as const;

async function pipelineDecide(env: Env, decision: Decision, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: DECISION_OPTIONS });
  const [id] = positionals;
  if (!id || !values.by) throw new UsageError(HELP[`pipeline ${decision}`]);
  const input = values['key-file'] === undefined ? { by: values.by, comment: values.comment ?? '' } : await signedDecision(env, id, decision, { by: values.by, comment: values.comment ?? '', keyFile: values['key-file'] });
  // A signed decision names its run, so it goes to that run only.
  const handle = env.client.workflow.getHandle(id, input.proof?.runId);
  const state = await handle.executeUpdate(decision === 'approve' ? approveUpdate : rejectUpdate, { args: [input] });
  const signed = input.proof ? ' (signed)' : '';
  env.write(`${decision === 'approve' ? 'approved' : 'rejected'} by ${values.by}${signed}; approval status now: ${state.status} (${state.approvals.length}/${state.requiredApprovals} approvals)`);
  return EXIT.ok;
}

async function pipelineSignDecision(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: DECISION_OPTIONS });
  const [id, decision] = positionals;
  if (!id || (decision !== 'approve' && decision !== 'reject') || !values.by || !values['key-file']) throw new UsageError(HELP['pipeline sign-decision']);
  env.write(JSON.stringify(await signedDecision(env, id, decision, { by: values.by, comment: values.comment ?? '', keyFile: values['key-file'] })));
  return EXIT.ok;
}

async function pipelineList(env: Env, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'awaiting-approval': { type: 'boolean' }, json: { type: 'boolean' } } });
  const query = values['awaiting-approval'] ? AWAITING_APPROVAL_QUERY : 'WorkflowType = "trainingPipeline"';
  const runs = [];
  for await (const run of env.client.workflow.list({ query })) {
    const version = run.searchAttributes.ModelVersion?.[0];
    runs.push({
      workflowId: run.workflowId,
      status: run.status.name,
      stage: String(run.searchAttributes.PipelineStage?.[0] ?? ''),
      modelVersion: version === undefined ? null : Number(version),
      startTime: run.startTime.toISOString(),
    });
    if (runs.length >= 50) break;
  }
  if (values.json) {
    env.write(JSON.stringify(runs, null, 2));
    return EXIT.ok;
  }
  for (const run of runs) env.write(`${run.workflowId}  ${run.status.padEnd(10)} ${run.stage.padEnd(18)} ${run.modelVersion !== null ? `v${run.modelVersion}` : ''}  ${run.startTime}`);
  if (runs.length === 0) env.write(values['awaiting-approval'] ? 'no runs await approval' : 'no training pipeline runs yet');
  return EXIT.ok;
}

export const PIPELINE_COMMANDS = subcommands(HELP, {
  'pipeline start': pipelineStart,
  'pipeline status': pipelineStatus,
  'pipeline approve': (env, args) => pipelineDecide(env, 'approve', args),
  'pipeline reject': (env, args) => pipelineDecide(env, 'reject', args),
  'pipeline sign-decision': pipelineSignDecision,
  'pipeline list': pipelineList,
});
