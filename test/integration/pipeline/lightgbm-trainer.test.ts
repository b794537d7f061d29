import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure } from '@temporalio/common';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { startTrainingPipeline } from '../../../control/start-training-pipeline.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { readOnnxMetadata } from '../../../formats/onnx/read-metadata.ts';
import { ErrorType } from '../../../shared/errors.ts';
import { createLogger } from '../../../shared/logger.ts';
import type { PipelineOutcome } from '../../../shared/pipeline.ts';
import { approveUpdate } from '../../../workflows/approval-gate.ts';
import { pipelineStatusQuery } from '../../../workflows/training-pipeline.ts';
import { createPipelineWorker } from '../../../workers/pipeline-worker.ts';
import { testIds } from '../../support/stack.ts';
import { flightEvent } from '../../unit/api/support/flights-model.ts';
import { startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { flightsSampleSuite } from './fixtures/flights-sample-suite.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const python = `${root}.venv-lightgbm/bin/python`;
const venvMissing = existsSync(python) ? false : `no LightGBM environment at ${python}: run scripts/lightgbm-venv.sh (.ci/run does)`;

/**
 * The shipped LightGBM worker (Python, its own process and task queue) as the pipeline's trainer on
 * the real servers and the seeded 4 % flights sample: the pipeline worker ingests, validates and
 * builds features, the Python worker trains and exports ONNX, then evaluation, gates, registration,
 * approval and the prediction API treat the model like a built-in one.
 */
describe('the LightGBM trainer worker in the training pipeline', { skip: venvMissing }, () => {
  const suite = flightsSampleSuite('lightgbm');
  const taskQueue = testIds('lightgbm-trainer').taskQueue;
  let trainer: ChildProcess | undefined;

  before(async () => {
    const { config } = suite;
    const env = {
      ...process.env,
      SLUICE_TEMPORAL_ADDRESS: config.temporal.address,
      SLUICE_TEMPORAL_NAMESPACE: config.temporal.namespace,
      SLUICE_MINIO_ENDPOINT: config.minio.endpoint,
      SLUICE_MINIO_ACCESS_KEY: config.minio.accessKey,
      SLUICE_MINIO_SECRET_KEY: config.minio.secretKey,
      SLUICE_MINIO_REGION: config.minio.region,
      SLUICE_BUCKET_FEATURES: config.buckets.features,
      SLUICE_BUCKET_MODELS: config.buckets.models,
      SLUICE_TASK_QUEUE_LIGHTGBM: taskQueue,
    };
    // The kernel kills the worker with this process, even when a timed-out test never reaches after().
    trainer = spawn('setpriv', ['--pdeathsig', 'KILL', python, '-m', 'sluice_lightgbm.worker'], { cwd: `${root}trainers/lightgbm`, env, stdio: ['ignore', 'pipe', 'inherit'] });
    const worker = trainer;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the LightGBM worker did not report ready within 60 s')), 60_000);
      worker.once('exit', (code) => reject(new Error(`the LightGBM worker exited with ${code} before it was ready`)));
      worker.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('worker ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  });

  after(async () => {
    if (!trainer || trainer.exitCode !== null) return;
    const exited = once(trainer, 'exit');
    trainer.kill('SIGTERM');
    await exited;
  });

  function sampleSpec(model: string, trainerSpec: Record<string, unknown>): Record<string, unknown> {
    const spec = loadSpecFile(new URL('../../../examples/flights/pipeline.json', import.meta.url).pathname) as Record<string, unknown>;
    // No latency gate: it would judge the busy test machine, not the model.
    return { ...spec, model: { name: model }, dataset: { name: 'flights-sample', source: suite.sample }, trainer: trainerSpec, gates: { absolute: [{ metric: 'rocAuc', min: 0.6 }], slices: [{ metric: 'rocAuc', min: 0.55, minRows: 1000 }] } };
  }

  test('trains, evaluates, registers with its library versions, is approved, and the API serves it', async () => {
    const model = 'flights-lightgbm-test';
    const spec = sampleSpec(model, { kind: 'lightgbm', taskQueue, numTrees: 40, numLeaves: 31, minDataInLeaf: 50 });
    const worker = await createPipelineWorker({ config: suite.config, connection: suite.stack.nativeConnection, store: suite.stack.store });
    const outcome = await worker.runUntil(async () => {
      const started = await startTrainingPipeline({ client: suite.stack.client, config: suite.config, store: suite.stack.store }, { spec, requestedBy: 'dana', codeVersion: 'test' });
      for (;;) {
        const status = await started.handle.query(pipelineStatusQuery).catch(() => undefined);
        if (status?.stage === 'awaiting-approval') break;
        assert.ok(!status || !['validation-failed', 'gate-failed'].includes(status.stage), `run ended early at ${status?.stage}: ${JSON.stringify(status?.evaluation?.gate.failed)}`);
        await sleep(250);
      }
      const { stages } = await started.handle.query(pipelineStatusQuery);
      const at = (stage: string) => Date.parse(stages.find((s) => s.stage === stage)?.startedAt ?? '');
      console.log(`lightgbm: training stage ${((at('evaluating') - at('training')) / 1000).toFixed(1)} s`);
      await started.handle.executeUpdate(approveUpdate, { args: [{ by: 'ana', comment: 'ok' }] });
      return (await started.handle.result()) as PipelineOutcome;
    });
    assert.ok(outcome.status === 'approved', JSON.stringify(outcome));

    const registry = new ModelRegistry(suite.stack.store, suite.config.buckets.models);
    const { manifest, status } = await registry.view(model, outcome.version);
    assert.equal(status, 'approved');
    assert.equal(manifest.trainer.kind, 'external:lightgbm');
    assert.deepEqual(manifest.trainer.hyperparameters, { taskQueue, numTrees: 40, numLeaves: 31, minDataInLeaf: 50 });
    assert.equal(manifest.trainer.libraries?.lightgbm, '4.7.0');
    assert.match(manifest.trainer.libraries?.onnxmltools ?? '', /^\d+\.\d+/);
    console.log('lightgbm test metrics:', JSON.stringify(manifest.metrics));
    assert.ok((manifest.metrics.rocAuc ?? 0) > 0.6, `AUC ${manifest.metrics.rocAuc}`);

    const metadata = readOnnxMetadata(await registry.onnx(model, outcome.version));
    assert.equal(metadata['sluice.trainer'], 'external:lightgbm');
    assert.equal(metadata['sluice.model_version'], String(outcome.version));
    assert.deepEqual(JSON.parse(metadata['sluice.feature_names'] ?? '{}'), manifest.featureNames);

    // Served like any version: features from the run's stored spec and online snapshot, the model from the registry.
    await writeServingConfig(suite.stack.store, suite.config, { [model]: { primary: outcome.version } }, 1);
    const definitions = new StoredFeatureDefinitions(suite.stack.store, suite.config.buckets, 60_000, createLogger('error'));
    try {
      await using api = await startTestApi({ store: suite.stack.store, config: suite.config, assemblers: new OnlineFeatureAssemblers(definitions) });
      await api.firstPoll;
      const events = [0, 1, 2, 3].map(flightEvent);
      const res = await api.predict(model, { events });
      assert.equal(res.status, 200, res.text);
      const scores = (res.json.predictions ?? []).map((p) => p.score);
      assert.equal(scores.length, events.length);
      assert.ok(scores.every((s) => typeof s === 'number' && s > 0 && s < 1), JSON.stringify(scores));
      // Different routes and hours: a model that ignores its inputs would score them all alike.
      assert.ok(new Set(scores).size > 1, JSON.stringify(scores));
    } finally {
      definitions.close();
    }
  });

  test('a hyperparameter the worker does not know fails the run at training with InvalidInput; nothing is registered', async () => {
    const model = 'flights-lightgbm-bad-test';
    const spec = sampleSpec(model, { kind: 'external', name: 'lightgbm', taskQueue, hyperparameters: { numTrees: 10, treeCount: 10 } });
    const worker = await createPipelineWorker({ config: suite.config, connection: suite.stack.nativeConnection, store: suite.stack.store });
    const failure = await worker.runUntil(async () => {
      const started = await startTrainingPipeline({ client: suite.stack.client, config: suite.config, store: suite.stack.store }, { spec, requestedBy: 'dana' });
      return started.handle.result().then(
        () => assert.fail('the run succeeded'),
        (err: unknown) => err,
      );
    });
    assert.ok(failure instanceof WorkflowFailedError, String(failure));
    const cause = failure.cause instanceof ActivityFailure ? failure.cause.cause : undefined;
    assert.ok(cause instanceof ApplicationFailure && cause.type === ErrorType.InvalidInput, String(cause));
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, /unknown hyperparameter 'treeCount'/);
    const registry = new ModelRegistry(suite.stack.store, suite.config.buckets.models);
    await assert.rejects(registry.view(model, 1));
  });
});
