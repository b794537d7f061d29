import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { openDuckDb } from '../domain/duckdb/duckdb-session.ts';
import { featureDefinitionHash } from '../domain/features/spec-hash.ts';
import { driftMonitorScheduleId, upsertDriftMonitorSchedule } from '../control/monitor-schedule.ts';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { startTrainingPipeline } from '../control/start-training-pipeline.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import { KeyRing, hashApiKey } from '../api/auth/key-ring.ts';
import { OnlineFeatureAssemblers } from '../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../api/features/stored-feature-definitions.ts';
import { startApiServer } from '../api/server.ts';
import { loadSpecFile } from '../cli/load-spec.ts';
import { describeApprovalPaths, describeOutcome, followPipeline } from '../cli/progress-view.ts';
import { loadConfigOrExit } from '../shared/config.ts';
import { featureSpecSchema } from '../shared/data/feature-spec.ts';
import type { OnlineSnapshot } from '../shared/data/online-snapshot.ts';
import { createLogger } from '../shared/logger.ts';
import { durationMs } from '../shared/duration.ts';
import { type DriftMonitorInput, driftReportSchema } from '../shared/monitoring.ts';
import { onlineFeatureKeys } from '../shared/storage-keys.ts';
import { writeSnapshot } from '../domain/features/online-snapshot-loader.ts';
import type { DriftMonitorResult } from '../workflows/drift-monitor.ts';
import { pipelineStatusQuery } from '../workflows/training-pipeline.ts';
import { ensureBinaries } from './infra/binaries.ts';
import { startStack } from './infra/stack.ts';
import { FlightsData } from './replay/flights-data.ts';
import { RETRAINING_SPLITS, SLICES, TRAINING_SPLITS, TRAINING_UNTIL, dayStarts } from './replay/flights-replay-plan.ts';
import { type MonthRow, printTable } from './replay/month-table.ts';
import { ReplayRequestError, replay } from './replay/replay-traffic.ts';
import { scheduledRunAt } from './replay/scheduled-runs.ts';

/**
 * Issue #8 on real data: a flights model trained on 1 Jan – 21 Feb 2001 (less a held-out tenth of
 * the flights) and deployed as champion; the held-out tenth of its training split, then each later
 * month, replayed through the prediction API (with labels through the feedback route), each inside
 * its own monitor window; the `driftMonitor` runs started by the model's Temporal Schedule judge
 * them, and K-of-N decides when a retraining starts. Prints the monitor's verdict per month.
 */

const USAGE = `Usage: npm run replay [-- --events 10000] [-- --window 1m] [-- --drift-share 0.3] [-- --wait-retraining 300] [-- --max-ece 0.08] [-- --max-latency-ms 50]

Brings up the local stack (or reuses the running one), runs a pipeline worker (a child process),
holds a tenth of the flights out of everything, trains and deploys flights-replay-<stamp> on the
rest of Jan 1 – Feb 21 2001, starts the prediction API in this process, creates the drift
monitor's Temporal Schedule (every --window), and replays --events flights per slice through
POST /v1/models/:name/predict and POST /v1/feedback: the held-out tenth of Jan 1 – Feb 3 (the
training split), then March, April, May and June, one monitor window each, each day served with
the online features as of its midnight (a daily materialization). Prints the monitor's verdict per
month and the retraining it started; the last line is JSON.
--drift-share: share of drifted features that makes a window drift (README default 0.3).
--wait-retraining: seconds to wait at the end for the retraining to reach approval (0: do not wait).
--max-ece, --max-latency-ms: two gates of the replay's training runs, relaxed from the example's 0.05
  and 10 ms (the test weeks come later in the season than the training weeks; the machine is shared).`;

/** K-of-N: a retraining starts when 2 of the last 3 judged windows alerted. */
const CONSECUTIVE = { k: 2, n: 3 };

class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

function positive(name: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new ReplayError(`--${name} must be a number in (0, ${max}], got "${text}"`);
  return n;
}

/** The command line, checked before anything starts; a bad option prints what is wrong and the usage. */
function readOptions() {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '10000' },
      window: { type: 'string', default: '1m' },
      'drift-share': { type: 'string', default: '0.3' },
      'wait-retraining': { type: 'string', default: '300' },
      'max-ece': { type: 'string', default: '0.08' },
      'max-latency-ms': { type: 'string', default: '50' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const windowMs = durationMs(values.window);
  if (windowMs < 20_000) throw new ReplayError(`--window must be at least 20s (each slice is replayed and flushed inside one window), got ${values.window}`);
  const waitRetraining = Number(values['wait-retraining']);
  if (!Number.isFinite(waitRetraining) || waitRetraining < 0) throw new ReplayError(`--wait-retraining must be a number of seconds, 0 or more, got "${values['wait-retraining']}"`);
  return {
    eventsPerSlice: Math.trunc(positive('events', values.events, 200_000)),
    windowMs,
    window: values.window,
    driftShare: positive('drift-share', values['drift-share'], 1),
    maxEce: positive('max-ece', values['max-ece'], 1),
    maxLatencyMs: positive('max-latency-ms', values['max-latency-ms']),
    waitRetrainingMs: waitRetraining * 1000,
  };
}

let options: ReturnType<typeof readOptions>;
try {
  options = readOptions();
} catch (err) {
  console.error(`[replay] ${(err as Error).message}\n\n${USAGE}`);
  process.exit(1);
}
const { eventsPerSlice, windowMs, window, driftShare, maxEce, maxLatencyMs, waitRetrainingMs } = options;

const say = (line: string) => console.log(`[replay] ${line}`);
const started = Date.now();
const timings: Record<string, number> = {};
const lap = (name: string, since: number) => (timings[name] = Math.round((Date.now() - since) / 100) / 10);

const stamp = Date.now().toString(36);
const stackConfig = loadConfigOrExit();
// A serving bucket of the run's own: the API follows the newest online snapshot of a feature spec, and
// an earlier replay on the same stack left later ones of this spec in the shared bucket.
const config = { ...stackConfig, buckets: { ...stackConfig.buckets, serving: `${stackConfig.buckets.serving}-replay-${stamp}` } };
const binaries = await ensureBinaries(config, say);
const stack = await startStack(config, { binaries, report: say });
lap('stack', started);
const store = MinioArtifactStore.fromConfig(config.minio);
const connection = await Connection.connect({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
const registry = new ModelRegistry(store, config.buckets.models);
await store.ensureBucket(config.buckets.serving);
const model = `flights-replay-${stamp}`;
const requestedBy = userInfo().username;
const dir = await mkdtemp(join(tmpdir(), 'sluice-replay-'));
say(`model ${model}; serving bucket ${config.buckets.serving}; work files and logs in ${dir}`);

// The pipeline worker runs in its own process, as in production: training must not stall the API's event loop here.
const workerLog = join(dir, 'pipeline-worker.log');
const worker: ChildProcess = spawn(join(import.meta.dirname, '../node_modules/.bin/tsx'), [join(import.meta.dirname, '../workers/pipeline.ts')], {
  env: { ...process.env, SLUICE_BUCKET_SERVING: config.buckets.serving, SLUICE_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
// Whatever ends this process (a crash included) ends the worker it started.
process.once('exit', () => worker.kill('SIGTERM'));
const workerOut = createWriteStream(workerLog);
worker.stdout?.pipe(workerOut);
worker.stderr?.pipe(workerOut);

const duck = await openDuckDb({ tempDirectory: dir });
const data = new FlightsData(duck.db, join(import.meta.dirname, '../node_modules/vega-datasets/data/flights-3m.parquet'), dir);

const base = loadSpecFile(join(import.meta.dirname, '../examples/flights/pipeline.json')) as Record<string, unknown> & { features: Record<string, unknown>; model: Record<string, unknown> };
/**
 * Two of the example's absolute gates are relaxed, and the output says so: calibration (ECE <= 0.05
 * fails at 0.055 on a test split later in the season than the training weeks) and p99 latency
 * (10 ms fails at 11 ms on a shared 2-core machine under load). The replay studies drift; every
 * other gate is the example's.
 */
const relaxed: Record<string, number> = { expectedCalibrationError: maxEce, latencyP99Ms: maxLatencyMs };
const gates = base.gates as { absolute: { metric: string; min?: number; max?: number }[] } & Record<string, unknown>;
const replayGates = { ...gates, absolute: gates.absolute.map((g) => (relaxed[g.metric] === undefined ? g : { ...g, max: relaxed[g.metric] })) };
const uiRunUrl = (workflowId: string) => `${stack.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`;
const specOn = (source: string, splits: unknown, extra: Record<string, unknown> = {}) => ({
  ...base,
  model: { ...base.model, name: model },
  dataset: { name: 'flights', source },
  features: { ...base.features, splits },
  gates: replayGates,
  ...extra,
});

let api: Awaited<ReturnType<typeof startApiServer>> | undefined;
let definitions: StoredFeatureDefinitions | undefined;
let scheduleCreated = false;
let keepDir = false;
try {
  // 1. Train on the early weeks; `rollout: {}` hands the approved version to its deployment workflow, which promotes a first version directly.
  let t = Date.now();
  const trainingPath = await data.writeUntil(TRAINING_UNTIL);
  const run = await startTrainingPipeline({ client, config, store }, { spec: specOn(trainingPath, TRAINING_SPLITS, { rollout: {} }), requestedBy, trigger: { kind: 'replay', by: requestedBy } });
  say(`training ${run.workflowId} on flights before ${TRAINING_UNTIL.slice(0, 10)}`);
  // While it trains: the weeks to replay, the data landed before each, and the online snapshots as of each day of them.
  const prepared = (async () => {
    const samples = [];
    for (const [i, slice] of SLICES.entries()) samples.push(await data.sample(slice, eventsPerSlice, 17 + i));
    const landed = [];
    for (const slice of SLICES) landed.push(slice.heldOut ? trainingPath : await data.writeUntil(slice.until));
    const spec = featureSpecSchema.parse({ ...base.features, splits: TRAINING_SPLITS });
    const lastDay = SLICES.map((slice) => slice.until).sort().at(-1) ?? TRAINING_UNTIL;
    const snapshots = new Map((await data.snapshots(spec, lastDay, SLICES.flatMap(dayStarts))).map((snapshot) => [snapshot.asOf, snapshot]));
    return { samples, landed, specHash: featureDefinitionHash(spec), snapshots };
  })();
  const outcome = await followPipeline(run.handle, { client, taskQueue: config.taskQueues.pipeline, runUrl: uiRunUrl(run.workflowId), write: (line) => say(`  ${line.trim()}`), autoApproveAs: `${requestedBy} (replay)` });
  if (outcome.status !== 'approved') throw new ReplayError(`the first model was not approved: ${describeOutcome(outcome).join('; ')}`);
  const champion = outcome.version;
  const championDeadline = Date.now() + 120_000;
  while ((await registry.index(model)).aliases.champion !== champion) {
    if (Date.now() > championDeadline) throw new ReplayError(`v${champion} was approved but deploy-${model} did not make it champion within 2 minutes`);
    await sleep(500);
  }
  const manifest = await registry.manifest(model, champion);
  lap('train+deploy', t);
  say(`v${champion} is champion: test ROC AUC ${manifest.metrics.rocAuc?.toFixed(4)} (${timings['train+deploy']} s)`);

  t = Date.now();
  const { samples, landed, specHash, snapshots } = await prepared;
  if (specHash !== manifest.featureDefinitionHash) throw new ReplayError(`snapshots were built for feature spec ${specHash}, the model uses ${manifest.featureDefinitionHash}`);
  lap('prepare', t);
  // The replay rewinds the serving clock to its first day: the store holds that day's snapshot, and
  // none materialized later (the training pipeline's own) exists yet.
  const snapshotKeyOf = (snapshot: OnlineSnapshot) => onlineFeatureKeys.snapshot(specHash, snapshot.datasetVersion, snapshot.asOf);
  const firstDay = SLICES.flatMap(dayStarts)[0] ?? TRAINING_UNTIL;
  const firstSnapshot = snapshots.get(firstDay);
  if (!firstSnapshot) throw new ReplayError(`no online snapshot was materialized as of ${firstDay}`);
  let servedSnapshotKey = await writeSnapshot(store, config.buckets.serving, firstSnapshot);
  for (const later of await snapshotsAfter(specHash, firstDay)) {
    await store.remove(config.buckets.serving, later);
    say(`rewound the online store to ${firstDay}: removed ${later}`);
  }

  // 2. The API, in this process, with a key of its own; its log goes to a file, watched for snapshot swaps.
  const apiLines: string[] = [];
  const apiLog = createWriteStream(join(dir, 'api.log'));
  const logger = createLogger('info', { component: 'api' }, (line) => {
    apiLines.push(line);
    apiLog.write(line + '\n');
  });
  const key = randomBytes(24).toString('hex');
  const apiConfig = { ...config, api: { ...config.api, host: '127.0.0.1', port: 0 }, serving: { ...config.serving, pollIntervalMs: 1000, log: { ...config.serving.log, flushIntervalMs: 2000 } } };
  definitions = new StoredFeatureDefinitions(store, config.buckets, 250, logger);
  api = await startApiServer({
    config: apiConfig,
    store,
    logger,
    assemblers: new OnlineFeatureAssemblers(definitions),
    keys: new KeyRing({ keys: [{ id: 'replay', sha256: hashApiKey(key), scopes: ['predict', 'feedback'] }] }, config.api.rateLimit),
  });
  const target = { url: api.url, key, model };
  const servingDeadline = Date.now() + 60_000;
  // One request until the API serves the champion; it lands in a window before the first week, which has too few rows to be judged.
  for (;;) {
    try {
      await replay(target, samples[0]?.slice(0, 1) ?? [], { batch: 1, concurrency: 1, labelsPerRequest: 1 });
      break;
    } catch (err) {
      if (Date.now() > servingDeadline) throw new ReplayError(`the API at ${api.url} did not serve ${model} within a minute: ${(err as Error).message}`);
      await sleep(1000);
    }
  }

  // 3. The monitor's schedule. Its retraining spec points at the data landed so far; it is updated before each week.
  const monitorInput = (landedPath: string): DriftMonitorInput => ({
    model,
    window,
    align: window,
    thresholds: { datasetDriftShare: driftShare },
    consecutive: CONSECUTIVE,
    cooldown: '24h',
    retrainSpec: specOn(landedPath, RETRAINING_SPLITS),
  });
  const scheduleId = driftMonitorScheduleId(model);
  await upsertDriftMonitorSchedule({ client, config }, { input: monitorInput(landed[0] ?? trainingPath), interval: window });
  scheduleCreated = true;
  say(`schedule ${scheduleId}: driftMonitor every ${window}, each run judging the ${window} before it`);

  // 4. One week per window.
  t = Date.now();
  const firstWindow = Math.ceil((Date.now() + 3000) / windowMs) * windowMs;
  // Settled promises: a failure while later months are still replayed is reported at the end, not as an unhandled rejection.
  const judged: Promise<PromiseSettledResult<{ workflowId: string; result: DriftMonitorResult }>>[] = [];
  const replayed: { events: number; seconds: number }[] = [];
  for (const [i, slice] of SLICES.entries()) {
    const opens = firstWindow + i * windowMs;
    await sleep(Math.max(0, opens + 300 - Date.now()));
    const sliceStarted = Date.now();
    await upsertDriftMonitorSchedule({ client, config }, { input: monitorInput(landed[i] ?? trainingPath), interval: window });
    const sent = { requests: 0, scored: 0 };
    // Day by day, each with the snapshot a daily materialization would have written at its midnight.
    for (const day of dayStarts(slice)) {
      const snapshot = snapshots.get(day);
      if (!snapshot) throw new ReplayError(`no online snapshot was materialized as of ${day}`);
      const snapshotKey = snapshotKeyOf(snapshot);
      if (snapshotKey !== servedSnapshotKey) {
        await writeSnapshot(store, config.buckets.serving, snapshot);
        await waitFor(() => apiLines.some((line) => line.includes('online feature snapshot updated') && line.includes(snapshotKey)), 20_000, `the API did not switch to ${snapshotKey}`);
        servedSnapshotKey = snapshotKey;
      }
      const events = (samples[i] ?? []).filter((e) => e.event.date.startsWith(day.slice(0, 10)));
      const daySent = await replay(target, events, { batch: Math.min(500, config.api.maxBatch), concurrency: 2, labelsPerRequest: config.api.maxBatch });
      sent.requests += daySent.requests;
      sent.scored += daySent.scored;
    }
    await api.predictionLog.flush();
    const closes = opens + windowMs;
    if (Date.now() > closes - 1000) throw new ReplayError(`${slice.name} took ${((Date.now() - opens) / 1000).toFixed(1)} s, longer than its ${window} window: lower --events or raise --window`);
    replayed.push({ events: sent.scored, seconds: (Date.now() - sliceStarted) / 1000 });
    say(`${slice.name}: ${sent.scored} flights in ${sent.requests} requests, labels sent, day by day with each midnight's online features; log flushed in ${((Date.now() - sliceStarted) / 1000).toFixed(1)} s; judged by the run at ${new Date(closes).toISOString()}`);
    const run = (async () => {
      const workflowId = await scheduledRunAt(client, scheduleId, closes, windowMs + 60_000);
      return { workflowId, result: await client.workflow.getHandle<(input: unknown) => Promise<DriftMonitorResult>>(workflowId).result() };
    })();
    judged.push(run.then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason })));
  }
  const runs = (await Promise.all(judged)).map((settled) => {
    if (settled.status === 'rejected') throw settled.reason;
    return settled.value;
  });
  lap('replay', t);

  // 5. The table, and the retraining the monitor started.
  const rows: MonthRow[] = [];
  for (const [i, { workflowId, result }] of runs.entries()) {
    const reportKey = result.drift?.reportKey;
    const report = reportKey ? driftReportSchema.parse(JSON.parse((await store.get(config.buckets.reports, reportKey)).toString('utf8'))) : undefined;
    rows.push({ slice: SLICES[i]?.name ?? '', events: replayed[i]?.events ?? 0, workflowId, result, report });
  }
  const retrainings = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = 'trainingPipeline' AND ModelName = '${model}'` })) {
    if (w.workflowId !== run.workflowId) retrainings.push(w.workflowId);
  }
  const retrainingId = retrainings[0];
  let retrainingStage = retrainingId ? 'started' : 'none';
  if (retrainingId && waitRetrainingMs > 0) {
    t = Date.now();
    const handle = client.workflow.getHandle(retrainingId);
    const deadline = Date.now() + waitRetrainingMs;
    for (;;) {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') {
        retrainingStage = description.status.name.toLowerCase();
        break;
      }
      retrainingStage = (await handle.query(pipelineStatusQuery)).stage;
      if (retrainingStage === 'awaiting-approval' || Date.now() > deadline) break;
      await sleep(2000);
    }
    lap('retraining wait', t);
  }
  // The retraining's data file must outlive this script while the run may still read it.
  keepDir = retrainingId !== undefined && !['awaiting-approval', 'completed', 'failed', 'terminated'].includes(retrainingStage);
  const latest = (await registry.index(model)).latestVersion;
  const candidate = retrainingId && latest > champion ? { version: latest } : undefined;
  const candidateAuc = candidate ? (await registry.manifest(model, candidate.version)).metrics.rocAuc : undefined;

  printTable(rows, CONSECUTIVE.n, (line) => console.log(line));
  say(`retraining runs started by the monitor: ${retrainings.length}${retrainingId ? ` (${retrainingId}, now ${retrainingStage}${candidate ? `; candidate v${candidate.version} test ROC AUC ${candidateAuc?.toFixed(4)}` : ''})` : ''}`);
  if (retrainingId && retrainingStage === 'awaiting-approval') for (const line of describeApprovalPaths(retrainingId, uiRunUrl(retrainingId))) say(line);
  lap('total', started);
  say(`timings (s): ${JSON.stringify(timings)}`);
  console.log(
    JSON.stringify({
      model,
      champion,
      championTestRocAuc: manifest.metrics.rocAuc ?? null,
      scheduleId,
      window: window,
      thresholds: { datasetDriftShare: driftShare, consecutive: CONSECUTIVE, cooldown: '24h' },
      relaxedGates: relaxed,
      months: rows.map((r) => ({
        slice: r.slice,
        events: r.events,
        monitorRun: r.workflowId,
        rows: r.result.drift?.rows ?? 0,
        verdict: r.result.drift?.verdict ?? r.result.status,
        driftShare: r.result.drift?.driftShare ?? null,
        drifted: r.result.drift?.drifted ?? [],
        driftReasons: Object.fromEntries((r.report?.features ?? []).filter((f) => f.verdict === 'alert').map((f) => [f.name, f.reasons])),
        scorePsi: r.report?.score ? r.report.score.statistics.psi : null,
        rocAuc: r.result.performance?.rocAuc ?? null,
        labelled: r.result.performance?.labelled ?? 0,
        alerts: r.result.decision?.alerts ?? null,
        retraining: r.result.retraining ?? null,
      })),
      retrainings: retrainings.length,
      retraining: retrainingId ? { workflowId: retrainingId, stage: retrainingStage, candidateVersion: candidate?.version ?? null, candidateTestRocAuc: candidateAuc ?? null } : null,
      seconds: timings,
    }),
  );
} catch (err) {
  console.error(`[replay] failed: ${err instanceof ReplayError || err instanceof ReplayRequestError ? err.message : ((err as Error).stack ?? String(err))}`);
  process.exitCode = 1;
} finally {
  // Each step on its own: a failing one must not leave the schedule firing or the worker running.
  await api?.shutdown().catch((err: unknown) => say(`API shutdown failed: ${(err as Error).message}`));
  definitions?.close();
  if (scheduleCreated) await client.schedule.getHandle(driftMonitorScheduleId(model)).delete().catch((err: unknown) => say(`could not delete the schedule: ${(err as Error).message}`));
  worker.kill('SIGTERM');
  duck[Symbol.dispose]();
  await connection.close();
  if (!keepDir) await rm(dir, { recursive: true, force: true });
  else say(`kept ${dir}: the retraining still reads its data from there`);
}
// The Temporal and DuckDB native handles can outlive their close calls by a while; nothing is left to wait for.
process.exit();

/** Keys of the spec's online snapshots materialized as of an instant after `instant`. */
async function snapshotsAfter(specHash: string, instant: string): Promise<string[]> {
  const keys = (await store.list(config.buckets.serving, onlineFeatureKeys.specPrefix(specHash))).map((o) => o.key);
  return keys.filter((key) => (/\/as-of=([^/]+)\.(json|snap)$/.exec(key)?.[1] ?? '') > instant);
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new ReplayError(`${what} within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}
