import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startTrainingPipeline } from '../../../control/start-training-pipeline.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import type { Config } from '../../../shared/config.ts';
import type { PipelineOutcome } from '../../../shared/pipeline.ts';
import { approveUpdate } from '../../../workflows/approval-gate.ts';
import { pipelineStatusQuery } from '../../../workflows/training-pipeline.ts';
import { FLIGHTS_PARQUET, type FixtureDir, fixtureDir, isolatedBuckets, sqlPath } from '../data/fixtures.ts';
import { stackForSuite, stackConfig, testIds } from '../../support/stack.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * Durability: the worker process is killed with SIGKILL in the middle of training. A new worker
 * picks the run up; earlier activities are not run again, training resumes from its checkpoint,
 * and the run completes.
 */
describe('a worker killed during training', () => {
  const base = stackConfig();
  const stack = stackForSuite(base);
  let fixtures: FixtureDir;
  let config: Config;
  let sample: string;
  const workers: ChildProcess[] = [];

  before(async () => {
    fixtures = fixtureDir();
    sample = fixtures.path('flights-sample.parquet');
    await fixtures.sql(`COPY (SELECT * FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) USING SAMPLE 10 PERCENT (bernoulli, 11)) TO ${sqlPath(sample)} (FORMAT parquet)`);
    config = { ...base, buckets: await isolatedBuckets(stack.store, 'crash'), taskQueues: { ...base.taskQueues, pipeline: testIds('worker-crash').taskQueue } };
  });
  const killGroup = (child: ChildProcess) => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  after(() => {
    for (const w of workers) killGroup(w);
    fixtures[Symbol.dispose]();
  });

  async function startWorkerProcess(): Promise<ChildProcess> {
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(import.meta.dirname, 'fixtures', 'worker-process.ts')], {
      cwd: ROOT,
      env: {
        ...env,
        WORKER_TEST_PARENT_PID: String(process.pid),
        SLUICE_TASK_QUEUE_PIPELINE: config.taskQueues.pipeline,
        SLUICE_BUCKET_DATASETS: config.buckets.datasets,
        SLUICE_BUCKET_FEATURES: config.buckets.features,
        SLUICE_BUCKET_MODELS: config.buckets.models,
        SLUICE_BUCKET_REPORTS: config.buckets.reports,
        SLUICE_BUCKET_SERVING: config.buckets.serving,
        SLUICE_BUCKET_PREDICTIONS: config.buckets.predictions,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
      // Its own process group: tsx runs the worker in a child node process, and both must die.
      detached: true,
    });
    workers.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('worker ready') && resolve());
      child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
    });
    return child;
  }

  test('resumes on a new worker without re-running earlier activities', async () => {
    const spec = loadSpecFile(join(ROOT, 'examples', 'flights', 'pipeline.json')) as Record<string, unknown>;
    const run = await startTrainingPipeline(
      { client: stack.client, config, store: stack.store },
      {
        spec: { ...spec, model: { name: 'flights-crash-test' }, dataset: { name: 'flights-crash', source: sample }, trainer: { kind: 'gbdt', nTrees: 120, earlyStoppingRounds: 0, maxLeaves: 31 }, gates: { absolute: [{ metric: 'rocAuc', min: 0.6 }] } },
        // The default heartbeat timeout: what is measured is how soon a real deployment's training comes back.
        requestedBy: 'dana',
      },
    );
    assert.ok(run.started);
    // Two workers poll from the start, so what is measured after the kill is Temporal noticing the
    // dead worker, not a worker's start; the one that runs training is the one killed.
    const pool = [await startWorkerProcess(), await startWorkerProcess()];

    // Wait until training has heartbeated past its first checkpoint (every 10 trees), then kill.
    let lastIteration = 0;
    let trainingWorker = '';
    // Data stages come first; on a loaded machine they can take minutes, so wait on a deadline.
    const deadline = Date.now() + 5 * 60_000;
    while (lastIteration < 25 && Date.now() < deadline) {
      const described = await run.handle.describe();
      const pending = described.raw.pendingActivities?.[0];
      if (pending?.activityType?.name === 'trainCandidate' && pending.heartbeatDetails?.payloads?.[0]?.data) {
        lastIteration = (JSON.parse(Buffer.from(pending.heartbeatDetails.payloads[0].data).toString()) as { iteration?: number }).iteration ?? 0;
        trainingWorker = pending.lastWorkerIdentity ?? '';
      }
      await sleep(200);
    }
    assert.ok(lastIteration >= 25, `training never heartbeated past iteration 25 (last ${lastIteration})`);
    // A worker's identity is pid@host; each worker process leads its own process group (tsx and the node it starts).
    const trainingPid = Number(trainingWorker.split('@')[0]);
    const group = Number(readFileSync(`/proc/${trainingPid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2]);
    const first = pool.find((w) => w.pid === group);
    assert.ok(first, `training runs in worker ${trainingWorker} (process group ${group}), not one of this test's (${pool.map((w) => w.pid).join(', ')})`);
    const exited = new Promise((resolve) => first.once('exit', resolve));
    const killedAt = Date.now();
    killGroup(first);
    await exited;

    for (;;) {
      const status = await run.handle.query(pipelineStatusQuery).catch(() => undefined);
      if (status?.stage === 'awaiting-approval') break;
      assert.ok(!status || !['gate-failed', 'validation-failed'].includes(status.stage), `run ended at ${status?.stage}`);
      await sleep(250);
    }
    await run.handle.executeUpdate(approveUpdate, { args: [{ by: 'ana' }] });
    const outcome = (await run.handle.result()) as PipelineOutcome;
    assert.equal(outcome.status, 'approved');

    const events = (await run.handle.fetchHistory()).events ?? [];
    const scheduled = new Map<number, string>();
    const starts: Record<string, number[]> = {};
    let trainResult: { summary: { resumedFromCheckpoint: boolean } } | undefined;
    let retriedAt: number | undefined;
    for (const e of events) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s?.activityType?.name) scheduled.set(Number(e.eventId), s.activityType.name);
      const started = e.activityTaskStartedEventAttributes;
      if (started) (starts[scheduled.get(Number(started.scheduledEventId)) ?? '?'] ??= []).push(started.attempt ?? 0);
      if (started && started.attempt === 2 && scheduled.get(Number(started.scheduledEventId)) === 'trainCandidate' && e.eventTime) {
        retriedAt = Number(e.eventTime.seconds) * 1000 + Math.round((e.eventTime.nanos ?? 0) / 1e6);
      }
      const completed = e.activityTaskCompletedEventAttributes;
      if (completed && scheduled.get(Number(completed.scheduledEventId)) === 'trainCandidate') {
        trainResult = JSON.parse(Buffer.from(completed.result?.payloads?.[0]?.data ?? new Uint8Array()).toString()) as typeof trainResult;
      }
    }
    for (const name of ['ingestDataset', 'validateDataset', 'buildFeatures']) assert.deepEqual(starts[name], [1], `${name} ran ${JSON.stringify(starts[name])}`);
    assert.deepEqual(starts.trainCandidate, [2], 'training should have completed on its second attempt');
    assert.equal(trainResult?.summary.resumedFromCheckpoint, true, 'the second attempt started over instead of resuming');

    // Retried on the other worker once the heartbeat timeout (12 s by default) has passed since the last
    // beat before the crash; the slack covers the retry's 1 s backoff and the server's timer and
    // dispatch on a loaded machine.
    assert.ok(retriedAt !== undefined, 'no second attempt of trainCandidate in the history');
    const afterKill = (retriedAt - killedAt) / 1000;
    console.log(`training retried ${afterKill.toFixed(1)} s after the SIGKILL (heartbeat timeout 12 s)`);
    assert.ok(afterKill <= 12 + 5, `training came back ${afterKill.toFixed(1)} s after the crash`);
  });
});
