import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startTrainingPipeline } from '../../../control/start-training-pipeline.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import type { Config } from '../../../shared/config.ts';
import { pipelineStatusQuery } from '../../../workflows/training-pipeline.ts';
import { FLIGHTS_PARQUET, type FixtureDir, bucketSettings, fixtureDir, isolatedBuckets, sqlPath } from '../data/fixtures.ts';
import { stackConfig, stackForSuite, testIds } from '../../support/stack.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One Prometheus sample's value, by metric name and labels it must carry. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/**
 * The pipeline worker as operators run it (`npm run worker`, workers/pipeline.ts, in its own process)
 * on the real stack: its stderr is JSON lines only, Temporal core's own log lines included, and its
 * Prometheus endpoint serves the Temporal SDK's metrics beside sluice's activity durations and
 * training speed after a small training run.
 */
describe('a pipeline worker process exports metrics and logs JSON', () => {
  const base = stackConfig();
  const stack = stackForSuite(base);
  let fixtures: FixtureDir;
  let config: Config;
  let source: string;
  let worker: ChildProcess | undefined;

  before(async () => {
    fixtures = fixtureDir();
    source = fixtures.path('flights-sample.parquet');
    await fixtures.sql(`COPY (SELECT * FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) USING SAMPLE 5 PERCENT (bernoulli, 5)) TO ${sqlPath(source)} (FORMAT parquet)`);
    config = { ...base, buckets: await isolatedBuckets(stack.store, 'telemetry'), taskQueues: { ...base.taskQueues, pipeline: testIds('worker-telemetry').taskQueue } };
  });
  after(() => {
    if (worker?.pid) process.kill(-worker.pid, 'SIGKILL');
    fixtures[Symbol.dispose]();
  });

  test('metrics on its port, every log line JSON', async () => {
    const metricsAddress = `127.0.0.1:${await freePort()}`;
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    worker = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'workers', 'pipeline.ts')], {
      cwd: ROOT,
      env: {
        ...env,
        SLUICE_LOG_LEVEL: 'debug',
        SLUICE_WORKER_METRICS_ADDRESS: metricsAddress,
        SLUICE_TASK_QUEUE_PIPELINE: config.taskQueues.pipeline,
        ...bucketSettings(config.buckets),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    let stdout = '';
    worker.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
    worker.stdout?.on('data', (d: Buffer) => void (stdout += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!stderr.includes('"msg":"worker started"') && Date.now() < deadline) await sleep(100);
    assert.match(stderr, /"msg":"worker started"/, stderr.slice(-2000));

    const spec = loadSpecFile(join(ROOT, 'examples', 'flights', 'pipeline.json')) as Record<string, unknown>;
    const run = await startTrainingPipeline(
      { client: stack.client, config, store: stack.store },
      {
        spec: { ...spec, model: { name: 'flights-telemetry' }, dataset: { name: 'flights-telemetry', source }, trainer: { kind: 'gbdt', nTrees: 20, maxLeaves: 15 }, gates: { absolute: [{ metric: 'rocAuc', min: 0.5 }] } },
        requestedBy: 'test',
      },
    );
    for (;;) {
      const status = await run.handle.query(pipelineStatusQuery).catch(() => undefined);
      if (status?.stage === 'awaiting-approval') break;
      assert.ok(!status || !['gate-failed', 'validation-failed'].includes(status.stage), `run ended at ${status?.stage}`);
      assert.ok(Date.now() < deadline + 4 * 60_000, `the run is still at ${status?.stage}`);
      await sleep(250);
    }

    const metrics = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    console.log(`metric families: ${[...new Set(metrics.split('\n').filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ').slice(2).join(' ')))].join(', ')}`);
    assert.ok((sample(metrics, 'temporal_worker_task_slots_available') ?? sample(metrics, 'temporal_request_total')) !== undefined, 'the Temporal SDK metrics are served');
    for (const activity of ['ingestDataset', 'validateDataset', 'buildFeatures', 'trainCandidate', 'evaluateCandidate']) {
      const count = sample(metrics, 'sluice_activity_duration_seconds_count', { activityType: activity, outcome: 'completed' });
      assert.ok(count !== undefined && count >= 1, `${activity}'s duration is recorded:\n${metrics.split('\n').filter((l) => l.startsWith('sluice_')).join('\n')}`);
    }
    const trained = sample(metrics, 'sluice_training_iterations_total', { trainer: 'gbdt', model: 'flights-telemetry' });
    assert.ok(trained !== undefined && trained >= 1 && trained <= 20, `iterations counted: ${trained}`);
    const speed = sample(metrics, 'sluice_training_iterations_per_second', { trainer: 'gbdt' });
    assert.ok(speed !== undefined && speed > 0, `training speed: ${speed}`);

    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    const notJson = lines.filter((l) => {
      try {
        return typeof JSON.parse(l) !== 'object';
      } catch {
        return true;
      }
    });
    assert.deepEqual(notJson, [], 'every stderr line is a JSON object');
    assert.equal(stdout.trim(), '', 'nothing is written to stdout');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.every((r) => typeof r.time === 'string' && typeof r.level === 'string' && typeof r.msg === 'string'));
    assert.ok(records.some((r) => r.sdkComponent === 'core'), 'Temporal core logs come through the same logger');
    assert.ok(records.some((r) => r.sdkComponent === 'worker'), 'the SDK worker logs come through the same logger');
  });
});
