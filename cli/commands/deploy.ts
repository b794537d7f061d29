import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { controlDeployment, deploymentState, startRollout } from '../../control/deployment-commands.ts';
import { describeIssues } from '../../shared/parse-input.ts';
import { type DeploymentAction, deploymentWorkflowId, describeFigures, rolloutPlanSchema } from '../../shared/deployment.ts';
import type { DeploymentView } from '../../workflows/model-deployment.ts';
import { type Env, EXIT, UsageError, subcommands } from '../command.ts';

const HELP = {
  'deploy start': `Usage: sluice deploy start <model> <version> --by NAME [--plan plan.json] [--reason TEXT]

Starts a canary rollout of an approved version (an update-with-start of workflow deploy-<model>).
The plan file holds the rollout plan (shadow, steps, health, maxExtensions, onInsufficientData); without
it the default plan runs: 5 → 25 → 50 → 100 %. Refused with the reason while another rollout runs.`,
  'deploy status': `Usage: sluice deploy status <model> [--json]

Shows the model's routes, the rollout in progress (step, health figures and verdicts) and past rollouts.
  --json   the deployment workflow's state as its query returns it (routes, rollout, history)`,
  'deploy promote': `Usage: sluice deploy promote <model> --by NAME [--reason TEXT]

Promotes the version being rolled out now, skipping the remaining steps; answers once it is champion.`,
  'deploy pause': `Usage: sluice deploy pause <model> --by NAME [--reason TEXT]

Holds the rollout at its current split: no step advances and nothing is judged until resumed.`,
  'deploy resume': `Usage: sluice deploy resume <model> --by NAME [--reason TEXT]

Resumes a paused rollout; the current step bakes afresh from now.`,
  'deploy rollback': `Usage: sluice deploy rollback <model> --by NAME [--reason TEXT]

Rolls the version being rolled out back: the champion takes all traffic, the registry records
rolled-back with the reason.`,
} as const;

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
        ? ` ${last.verdict}${last.early ? ' while baking' : ''}: ${describeFigures(last.figures)}${last.reasons.length ? ` (${last.reasons.join('; ')})` : ''}`
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
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const [model] = positionals;
  if (!model) throw new UsageError(HELP['deploy status']);
  const state = await env.connection.withDeadline(Date.now() + 5000, () => deploymentState(env.client, model));
  if (values.json) env.write(JSON.stringify(state, null, 2));
  else describeDeployment(state, env.write);
  return EXIT.ok;
}

async function deployControl(env: Env, action: DeploymentAction, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { by: { type: 'string' }, reason: { type: 'string' } } });
  const [model] = positionals;
  if (!model || !values.by) throw new UsageError(HELP[`deploy ${action}`]);
  const state = await controlDeployment(env.client, model, action, { by: values.by, reason: values.reason ?? '' });
  describeDeployment(state, env.write);
  return EXIT.ok;
}

export const DEPLOY_COMMANDS = subcommands(HELP, {
  'deploy start': deployStart,
  'deploy status': deployStatus,
  'deploy promote': (env, args) => deployControl(env, 'promote', args),
  'deploy pause': (env, args) => deployControl(env, 'pause', args),
  'deploy resume': (env, args) => deployControl(env, 'resume', args),
  'deploy rollback': (env, args) => deployControl(env, 'rollback', args),
});
