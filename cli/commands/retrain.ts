import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { describeSchedule, upsertRetrainingSchedule } from '../../control/monitor-schedule.ts';
import { recordedSpec, requestRetraining } from '../../control/request-retraining.ts';
import { durationSchema } from '../../shared/duration.ts';
import { type Env, EXIT, UsageError, subcommands } from '../command.ts';
import { loadSpecFile } from '../load-spec.ts';

const HELP = {
  retrain: `Usage: sluice retrain <model> --reason TEXT [--spec spec.json] [--requested-by NAME]

Starts a training pipeline for <model> on the newest data of its spec's dataset source; the reason and
who asked are recorded in the new version's lineage (trigger kind 'manual'). Without --spec, the spec
the model's champion (else its newest version) was trained with is used. Refused, with nothing started,
while the model is already training. The run then waits for approval like any other (sluice pipeline
status <run>).
  --reason TEXT        why (required)
  --spec FILE          pipeline spec to train with instead of the recorded one
  --requested-by NAME  who asks (default: your login)`,
  'retrain schedule': `Usage: sluice retrain schedule <model> --every 7d [--spec spec.json]

Creates the model's retraining Schedule (or updates it in place): every --every it trains <model> on
the newest data of the spec's dataset source (trigger kind 'schedule'). On unchanged data a run
attaches to the one that already trained on it; while the model is training, the firing starts
nothing. Without --spec, the spec recorded for the model now is used (re-run to change it).`,
} as const;

async function retrain(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { reason: { type: 'string' }, spec: { type: 'string' }, 'requested-by': { type: 'string' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1 || values.reason === undefined) throw new UsageError(HELP.retrain);
  const outcome = await requestRetraining(
    { client: env.client, config: env.config, store: env.store },
    {
      model,
      reason: values.reason,
      requestedBy: values['requested-by'] ?? userInfo().username,
      ...(values.spec ? { spec: loadSpecFile(values.spec) as Record<string, unknown> } : {}),
    },
  );
  if (outcome.status === 'already-running') {
    env.write(`Refused: ${outcome.message}`);
    if (outcome.heldBy) env.write(`Temporal UI: ${env.uiRunUrl(outcome.heldBy)}`);
    return EXIT.userError;
  }
  const spec = { request: `spec ${values.spec ?? ''}`, registry: 'the spec recorded in the registry', 'run-history': "the spec of the current version's run" }[outcome.specFrom];
  env.write(`${outcome.status === 'started' ? 'started' : 'this exact request (model, data, spec) already has a run; attached to'} ${outcome.workflowId} with ${spec}`);
  env.write(`dataset version ${outcome.datasetVersion}, spec ${outcome.specHash.slice(0, 12)}`);
  env.write(`Temporal UI: ${env.uiRunUrl(outcome.workflowId)}`);
  env.write(`follow it with: sluice pipeline status ${outcome.workflowId}`);
  return EXIT.ok;
}

async function retrainSchedule(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { every: { type: 'string' }, spec: { type: 'string' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1 || !values.every) throw new UsageError(HELP['retrain schedule']);
  if (!durationSchema.safeParse(values.every).success) throw new UsageError(`--every must be a duration like 12h or 7d, got '${values.every}'`);
  const recorded = values.spec ? undefined : await recordedSpec({ store: env.store, buckets: env.config.buckets, client: env.client }, model);
  const spec = values.spec ? loadSpecFile(values.spec) : recorded?.spec;
  const { scheduleId, created } = await upsertRetrainingSchedule(env, { model, every: values.every, spec });
  const next = (await describeSchedule(env.client, scheduleId))?.info.nextActionTimes[0];
  env.write(`${created ? 'created' : 'updated'} schedule ${scheduleId}: retrains ${model} every ${values.every} with ${values.spec ? `spec ${values.spec}` : `the spec of v${recorded?.version}`}`);
  env.write(`next run ${next?.toISOString() ?? 'none'}`);
  return EXIT.ok;
}

export const RETRAIN_COMMANDS = subcommands(HELP, {
  retrain,
  'retrain schedule': retrainSchedule,
});
