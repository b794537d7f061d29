import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { KeyRing, hashApiKey } from '../api/auth/key-ring.ts';
import { OnlineFeatureAssemblers } from '../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../api/features/stored-feature-definitions.ts';
import { startApiServer } from '../api/server.ts';
import { loadSpecFile } from '../cli/load-spec.ts';
import { describeOutcome, followPipeline } from '../cli/progress-view.ts';
import { upsertFeatureRefreshSchedule } from '../control/feature-refresh.ts';
import { driftMonitorScheduleId, upsertDriftMonitorSchedule, upsertRetrainingSchedule } from '../control/monitor-schedule.ts';
import { startTrainingPipeline } from '../control/start-training-pipeline.ts';
import { openDuckDb } from '../domain/duckdb/duckdb-session.ts';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import { loadConfigOrExit } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { monitorStateKey, monitorStateSchema } from '../shared/monitoring.ts';
import { refreshScheduleId } from '../shared/online-refresh.ts';
import { retrainingScheduleId } from '../shared/retraining.ts';
import { approveUpdate } from '../workflows/approval-gate.ts';
import type { DriftMonitorResult } from '../workflows/drift-monitor.ts';
import { pipelineStatusQuery } from '../workflows/training-pipeline.ts';
import { ensureBinaries } from './infra/binaries.ts';
import { startStack } from './infra/stack.ts';
import { FlightsData, PARTITION_GLOB, type ReplayEvent, dayFolder } from './replay/flights-data.ts';
import { type JudgedWindow, type ReplayPeriod, type ServedPrediction, estimateErrors, policyFigures } from './replay/policy-months.ts';
import { estimateTable, fixed, policyTable, verdictTable } from './replay/policy-table.ts';
import { DAY_MS, ReplayClock, alignedStart, labelKnownAt, replayedDays, scaleDuration } from './replay/replay-clock.ts';
import { type ModelSkew, type SentEvent, buildOfflineFeatures, differingByFeature, measureModelSkew, skewByPeriod, skewTable } from './replay/replay-skew.ts';
import { type PendingLabel, ReplayRequestError, predict, sendLabels } from './replay/replay-traffic.ts';
import { featureSpecSchema } from '../shared/data/feature-spec.ts';

/**
 * Issue #15 parts 5-6 on real data, as production runs it. Three models (one per retraining policy)
 * train on the same flights (1 Jan – 21 Feb 2001, daily partitions of one source folder) with the same
 * spec and seed. Then time runs compressed, one replayed day per --day-seconds: at each replayed
 * midnight the previous day's flights land as a new partition of the source; each replayed hour the
 * harness sends that hour's sampled departures to every model's predict route, and each outcome to
 * the feedback route once it is known (departure + delay). Everything else is the product's own:
 * the feature refresh Schedules, the default policy's drift monitor Schedule (which starts
 * retrainings), the monthly policy's retraining Schedule, the training pipeline and the canary of each
 * retrained version. The only other thing the harness does is approve, as a scripted approver, through
 * the pipeline's normal `approve` Update.
 */

const USAGE = `Usage: npm run replay [-- --day-seconds 5] [-- --events-per-day 300] [-- --until 2001-07-01] [-- --window-days 7] [-- --policies never,monthly,default] [-- --max-ece 0.08] [-- --max-latency-ms 50]

Brings up the local stack (or reuses the running one), a pipeline worker (a child process) and the
prediction API (in this process); trains one model per policy on 1 Jan – 21 Feb 2001 and replays
22 Feb until --until (exclusive), one replayed day per --day-seconds of real time.
--events-per-day: departures sampled per replayed day and sent to every policy's model.
--window-days: the default policy's monitor window and interval, in replayed days.
--max-ece, --max-latency-ms: two gates of the replay's training runs, relaxed from the example's 0.05
  and 10 ms (test weeks later in the season than the training weeks; the machine is shared).
The last line is JSON.`;

const POLICIES = ['never', 'monthly', 'default'] as const;
type Policy = (typeof POLICIES)[number];
const FIRST_DAY = '2001-02-22T00:00:00.000Z';
const MONTHS: { name: string; from: string; until: string; scored: boolean }[] = [
  { name: 'Feb 22-28 (in-distribution)', from: FIRST_DAY, until: '2001-03-01T00:00:00.000Z', scored: false },
  { name: 'Mar', from: '2001-03-01T00:00:00.000Z', until: '2001-04-01T00:00:00.000Z', scored: true },
  { name: 'Apr', from: '2001-04-01T00:00:00.000Z', until: '2001-05-01T00:00:00.000Z', scored: true },
  { name: 'May', from: '2001-05-01T00:00:00.000Z', until: '2001-06-01T00:00:00.000Z', scored: true },
  { name: 'Jun', from: '2001-06-01T00:00:00.000Z', until: '2001-07-01T00:00:00.000Z', scored: true },
];
/** The monthly policy retrains every 31 replayed days, its firings put on 1 Mar, 1 Apr, 2 May and 2 Jun. */
const MONTHLY_DAYS = 31;
const MONTHLY_FIRING = Date.parse('2001-04-01T00:00:00.000Z');
/**
 * The same relative splits for the first model and every retraining: the newest 9 days test, the 9
 * before validation, the 34 before those train (the first model: 1 Jan – 3 Feb, 4–12 Feb, 13–21 Feb),
 * so each retraining trains on as much data as the first, the newest.
 */
const SPLITS = [
  { name: 'train', last: '34d' },
  { name: 'validation', last: '9d' },
  { name: 'test', last: '9d' },
];

class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

function positive(name: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new ReplayError(`--${name} must be a number in (0, ${max}], got "${text}"`);
  return n;
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      'day-seconds': { type: 'string', default: '5' },
      'events-per-day': { type: 'string', default: '300' },
      until: { type: 'string', default: '2001-07-01' },
      'window-days': { type: 'string', default: '7' },
      policies: { type: 'string', default: POLICIES.join(',') },
      'max-ece': { type: 'string', default: '0.08' },
      'max-latency-ms': { type: 'string', default: '50' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const until = Date.parse(`${values.until}T00:00:00.000Z`);
  if (!Number.isFinite(until) || until <= Date.parse(FIRST_DAY) + DAY_MS || until > Date.parse('2001-07-01T00:00:00.000Z')) throw new ReplayError(`--until must be a date after 2001-02-23 and at most 2001-07-01, got "${values.until}"`);
  const policies = values.policies.split(',').map((p) => p.trim());
  for (const p of policies) if (!(POLICIES as readonly string[]).includes(p)) throw new ReplayError(`--policies takes ${POLICIES.join(', ')}; got "${p}"`);
  return {
    dayMs: Math.max(1000, Math.round(positive('day-seconds', values['day-seconds'], 600) * 1000)),
    eventsPerDay: Math.trunc(positive('events-per-day', values['events-per-day'], 5000)),
    untilMs: until,
    windowDays: Math.trunc(positive('window-days', values['window-days'], 60)),
    policies: policies as Policy[],
    maxEce: positive('max-ece', values['max-ece'], 1),
    maxLatencyMs: positive('max-latency-ms', values['max-latency-ms']),
  };
}

let options: ReturnType<typeof readOptions>;
try {
  options = readOptions();
} catch (err) {
  console.error(`[replay] ${(err as Error).message}\n\n${USAGE}`);
  process.exit(1);
}
const { dayMs, eventsPerDay, untilMs, windowDays, policies, maxEce, maxLatencyMs } = options;

const say = (line: string) => console.log(`[replay] ${line}`);
const started = Date.now();
const timings: Record<string, number> = {};
const lap = (name: string, since: number) => (timings[name] = Math.round((Date.now() - since) / 100) / 10);
const scaled = (replayedMs: number) => scaleDuration(replayedMs, dayMs);

const stamp = Date.now().toString(36);
const stackConfig = loadConfigOrExit();
// A serving bucket of the run's own: the API follows the newest online snapshot of a feature spec, and
// an earlier replay on the same stack left snapshots of this spec as of later instants there.
const config = { ...stackConfig, buckets: { ...stackConfig.buckets, serving: `${stackConfig.buckets.serving}-replay-${stamp}` } };
const binaries = await ensureBinaries(config, say);
const stack = await startStack(config, { binaries, report: say });
lap('stack', started);
const store = MinioArtifactStore.fromConfig(config.minio);
const connection = await Connection.connect({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
const registry = new ModelRegistry(store, config.buckets.models);
await store.ensureBucket(config.buckets.serving);
const modelOf = (policy: Policy) => `flights-${policy}-${stamp}`;
const models = policies.map(modelOf);
const approver = `${userInfo().username} (replay's scripted approver)`;
const dir = await mkdtemp(join(tmpdir(), 'sluice-replay-'));
say(`models ${models.join(', ')}; serving bucket ${config.buckets.serving}; work files and logs in ${dir}`);

const workerLog = join(dir, 'pipeline-worker.log');
const worker: ChildProcess = spawn(join(import.meta.dirname, '../node_modules/.bin/tsx'), [join(import.meta.dirname, '../workers/pipeline.ts')], {
  env: { ...process.env, SLUICE_BUCKET_SERVING: config.buckets.serving, SLUICE_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
process.once('exit', () => worker.kill('SIGTERM'));
const workerOut = createWriteStream(workerLog);
worker.stdout?.pipe(workerOut);
worker.stderr?.pipe(workerOut);

const duck = await openDuckDb({ tempDirectory: dir });
const data = new FlightsData(duck.db, join(import.meta.dirname, '../node_modules/vega-datasets/data/flights-3m.parquet'), join(dir, 'staging'), join(dir, 'source'));

const base = loadSpecFile(join(import.meta.dirname, '../examples/flights/pipeline.json')) as Record<string, unknown> & { features: Record<string, unknown>; model: Record<string, unknown> };
const relaxed: Record<string, number> = { expectedCalibrationError: maxEce, latencyP99Ms: maxLatencyMs };
const gates = base.gates as { absolute: { metric: string; min?: number; max?: number }[] } & Record<string, unknown>;
const replayGates = { ...gates, absolute: gates.absolute.map((g) => (relaxed[g.metric] === undefined ? g : { ...g, max: relaxed[g.metric] })) };
/**
 * A retrained version's canary: half the traffic for two replayed days, then promotion; judged with
 * the canary's default limits on at least 100 canary predictions (50 labelled). The example's plan
 * (5 → 25 → 50 %, 30 min to an hour each) is sized for production traffic, not for a few hundred
 * sampled flights a replayed day.
 */
const rollout = {
  steps: [{ percent: 50, bake: scaled(2 * DAY_MS) }, { percent: 100, bake: '0 seconds' }],
  health: { minSamples: 100, minLabels: 50 },
  maxExtensions: 2,
  onInsufficientData: 'rollback',
};
const specOf = (model: string) => ({
  ...base,
  model: { ...base.model, name: model },
  dataset: { name: 'flights', source: data.source, partitions: PARTITION_GLOB },
  features: { ...base.features, splits: SPLITS },
  gates: replayGates,
  rollout,
});

let api: Awaited<ReturnType<typeof startApiServer>> | undefined;
let definitions: StoredFeatureDefinitions | undefined;
const schedules: string[] = [];
let stopApprover = false;
try {
  let t = Date.now();
  await data.stage();
  const days = replayedDays(FIRST_DAY, new Date(untilMs).toISOString());
  for (const day of replayedDays('2001-01-01T00:00:00.000Z', FIRST_DAY)) await data.land(day);
  const sample = data.sample(FIRST_DAY, new Date(untilMs).toISOString(), eventsPerDay, 17);
  lap('partitions', t);
  say(`${await data.landedDays()} daily partitions of 1 Jan – 21 Feb landed in ${data.source} (${PARTITION_GLOB}); the rest wait to land day by day`);

  // 1. The starting model, once per policy: the first run builds the features, the others find them built; same data, spec and seed give the same model.
  t = Date.now();
  const champions = new Map<Policy, { version: number; rocAuc: number | null; logLoss: number | null }>();
  const train = async (policy: Policy) => {
    const model = modelOf(policy);
    const run = await startTrainingPipeline({ client, config, store }, { spec: specOf(model), requestedBy: approver, trigger: { kind: 'replay', policy } });
    const outcome = await followPipeline(run.handle, { client, taskQueue: config.taskQueues.pipeline, runUrl: `${stack.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(run.workflowId)}`, write: (line) => say(`  ${model}: ${line.trim()}`), autoApproveAs: approver });
    if (outcome.status !== 'approved') throw new ReplayError(`${model} was not approved: ${describeOutcome(outcome).join('; ')}`);
    const deadline = Date.now() + 120_000;
    while ((await registry.index(model)).aliases.champion !== outcome.version) {
      if (Date.now() > deadline) throw new ReplayError(`${model} v${outcome.version} was approved but not made champion within 2 minutes`);
      await sleep(500);
    }
    const manifest = await registry.manifest(model, outcome.version);
    champions.set(policy, { version: outcome.version, rocAuc: manifest.metrics.rocAuc ?? null, logLoss: manifest.metrics.logLoss ?? null });
  };
  const [first, ...rest] = policies;
  if (first) await train(first);
  await Promise.all(rest.map(train));
  lap('train+deploy', t);
  for (const p of policies) say(`${modelOf(p)} v${champions.get(p)?.version} is champion: test ROC AUC ${fixed(champions.get(p)?.rocAuc, 4)}, log loss ${fixed(champions.get(p)?.logLoss, 4)}`);

  // 2. The API, in this process, with a key of its own.
  const apiLog = createWriteStream(join(dir, 'api.log'));
  const logger = createLogger('info', { component: 'api' }, (line) => apiLog.write(line + '\n'));
  const key = randomBytes(24).toString('hex');
  const apiConfig = { ...config, api: { ...config.api, host: '127.0.0.1', port: 0 }, serving: { ...config.serving, pollIntervalMs: Math.min(1000, dayMs / 4), log: { ...config.serving.log, flushIntervalMs: 1000 } } };
  definitions = new StoredFeatureDefinitions(store, config.buckets, 250, logger);
  api = await startApiServer({
    config: apiConfig,
    store,
    logger,
    assemblers: new OnlineFeatureAssemblers(definitions),
    keys: new KeyRing({ keys: [{ id: 'replay', sha256: hashApiKey(key), scopes: ['predict', 'feedback'] }] }, config.api.rateLimit),
  });
  const target = { url: api.url, key };
  const events = await sample;
  const probe = events.slice(0, 1);
  const servingDeadline = Date.now() + 60_000;
  for (const model of models) {
    for (;;) {
      try {
        await predict(target, model, probe);
        break;
      } catch (err) {
        if (Date.now() > servingDeadline) throw new ReplayError(`the API at ${api.url} did not serve ${model} within a minute: ${(err as Error).message}`);
        await sleep(500);
      }
    }
  }

  // 3. Real time for replayed time: replayed midnights on multiples of a day (the refresh Schedules' firings) and the monthly firings on 1 Mar, 1 Apr, 2 May, 2 Jun.
  const monthlyEveryMs = MONTHLY_DAYS * dayMs;
  const windowMs = windowDays * dayMs;
  const startMs = alignedStart(Date.now() + 10_000, monthlyEveryMs, -((MONTHLY_FIRING - Date.parse(FIRST_DAY)) / DAY_MS) * dayMs);
  const clock = new ReplayClock({ firstDay: FIRST_DAY, startMs, dayMs });
  const every = scaled(DAY_MS);
  for (const model of models) {
    await upsertFeatureRefreshSchedule({ client, config }, { model, every });
    schedules.push(refreshScheduleId(model));
  }
  if (policies.includes('monthly')) {
    await upsertRetrainingSchedule({ client, config }, { model: modelOf('monthly'), every: scaled(MONTHLY_DAYS * DAY_MS), spec: specOf(modelOf('monthly')) });
    schedules.push(retrainingScheduleId(modelOf('monthly')));
  }
  const monitorInput = {
    model: modelOf('default'),
    window: scaled(windowDays * DAY_MS),
    align: scaled(windowDays * DAY_MS),
    labelHorizon: scaled(7 * DAY_MS),
    cooldown: scaled(DAY_MS),
    retrainSpec: specOf(modelOf('default')),
  };
  if (policies.includes('default')) {
    await upsertDriftMonitorSchedule({ client, config }, { input: monitorInput, interval: monitorInput.window });
    schedules.push(driftMonitorScheduleId(modelOf('default')));
  }
  say(`time compressed: one replayed day = ${dayMs / 1000} s, replayed ${FIRST_DAY.slice(0, 10)} 00:00 starts at ${new Date(startMs).toISOString()} (in ${((startMs - Date.now()) / 1000).toFixed(0)} s)`);
  say(`durations scaled by the same factor: feature refresh every ${every} (1 replayed day, as of the data's end); canary 50 % for ${scaled(2 * DAY_MS)} (2 days) then 100 %`);
  if (policies.includes('monthly')) say(`monthly policy: Schedule ${retrainingScheduleId(modelOf('monthly'))} every ${scaled(MONTHLY_DAYS * DAY_MS)} (${MONTHLY_DAYS} replayed days)`);
  if (policies.includes('default')) say(`default policy: Schedule ${driftMonitorScheduleId(modelOf('default'))}, the README's default thresholds and K-of-N 2 of 3, window ${windowDays} replayed days (${monitorInput.window}), label horizon 7 days (${monitorInput.labelHorizon}), cooldown 24 h (${monitorInput.cooldown})`);
  say(`approvals: a scripted approver (${approver}) approves every run that awaits approval, through the pipeline's approve Update`);

  // The scripted approver: every run of these models that awaits approval gets one approve Update.
  const approved = new Set<string>();
  const approverLoop = (async () => {
    const query = `WorkflowType = 'trainingPipeline' AND ExecutionStatus = 'Running' AND (${models.map((m) => `ModelName = '${m}'`).join(' OR ')})`;
    while (!stopApprover) {
      try {
        for await (const w of client.workflow.list({ query })) {
          if (approved.has(w.workflowId)) continue;
          const handle = client.workflow.getHandle(w.workflowId);
          if ((await handle.query(pipelineStatusQuery)).stage !== 'awaiting-approval') continue;
          await handle.executeUpdate(approveUpdate, { args: [{ by: approver, comment: 'approved by the replay\'s scripted approver' }] });
          approved.add(w.workflowId);
          say(`  approved ${w.workflowId} at replayed ${new Date(clock.replayedAt(Date.now())).toISOString().slice(0, 16)}`);
        }
      } catch (err) {
        say(`  approver: ${(err as Error).message} (retrying)`);
      }
      await sleep(1000);
    }
  })();

  // 4. Day by day, hour by hour.
  t = Date.now();
  const served: ServedPrediction[] = [];
  const sent = new Map<Policy, SentEvent[]>(policies.map((p) => [p, []]));
  const pending: PendingLabel[] = [];
  const landEarlyMs = Math.min(300, dayMs / 20);
  let late = 0;
  const byHour = new Map<number, ReplayEvent[]>();
  for (const e of events) {
    const hour = Math.floor(e.departureMs / 3_600_000) * 3_600_000;
    byHour.set(hour, [...(byHour.get(hour) ?? []), e]);
  }
  for (const [i, day] of days.entries()) {
    // The day before lands just before replayed midnight, so the refresh firing at midnight lists it.
    if (i > 0) {
      await sleep(Math.max(0, clock.realAt(day) - landEarlyMs - Date.now()));
      await data.land(day - DAY_MS);
    }
    for (let h = 0; h < 24; h++) {
      const hourMs = day + h * 3_600_000;
      const wait = clock.realAt(hourMs) - Date.now();
      if (wait < -dayMs / 24) late++;
      await sleep(Math.max(0, wait));
      const due = pending.filter((l) => l.knownAtMs <= hourMs);
      if (due.length > 0) {
        pending.splice(0, pending.length, ...pending.filter((l) => l.knownAtMs > hourMs));
        await sendLabels(target, due, config.api.maxBatch);
      }
      const chunk = byHour.get(hourMs) ?? [];
      if (chunk.length === 0) continue;
      await Promise.all(
        policies.map(async (policy) => {
          const answer = await predict(target, modelOf(policy), chunk);
          chunk.forEach((e, eventIndex) => {
            const p = answer.predictions[eventIndex];
            if (!p) return;
            served.push({ policy, departureMs: e.departureMs, score: p.score, version: p.modelVersion, delayed: e.delayed });
            sent.get(policy)?.push({ requestId: answer.requestId, eventIndex, departureMs: e.departureMs, event: e.event });
            pending.push({ requestId: answer.requestId, eventIndex, label: e.delayed, knownAtMs: labelKnownAt(e.departureMs, e.delayMinutes) });
          });
        }),
      );
    }
    if (new Date(day).getUTCDate() === 1 || i === 0) say(`replayed ${new Date(day).toISOString().slice(0, 10)} at ${new Date().toISOString()}`);
  }
  await sleep(Math.max(0, clock.realAt(untilMs) - Date.now()));
  await sendLabels(target, pending, config.api.maxBatch);
  await api.predictionLog.flush();
  lap('replay', t);
  if (late > 0) say(`${late} replayed hours were sent more than an hour late (the machine was busy)`);

  // 5. The last window's labels mature (one more monitor pass after the horizon), then the figures.
  t = Date.now();
  if (policies.includes('default')) await sleep(Math.max(0, clock.realAt(untilMs) + 7 * dayMs + windowMs + 5000 - Date.now()));
  stopApprover = true;
  await approverLoop;
  for (const id of schedules) await client.schedule.getHandle(id).pause('replay finished').catch(() => undefined);

  const periods: ReplayPeriod[] = MONTHS.filter((m) => Date.parse(m.from) < untilMs).map((m) => ({ name: m.name, from: Date.parse(m.from), until: Math.min(untilMs, Date.parse(m.until)), scored: m.scored }));
  const retrainingsOf = async (policy: Policy) => {
    const starts: { workflowId: string; replayedMs: number }[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowType = 'trainingPipeline' AND ModelName = '${modelOf(policy)}'` })) {
      if (w.startTime.getTime() >= startMs) starts.push({ workflowId: w.workflowId, replayedMs: clock.replayedAt(w.startTime.getTime()) });
    }
    return starts.sort((a, b) => a.replayedMs - b.replayedMs);
  };
  const figures = [];
  const retrainings: Record<string, { workflowId: string; replayed: string }[]> = {};
  for (const policy of policies) {
    const starts = await retrainingsOf(policy);
    retrainings[policy] = starts.map((s) => ({ workflowId: s.workflowId, replayed: new Date(s.replayedMs).toISOString() }));
    figures.push(policyFigures(policy, periods, served, starts.map((s) => s.replayedMs)));
  }

  let judged: JudgedWindow[] = [];
  if (policies.includes('default')) judged = await judgedWindows(modelOf('default'), clock);
  const errors = estimateErrors(periods, judged);
  lap('figures', t);

  // 6. Skew: the logged (served) features against the offline point-in-time ones over the daily
  // partitions, the landed ones and the last day's, which would land at the end; two weeks of history
  // before the first replayed day fill the 7-day windows and the late labels they count.
  t = Date.now();
  const featureSpec = featureSpecSchema.parse(specOf(models[0] ?? '').features);
  const offlineEvents = await buildOfflineFeatures(duck.db, featureSpec, [join(data.source, PARTITION_GLOB), join(data.staging, dayFolder(untilMs - DAY_MS), '*.parquet')], Date.parse(FIRST_DAY) - 14 * DAY_MS);
  const skew: Record<string, Omit<ModelSkew, 'observations' | 'features'> & { periods: ReturnType<typeof skewByPeriod>; differingByFeature: Record<string, number> }> = {};
  for (const policy of policies) {
    const measured = await measureModelSkew(
      { db: duck.db, store, predictionsBucket: config.buckets.predictions, registry, dir },
      { model: modelOf(policy), spec: featureSpec, sent: sent.get(policy) ?? [], fromRealMs: startMs - 3_600_000, untilRealMs: Date.now() + 3_600_000 },
    );
    skew[policy] = { logged: measured.logged, unmatched: measured.unmatched, ambiguous: measured.ambiguous, periods: skewByPeriod(periods, measured.observations), differingByFeature: differingByFeature(measured.features, measured.observations) };
  }
  lap('skew', t);

  console.log('');
  for (const line of policyTable(figures)) console.log(line);
  console.log('');
  if (policies.includes('default')) {
    say(`default policy: the monitor's windows (realized AUC as the monitor last judged it, final after the ${monitorInput.labelHorizon} horizon; CBPE at the pass that closed the window)`);
    for (const line of verdictTable(judged)) console.log(line);
    console.log('');
    say('CBPE estimate against the realized ROC AUC, per month of window ends');
    for (const line of estimateTable(errors)) console.log(line);
    console.log('');
  }
  say(`online/offline skew per month: each served prediction's logged features against the offline point-in-time features at its departure (${offlineEvents} offline events built), its logged score against the serving version's score of those; features refreshed every replayed day (${every} real)`);
  for (const line of skewTable(policies.map((p) => ({ policy: p, periods: skew[p]?.periods ?? [] })))) console.log(line);
  for (const p of policies) {
    const byFeature = Object.entries(skew[p]?.differingByFeature ?? {}).filter(([, share]) => share > 0);
    say(`  ${p}: ${skew[p]?.logged ?? 0} logged predictions of the replay, ${skew[p]?.unmatched ?? 0} without an offline row, ${skew[p]?.ambiguous ?? 0} ambiguous (left out); differing by feature: ${byFeature.map(([name, share]) => `${name} ${(100 * share).toFixed(1)} %`).join(', ') || 'none'}`);
  }
  console.log('');
  for (const policy of policies) say(`${policy}: retrainings started at replayed ${retrainings[policy]?.map((r) => r.replayed.slice(0, 16)).join(', ') || 'none'}`);
  lap('total', started);
  say(`timings (s): ${JSON.stringify(timings)}`);
  console.log(
    JSON.stringify({
      models: Object.fromEntries(policies.map((p) => [p, modelOf(p)])),
      startingModel: Object.fromEntries(policies.map((p) => [p, champions.get(p) ?? null])),
      dayMs,
      eventsPerDay,
      replayed: { from: FIRST_DAY, until: new Date(untilMs).toISOString() },
      monitor: policies.includes('default') ? monitorInput : null,
      relaxedGates: relaxed,
      policies: figures,
      retrainings,
      defaultPolicyWindows: judged.map((w) => ({ ...w, from: new Date(w.fromMs).toISOString(), until: new Date(w.untilMs).toISOString() })),
      cbpeError: errors,
      skew: { refreshEvery: { replayedDays: 1, real: every }, offlineEvents, policies: skew },
      lateHours: late,
      seconds: timings,
    }),
  );
} catch (err) {
  console.error(`[replay] failed: ${err instanceof ReplayError || err instanceof ReplayRequestError ? err.message : ((err as Error).stack ?? String(err))}`);
  process.exitCode = 1;
} finally {
  stopApprover = true;
  await api?.shutdown().catch((err: unknown) => say(`API shutdown failed: ${(err as Error).message}`));
  definitions?.close();
  // Each on its own: a failing delete must not leave the others firing.
  const scheduleIds = [...new Set([...schedules, ...models.map(refreshScheduleId)])];
  for (const id of scheduleIds) await client.schedule.getHandle(id).delete().catch(() => undefined);
  // Runs the schedules started that are still going would wait for a worker that is about to stop.
  try {
    for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
      if (scheduleIds.some((id) => w.workflowId.startsWith(`${id}-run`))) await client.workflow.getHandle(w.workflowId, w.runId).terminate('replay finished');
    }
  } catch (err) {
    say(`could not end the schedules' running runs: ${(err as Error).message}`);
  }
  worker.kill('SIGTERM');
  duck[Symbol.dispose]();
  await connection.close();
  await rm(dir, { recursive: true, force: true });
}
process.exit();

/**
 * The default policy's judged windows, from its monitor runs (drift, CBPE estimate, what was started)
 * and its stored state (the realized figures as last re-judged), in replayed time.
 */
async function judgedWindows(model: string, clock: ReplayClock): Promise<JudgedWindow[]> {
  const state = monitorStateSchema.parse(JSON.parse((await store.get(config.buckets.reports, monitorStateKey(model))).toString('utf8')));
  const runs: DriftMonitorResult[] = [];
  // A scheduled run's id is the action's id with the firing instant appended.
  for await (const w of client.workflow.list({ query: `WorkflowType = 'driftMonitor'` })) {
    if (w.status.name !== 'COMPLETED' || !w.workflowId.startsWith(`${driftMonitorScheduleId(model)}-run`)) continue;
    runs.push((await client.workflow.getHandle(w.workflowId, w.runId).result()) as DriftMonitorResult);
  }
  const windows: JudgedWindow[] = [];
  for (const run of runs) {
    if (run.status !== 'judged' && run.status !== 'not-judged') continue;
    const recorded = state.windows.find((w) => w.until === run.window.until && w.version === run.version);
    const retraining = run.retraining ? ('refused' in run.retraining ? `refused: ${run.retraining.refused}` : `${run.retraining.started ? 'STARTED' : 'attached'} ${run.retraining.workflowId}`) : null;
    windows.push({
      fromMs: clock.replayedAt(Date.parse(run.window.from)),
      untilMs: clock.replayedAt(Date.parse(run.window.until)),
      version: run.version ?? 0,
      drift: run.drift ? (run.drift.judged ? `${run.drift.verdict} (share ${run.drift.driftShare.toFixed(2)})` : `not judged (${run.drift.rows} rows)`) : '-',
      driftReasons: (run.drift?.top ?? []).filter((f) => f.verdict !== 'ok').map((f) => `${f.name} ${f.verdict} PSI ${f.psi.toFixed(3)}`),
      performance: recorded?.performance ? `${recorded.performance}${recorded.labelsFinal ? '' : ' (maturing)'} ${recorded.labelled ?? 0}/${recorded.served ?? 0} labelled` : run.status,
      performanceReasons: recorded?.performanceReasons ?? [],
      realizedRocAuc: recorded?.rocAuc ?? run.performance?.rocAuc ?? null,
      estimatedRocAuc: run.estimate?.rocAuc ?? null,
      retraining: retraining ?? (run.decision ? `no (${run.decision.alerts})` : null),
    });
  }
  return windows.sort((a, b) => a.untilMs - b.untilMs);
}
