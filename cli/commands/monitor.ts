import { parseArgs } from 'node:util';
import type { z } from 'zod';
import type { ScheduleDescription } from '@temporalio/client';
import { MonitorStateStore } from '../../domain/monitoring/monitor-state.ts';
import { describeSchedule, driftMonitorScheduleId, upsertCompactionSchedule, upsertDriftMonitorSchedule, upsertRetentionSchedule } from '../../control/monitor-schedule.ts';
import { checkRetrainingSpec } from '../../domain/retraining/start-retraining.ts';
import { durationSchema } from '../../shared/duration.ts';
import { describeRealized, driftMonitorInputSchema } from '../../shared/monitoring.ts';
import { retrainingScheduleId } from '../../shared/retraining.ts';
import { COMPACTION_CLOSED_AFTER } from '../../shared/prediction-log-compaction.ts';
import { type Env, EXIT, UsageError, positiveInt, subcommands } from '../command.ts';
import { loadSpecFile } from '../load-spec.ts';

const HELP = {
  'monitor schedule': `Usage: sluice monitor schedule <model> --every 1h [--window 1h] [--retrain-spec spec.json] [--k 2 --n 3] [--cooldown 24h] [--label-horizon 7d] [performance limits]

Creates the Temporal Schedule that runs the drift monitor for <model> every --every (or updates it in
place). Each run judges the champion's logged predictions of the last --window against its training
data; a retraining starts when --k of the last --n judged windows alert (or --k of the last --n
windows with feedback labels breach their performance, below), no retraining ran within --cooldown,
and the model is not training already.
Without --retrain-spec the monitor only reports. Updating replaces every setting: give all the options
you want kept again.
  --every DURATION       how often (and the boundary windows end on): 15m, 1h, 1d
  --window DURATION      length of each judged window (default: 1h)
  --retrain-spec FILE    pipeline spec retraining runs with (its dataset source is re-read)
  --k N, --n N           K of the last N judged windows must alert (default: 2 of 3)
  --cooldown DURATION    no second retraining within this long (default: 24h)
  --label-horizon DURATION  how long after a window its feedback labels still count (default: 7d)

Windows with --min-labelled feedback labels (default 200) are judged against the version's own
evaluated test figures, by the model's label kind; K of the last N breaching also start a retraining:
  --max-auc-drop X           binary: ROC AUC drop (default 0.02)
  --min-roc-auc X            binary: also a window whose ROC AUC falls below X
  --max-log-loss-increase X  binary and multiclass: log-loss rise (default 0.05)
  --max-rmse-increase X      regression: RMSE rise as a fraction of the test RMSE (default 0.1)
  --max-mae-increase X       regression: the same for MAE (default 0.1)
  --max-accuracy-drop X      multiclass: accuracy drop (default 0.02)`,
  'monitor status': `Usage: sluice monitor status <model> [--json]

Shows the model's drift monitor and retraining schedules (interval, next and recent runs) and what the
monitor remembers: the last judged windows with their verdicts, the score baseline and the last
retraining it started.
  --json   {model, driftMonitor: {scheduleId, every, paused, nextRunAt, recentRuns, input} | null,
           retraining: {...} | null, state: the monitor's stored state (windows, scoreBaseline, lastRetrain)}`,
  'monitor compaction-schedule': `Usage: sluice monitor compaction-schedule [--every 1h] [--closed-after 5m]

Creates (or updates) the one Temporal Schedule that compacts every model's prediction log: each model
version's small files of a closed hour become one zstd-compressed Parquet file, so monitoring reads a
few files per hour. Readers count every row once before, during and after a compaction.
  --every DURATION          how often (default: 1h)
  --closed-after DURATION   how long after its end an hour counts as closed (default: 5m)`,
  'monitor retention-schedule': `Usage: sluice monitor retention-schedule <model> --predictions 30d --feedback 90d [--every 1h]

Creates (or updates) the model's retention Schedule (prediction-log-retention-<model>): every --every
it compacts the model's closed hours, then deletes every hour of its prediction log (and failed-prediction
log) whose rows are all older than --predictions, and the labels sent for it through its own feedback
route older than --feedback. An expired hour is deleted only once it is compacted.
  --predictions DURATION   how long prediction-log rows are kept (e.g. 30d)
  --feedback DURATION      how long feedback labels are kept (e.g. 90d)
  --every DURATION         how often (default: 1h)`,
} as const;

/** The drift monitor's realized-performance limits, by the flag that sets each. */
const PERFORMANCE_FLAGS = {
  'min-labelled': 'minLabelled',
  'max-auc-drop': 'maxAucDrop',
  'min-roc-auc': 'minRocAuc',
  'max-log-loss-increase': 'maxLogLossIncrease',
  'max-rmse-increase': 'maxRmseIncrease',
  'max-mae-increase': 'maxMaeIncrease',
  'max-accuracy-drop': 'maxAccuracyDrop',
} as const;
type PerformanceInput = z.input<typeof driftMonitorInputSchema>['performance'];

/** The limits given on the command line, checked by the monitor's own schema; undefined when none is. */
function performanceLimits(values: Record<string, unknown>): PerformanceInput | undefined {
  const given = Object.entries(PERFORMANCE_FLAGS).filter(([flag]) => values[flag] !== undefined);
  if (given.length === 0) return undefined;
  const input = Object.fromEntries(given.map(([flag, key]) => [key, Number(values[flag])]));
  const parsed = driftMonitorInputSchema.shape.performance.safeParse(input);
  if (parsed.success) return input;
  const issue = parsed.error.issues[0];
  const flag = given.find(([, key]) => key === issue?.path[0])?.[0] ?? given[0]?.[0];
  throw new UsageError(`--${flag} ${issue?.message.toLowerCase() ?? 'is not valid'}, got '${String(values[flag ?? ''])}'`);
}

function durationOption(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && !durationSchema.safeParse(value).success) throw new UsageError(`--${name} must be a duration like 15m, 1h or 7d, got '${value}'`);
  return value;
}

async function monitorSchedule(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      every: { type: 'string' },
      window: { type: 'string' },
      'retrain-spec': { type: 'string' },
      k: { type: 'string' },
      n: { type: 'string' },
      cooldown: { type: 'string' },
      'label-horizon': { type: 'string' },
      ...Object.fromEntries(Object.keys(PERFORMANCE_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    },
  });
  const [model] = positionals;
  if (!model || positionals.length > 1 || !values.every) throw new UsageError(HELP['monitor schedule']);
  const every = durationOption('every', values.every) ?? '1h';
  const window = durationOption('window', values.window) ?? '1h';
  const cooldown = durationOption('cooldown', values.cooldown) ?? '24h';
  const labelHorizon = durationOption('label-horizon', values['label-horizon']);
  const k = positiveInt('k', values.k, 2);
  const n = positiveInt('n', values.n, 3);
  if (k > n) throw new UsageError(`--k (${k}) cannot exceed --n (${n}): K of the last N windows must alert`);
  const performance = performanceLimits(values);
  const minRocAuc = performance?.minRocAuc;
  const retrainSpec = values['retrain-spec'] === undefined ? undefined : (loadSpecFile(values['retrain-spec']) as Record<string, unknown>);
  if (retrainSpec) checkRetrainingSpec(model, retrainSpec);

  const { scheduleId, created } = await upsertDriftMonitorSchedule(env, {
    interval: every,
    input: {
      model,
      window,
      consecutive: { k, n },
      cooldown,
      ...(performance ? { performance } : {}),
      ...(labelHorizon !== undefined ? { labelHorizon } : {}),
      ...(retrainSpec ? { retrainSpec } : {}),
    },
  });
  env.write(`${created ? 'created' : 'updated'} schedule ${scheduleId}: the drift monitor judges ${model}'s last ${window} every ${every}`);
  env.write(
    retrainSpec
      ? `retrains with ${values['retrain-spec']} when ${k} of the last ${n} windows alert${minRocAuc !== undefined ? ` or ROC AUC < ${minRocAuc}` : ''}, at most once per ${cooldown}`
      : 'reports only: no --retrain-spec, so it never retrains',
  );
  return EXIT.ok;
}

const pct = (x: number) => `${Number((100 * x).toFixed(1))}%`;

/** 3600000 → 1h, 604800000 → 7d: intervals as people wrote them. */
function formatInterval(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

/** A schedule as `--json` reports it: stable field names, times as ISO strings. */
function scheduleJson(description: ScheduleDescription | null) {
  if (!description) return null;
  const every = description.spec.intervals?.[0]?.every;
  return {
    scheduleId: description.scheduleId,
    every: every === undefined ? null : formatInterval(every),
    paused: description.state.paused,
    nextRunAt: description.info.nextActionTimes[0]?.toISOString() ?? null,
    recentRuns: description.info.recentActions.map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
    input: description.action.type === 'startWorkflow' ? ((description.action.args?.[0] as unknown) ?? null) : null,
  };
}

function describeScheduleLines(name: string, description: ScheduleDescription | null, create: string): string[] {
  if (!description) return [`${name}: none (create one with: ${create})`];
  const every = description.spec.intervals?.[0]?.every;
  const lines = [
    `${name}: ${description.scheduleId}, every ${every === undefined ? '?' : formatInterval(every)}${description.state.paused ? ' (PAUSED)' : ''}; next run ${description.info.nextActionTimes[0]?.toISOString() ?? 'none'}`,
  ];
  for (const action of description.info.recentActions.slice(-3)) lines.push(`  ran ${action.takenAt.toISOString()}: ${action.action.workflow.workflowId}`);
  return lines;
}

async function monitorStatus(env: Env, args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1) throw new UsageError(HELP['monitor status']);
  const [drift, retraining] = await Promise.all([describeSchedule(env.client, driftMonitorScheduleId(model)), describeSchedule(env.client, retrainingScheduleId(model))]);
  if (values.json) {
    const state = await new MonitorStateStore(env.store, env.config.buckets).read(model);
    env.write(JSON.stringify({ model, driftMonitor: scheduleJson(drift), retraining: scheduleJson(retraining), state }, null, 2));
    return EXIT.ok;
  }
  for (const line of describeScheduleLines('drift monitor', drift, `sluice monitor schedule ${model} --every 1h`)) env.write(line);
  const monitorInput = driftMonitorInputSchema.safeParse(drift?.action.type === 'startWorkflow' ? drift.action.args?.[0] : undefined);
  if (monitorInput.success) {
    const i = monitorInput.data;
    env.write(
      `  judges the last ${i.window}; ${i.retrainSpec ? `retrains when ${i.consecutive.k} of the last ${i.consecutive.n} windows alert${i.performance.minRocAuc !== undefined ? ` or ROC AUC < ${i.performance.minRocAuc}` : ''}, at most once per ${i.cooldown}` : 'reports only (no retrain spec)'}`,
    );
    env.write(
      `  realized performance: ${i.consecutive.k} of the last ${i.consecutive.n} windows with ${i.performance.minLabelled}+ labels breaching the version's test figures trip it (binary: ROC AUC drop > ${i.performance.maxAucDrop} or log-loss rise > ${i.performance.maxLogLossIncrease}; regression: RMSE or MAE rise > ${pct(i.performance.maxRmseIncrease)} / ${pct(i.performance.maxMaeIncrease)}; multiclass: accuracy drop > ${i.performance.maxAccuracyDrop} or log-loss rise > ${i.performance.maxLogLossIncrease}); labels count for ${i.labelHorizon} after a window`,
    );
  }
  for (const line of describeScheduleLines('retraining', retraining, `sluice retrain schedule ${model} --every 7d`)) env.write(line);

  const state = await new MonitorStateStore(env.store, env.config.buckets).read(model);
  if (state.windows.length === 0) env.write('judged windows: none yet');
  else {
    env.write(`judged windows (last ${Math.min(10, state.windows.length)} of ${state.windows.length}):`);
    for (const w of state.windows.slice(-10)) env.write(`  until ${w.until}  v${w.version}  ${w.verdict.padEnd(5)}  ${describeRealized(w)}`);
  }
  env.write(`score baseline: ${state.scoreBaseline ? `v${state.scoreBaseline.version}` : 'none yet'}`);
  env.write(`last retraining started by the monitor: ${state.lastRetrain ? `${state.lastRetrain.workflowId} at ${state.lastRetrain.at}` : 'none'}`);
  return EXIT.ok;
}

async function compactionSchedule(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { every: { type: 'string' }, 'closed-after': { type: 'string' } } });
  if (positionals.length > 0) throw new UsageError(HELP['monitor compaction-schedule']);
  const every = durationOption('every', values.every) ?? '1h';
  const closedAfter = durationOption('closed-after', values['closed-after']) ?? COMPACTION_CLOSED_AFTER;
  const { scheduleId, created } = await upsertCompactionSchedule(env, { every, closedAfter });
  env.write(`${created ? 'created' : 'updated'} schedule ${scheduleId}: compacts every model's prediction log every ${every} (an hour counts as closed ${closedAfter} after its end)`);
  return EXIT.ok;
}

async function retentionSchedule(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { predictions: { type: 'string' }, feedback: { type: 'string' }, every: { type: 'string' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1 || !values.predictions || !values.feedback) throw new UsageError(HELP['monitor retention-schedule']);
  durationOption('predictions', values.predictions);
  durationOption('feedback', values.feedback);
  const retention = { predictionLog: values.predictions, feedback: values.feedback };
  const every = durationOption('every', values.every) ?? '1h';
  const { scheduleId, created } = await upsertRetentionSchedule(env, { model, retention, every });
  env.write(`${created ? 'created' : 'updated'} schedule ${scheduleId}: every ${every}, keeps ${model}'s prediction log ${retention.predictionLog} and its feedback ${retention.feedback}`);
  return EXIT.ok;
}

export const MONITOR_COMMANDS = subcommands(HELP, {
  'monitor schedule': monitorSchedule,
  'monitor status': monitorStatus,
  'monitor compaction-schedule': compactionSchedule,
  'monitor retention-schedule': retentionSchedule,
});
