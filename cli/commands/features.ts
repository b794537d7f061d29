import { parseArgs } from 'node:util';
import { featureRefreshStatus, refreshFeaturesNow, upsertFeatureRefreshSchedule } from '../../control/feature-refresh.ts';
import { ModelRegistry } from '../../domain/registry/model-registry.ts';
import { durationSchema } from '../../shared/duration.ts';
import { REFRESH_AS_OF, type RefreshAsOf, type RefreshOutcome } from '../../shared/online-refresh.ts';
import { type Env, EXIT, UsageError, subcommands } from '../command.ts';

const AS_OF_HELP = `  --as-of data-end|now   the instant the snapshot describes: just after the newest event in the data
                         (data-end, the default: online == offline at that instant, and the age
                         metric shows the data's lag) or the run's own time (now: windows slide
                         with the clock even when no data arrived)`;

const HELP = {
  'features schedule': `Usage: sluice features schedule <model> [--every 15m] [--as-of data-end|now] [--keep 8] [--pause | --resume]

Creates or updates the Temporal Schedule (refresh-features-<model>) that refreshes <model>'s online
features: each run ingests the champion's dataset source again (new data gives a new dataset version)
and materializes a new snapshot, which the API picks up on its next poll. A run still going when the
next is due makes that one skip. Promoting a version creates it with the defaults; options not given
keep the schedule's own settings.
  --every DURATION       how often (default 15m): 5m, 1h, 1d
${AS_OF_HELP}
  --keep N               snapshots kept after each run, newest first (default 8); older ones are removed
                         once an hour old
  --pause, --resume      stop or restart the refreshes (a rollout that leaves the model unserved pauses it)`,
  'features status': `Usage: sluice features status <model> [--json]

Shows the model's feature refresh schedule (interval, as-of mode, paused, next and recent runs) and the
online snapshot served for its champion's feature spec: its as-of instant, when it was written, its age.
  --json   {model, champion, schedule: {scheduleId, every, asOf, paused, nextRunAt, recentRuns} | null, snapshot: {...} | null}`,
  'features refresh': `Usage: sluice features refresh <model> [--as-of data-end|now] [--json]

Refreshes <model>'s online features now and waits: ingests the source, materializes a snapshot and
prints rows ingested and keys changed. A refresh of the model already running is waited on instead.
${AS_OF_HELP}
  --json   the refresh's outcome (rows ingested, snapshot key, keys changed) as one JSON object`,
} as const;

function asOfOption(value: string | undefined): RefreshAsOf | undefined {
  if (value === undefined) return undefined;
  if (!(REFRESH_AS_OF as readonly string[]).includes(value)) throw new UsageError(`--as-of must be one of ${REFRESH_AS_OF.join(', ')}, got '${value}'`);
  return value as RefreshAsOf;
}

async function featuresSchedule(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { every: { type: 'string' }, 'as-of': { type: 'string' }, keep: { type: 'string' }, pause: { type: 'boolean' }, resume: { type: 'boolean' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1) throw new UsageError(HELP['features schedule']);
  if (values.pause && values.resume) throw new UsageError('--pause and --resume exclude each other');
  if (values.every !== undefined && !durationSchema.safeParse(values.every).success) throw new UsageError(`--every must be a duration like 15m, 1h or 1d, got '${values.every}'`);
  const asOf = asOfOption(values['as-of']);
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (keep !== undefined && !(Number.isInteger(keep) && keep >= 2 && keep <= 10_000)) throw new UsageError(`--keep must be a whole number of snapshots from 2 to 10000, got '${values.keep}'`);
  // A schedule for a name the registry does not know would fail on every run; refuse it now (ModelNotFound).
  await new ModelRegistry(env.store, env.config.buckets.models).index(model);
  const state = await upsertFeatureRefreshSchedule(env, {
    model,
    ...(values.every !== undefined ? { every: values.every } : {}),
    ...(asOf ? { asOf } : {}),
    ...(keep !== undefined ? { keepSnapshots: keep } : {}),
    ...(values.pause ? { paused: true } : values.resume ? { paused: false } : {}),
  });
  env.write(`${state.created ? 'created' : 'updated'} schedule ${state.scheduleId}: refreshes ${model}'s online features every ${state.every}, as of ${state.asOf}, keeping the newest ${state.keepSnapshots} snapshots${state.paused ? ' (PAUSED)' : ''}`);
  return EXIT.ok;
}

const ageText = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)}s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)}m` : ms < 172_800_000 ? `${(ms / 3_600_000).toFixed(1)}h` : `${(ms / 86_400_000).toFixed(1)}d`);

async function featuresStatus(env: Env, args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1) throw new UsageError(HELP['features status']);
  const status = await featureRefreshStatus(env, model);
  if (values.json) {
    env.write(JSON.stringify(status, null, 2));
    return EXIT.ok;
  }
  const { schedule, snapshot } = status;
  if (!schedule) env.write(`refresh schedule: none (promote a version, or: sluice features schedule ${model})`);
  else {
    env.write(`refresh schedule: ${schedule.scheduleId}, every ${schedule.every}, as of ${schedule.asOf}${schedule.paused ? ' (PAUSED)' : ''}; next run ${schedule.nextRunAt ?? 'none'}`);
    for (const run of schedule.recentRuns.slice(-3)) env.write(`  ran ${run.startedAt}: ${run.workflowId} (${run.runId})`);
  }
  env.write(`champion: ${status.champion === null ? 'none' : `v${status.champion}`}`);
  if (!snapshot) env.write('online snapshot: none');
  else {
    const now = Date.now();
    env.write(`online snapshot: as of ${snapshot.asOf} (age ${ageText(now - Date.parse(snapshot.asOf))}), written ${snapshot.writtenAt} (${ageText(now - Date.parse(snapshot.writtenAt))} ago), dataset ${snapshot.datasetVersion.slice(0, 12)}`);
    env.write(`  s3://${env.config.buckets.serving}/${snapshot.key}`);
  }
  return EXIT.ok;
}

export function describeRefresh(outcome: RefreshOutcome): string[] {
  const { changes } = outcome;
  return [
    `refreshed ${outcome.model} (champion v${outcome.version}): ${outcome.rowsIngested} rows ingested (dataset ${outcome.datasetVersion.slice(0, 12)}, ${outcome.datasetRows} rows)`,
    `snapshot as of ${outcome.asOf} (${outcome.asOfMode}): ${changes.added + changes.removed + changes.changed} of ${changes.keys} keys changed (${changes.added} added, ${changes.removed} removed, ${changes.changed} changed)`,
    `  ${outcome.snapshotKey}`,
  ];
}

async function featuresRefresh(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'as-of': { type: 'string' }, json: { type: 'boolean' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1) throw new UsageError(HELP['features refresh']);
  const asOf = asOfOption(values['as-of']);
  const outcome = await refreshFeaturesNow(env, { model, ...(asOf ? { asOf } : {}) });
  if (values.json) env.write(JSON.stringify(outcome, null, 2));
  else for (const line of describeRefresh(outcome)) env.write(line);
  return EXIT.ok;
}

export const FEATURES_COMMANDS = subcommands(HELP, {
  'features schedule': featuresSchedule,
  'features status': featuresStatus,
  'features refresh': featuresRefresh,
});
