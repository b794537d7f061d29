import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { LogBatchBuilder } from '../api/prediction-log/log-batch.ts';
import { predictionLogFile } from '../api/prediction-log/log-file.ts';
import { createMonitoringActivities } from '../activities/monitoring/monitoring-activities.ts';
import { computeReferenceStats } from '../domain/features/reference-stats.ts';
import { openDuckDb } from '../domain/duckdb/duckdb-session.ts';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import { hourPartition, predictionLogKeys, versionTag } from '../shared/api/prediction-log.ts';
import { startStack, stopStack } from '../scripts/infra/stack.ts';
import { benchStackConfig } from './bench-stack.ts';

/**
 * A drift pass (the `computeDrift` activity: list, stage, count, report) over a 1-hour window of a
 * model with 1 day of logs behind it and of one with 90 days behind it, the window's files the same
 * for both; the older hours hold one small real object each in MinIO (2,160 hour partitions for 90
 * days). Starts its own MinIO and Temporal dev server on free ports. Goal: 90-day time ≤ 1.2 × 1-day.
 */

const HOUR_MS = 3_600_000;
const FEATURES = { numeric: ['x0', 'x1', 'x2'], categorical: ['c0', 'c1'] };
const WINDOW_FILES = 12;
const WINDOW_REQUESTS_PER_FILE = 1000;
const RUNS = 9;
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const report = (line: string) => console.error(`[stack] ${line}`);

/** One API log file of `requests` single-event requests spread over the hour starting at `startMs`. */
function logFile(model: string, startMs: number, requests: number, seed: number): Buffer {
  let s = seed;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const builder = new LogBatchBuilder({ model, version: 1, hour: hourPartition(startMs), threshold: 0.5, featureNames: FEATURES }, startMs);
  for (let r = 0; r < requests; r++) {
    builder.add({
      requestId: `${model}-${seed}-${r}`,
      routingKey: undefined,
      at: startMs + Math.floor((r / requests) * (HOUR_MS - 1000)),
      route: 'primary',
      latencyMs: 1,
      features: { rows: 1, numeric: Float32Array.from(FEATURES.numeric, () => next() * 100), categorical: FEATURES.categorical.map(() => `k${Math.floor(next() * 8)}`) },
      scores: Float32Array.of(next()),
    });
  }
  return Buffer.concat(predictionLogFile(builder.seal()));
}

export interface DriftLogAgeResult {
  windowRows: number;
  days: Record<'1' | '90', { objects: number; driftSeconds: number; runs: number[]; wholePrefixListSeconds: number }>;
  ratio: number;
  goal: number;
  withinGoal: boolean;
}

export async function benchDriftOverLogAge(): Promise<DriftLogAgeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-log-age-'));
  const { config, binaries } = await benchStackConfig(dir, report);
  try {
    await startStack(config, { binaries, report, stopWhenPidExits: process.pid });
    const store = MinioArtifactStore.fromConfig(config.minio);
    const bucket = config.buckets.predictions;
    const registry = new ModelRegistry(store, config.buckets.models);

    const referencePath = join(dir, 'reference.parquet');
    let referenceKey = '';
    {
      using duck = await openDuckDb({ tempDirectory: dir });
      await duck.db.run(`COPY (SELECT random() * 100 AS x0, random() * 100 AS x1, random() * 100 AS x2, 'k' || (i % 8) AS c0, 'k' || (i % 5) AS c1, i % 3 = 0 AS label FROM range(50000) t(i)) TO '${referencePath}' (FORMAT parquet)`);
      const stats = await computeReferenceStats(duck.db, referencePath, { features: [...FEATURES.numeric.map((name) => ({ name, kind: 'numeric' as const })), ...FEATURES.categorical.map((name) => ({ name, kind: 'categorical' as const }))], label: 'label' }, { bins: 10, topCategories: 20 });
      referenceKey = 'bench/log-age/reference-stats.json';
      await store.put(config.buckets.features, referenceKey, JSON.stringify({ kind: 'sluice.reference-stats', featureSpecHash: 'a'.repeat(64), datasetVersion: 'b'.repeat(64), split: 'train', ...stats }));
    }

    const windowStart = (Math.floor(Date.now() / HOUR_MS) - 1) * HOUR_MS;
    const window = { from: new Date(windowStart).toISOString(), until: new Date(windowStart + HOUR_MS).toISOString() };
    const windowFiles = Array.from({ length: WINDOW_FILES }, (_, i) => i);
    const tiny = join(dir, 'tiny.parquet');
    const monitoring = createMonitoringActivities({ store, buckets: config.buckets });
    const env = new MockActivityEnvironment();
    type Drift = Awaited<ReturnType<typeof monitoring.computeDrift>>;
    const drift = (model: string) => env.run<[unknown], Drift, (i: unknown) => Promise<Drift>>((i) => monitoring.computeDrift(i), { model, version: 1, ...window });

    const models = { '1': 'log-age-1d', '90': 'log-age-90d' } as const;
    const objects: Record<string, number> = {};
    for (const [days, model] of Object.entries(models)) {
      await registry.register({
        manifest: { name: model, datasetVersion: 'b'.repeat(64), featureDefinitionHash: 'a'.repeat(64), codeVersion: 'bench', trainer: { kind: 'gbdt', hyperparameters: {} }, seed: 1, metrics: {}, threshold: 0.5, featureNames: FEATURES, reports: { referenceStats: referenceKey }, origin: { workflowId: 'bench' } },
        onnx: Buffer.from('not used by the drift pass'),
        registrationKey: 'bench',
        by: 'bench',
      });
      const t0 = performance.now();
      for (const i of windowFiles) {
        const path = join(dir, `window-${i}.parquet`);
        writeFileSync(path, logFile(model, windowStart, WINDOW_REQUESTS_PER_FILE, i + 1));
        await store.putFile(bucket, predictionLogKeys.file(model, hourPartition(windowStart), `${versionTag(1)}-${windowStart + i}-${String(i).padStart(12, '0')}`), path);
      }
      const olderHours = Number(days) * 24;
      for (let h = 1; h <= olderHours; h++) {
        const start = windowStart - h * HOUR_MS;
        writeFileSync(tiny, logFile(model, start, 1, h));
        await store.putFile(bucket, predictionLogKeys.file(model, hourPartition(start), `${versionTag(1)}-${start}-${String(h).padStart(12, '0')}`), tiny);
      }
      objects[days] = WINDOW_FILES + olderHours;
      console.log(`${model}: ${objects[days]} log objects in MinIO (${WINDOW_FILES} in the window, one per older hour for ${days} day${days === '1' ? '' : 's'}) written in ${seconds(t0).toFixed(1)} s`);
    }

    // Warm-up (DuckDB, connections), then alternate so drift in the machine's load hits both alike.
    await drift(models['1']);
    await drift(models['90']);
    const runs: Record<'1' | '90', number[]> = { '1': [], '90': [] };
    let windowRows = 0;
    for (let run = 0; run < RUNS; run++) {
      for (const days of ['1', '90'] as const) {
        const t0 = performance.now();
        const summary = await drift(models[days]);
        runs[days].push(seconds(t0));
        windowRows = summary.rows;
        if (summary.rows !== WINDOW_FILES * WINDOW_REQUESTS_PER_FILE) throw new Error(`the ${days}-day model's window counted ${summary.rows} rows, expected ${WINDOW_FILES * WINDOW_REQUESTS_PER_FILE}`);
      }
    }
    const listing: Record<string, number> = {};
    for (const [days, model] of Object.entries(models)) {
      const t0 = performance.now();
      await store.list(bucket, predictionLogKeys.prefix(model));
      listing[days] = seconds(t0);
    }
    const best = (xs: number[]) => Math.min(...xs);
    const result: DriftLogAgeResult = {
      windowRows,
      days: {
        '1': { objects: objects['1'] ?? 0, driftSeconds: best(runs['1']), runs: runs['1'], wholePrefixListSeconds: listing['1'] ?? 0 },
        '90': { objects: objects['90'] ?? 0, driftSeconds: best(runs['90']), runs: runs['90'], wholePrefixListSeconds: listing['90'] ?? 0 },
      },
      ratio: best(runs['90']) / best(runs['1']),
      goal: 1.2,
      withinGoal: best(runs['90']) / best(runs['1']) <= 1.2,
    };
    for (const days of ['1', '90'] as const) {
      const d = result.days[days];
      console.log(
        `drift pass over a 1-hour window (${windowRows} rows) with ${days} day${days === '1' ? '' : 's'} of logs behind it: best ${d.driftSeconds.toFixed(3)} s of ${d.runs.map((r) => r.toFixed(3)).join(', ')}; listing the whole model prefix (what the pass did before) takes ${d.wholePrefixListSeconds.toFixed(3)} s for ${d.objects} objects`,
      );
    }
    console.log(`90 days / 1 day: ${result.ratio.toFixed(3)} (goal ≤ ${result.goal})`);
    return result;
  } finally {
    await stopStack(config.dataDir, report);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await benchDriftOverLogAge();
  if (!result.withinGoal) process.exitCode = 1;
  console.log(JSON.stringify({ bench: 'drift-log-age', ...result }));
}
