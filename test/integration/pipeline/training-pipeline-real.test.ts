import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startTrainingPipeline } from '../../../control/start-training-pipeline.ts';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { FeatureTables, TrainedCandidate } from '../../../activities/pipeline/contract.ts';
import { createDataStages } from '../../../activities/pipeline/data-stages.ts';
import { createTrainCandidate } from '../../../activities/pipeline/train-candidate.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { stampOnnxVersion } from '../../../domain/registry/stamp-onnx-metadata.ts';
import { featureSpecSchema } from '../../../shared/data/feature-spec.ts';
import { featureTablesManifestSchema } from '../../../shared/data/feature-tables.ts';
import { featureKeys } from '../../../shared/storage-keys.ts';
import { trainerSpecSchema } from '../../../shared/trainers.ts';
import { readOnnxMetadata } from '../../../formats/onnx/read-metadata.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import type { PipelineOutcome } from '../../../shared/pipeline.ts';
import { approveUpdate } from '../../../workflows/approval-gate.ts';
import { pipelineStatusQuery } from '../../../workflows/training-pipeline.ts';
import { createPipelineWorker } from '../../../workers/pipeline-worker.ts';
import { setTimeout as sleep } from 'node:timers/promises';

import { flightsSampleSuite } from './fixtures/flights-sample-suite.ts';
/**
 * The shipped pipeline with its real activities on the real servers: a seeded 4% sample of the
 * flights (all six months, so every split has rows) through ingest, validation, point-in-time
 * features, GBDT training, ONNX evaluation, gates, registration and approval.
 */
describe('trainingPipeline with real activities on a flights sample', () => {
  const suite = flightsSampleSuite('pipeline');

  function sampleSpec(): Record<string, unknown> {
    const spec = loadSpecFile(new URL('../../../examples/flights/pipeline.json', import.meta.url).pathname) as Record<string, unknown>;
    // Latency gates judge the machine as much as the model; on a busy test machine they would flake.
    // Two threads: the training thread starts GBDT helper threads of its own, as on full-size data.
    // Its own model name: the training slot is per model, and other test files train flights models concurrently.
    return { ...spec, model: { name: 'flights-real-test' }, dataset: { name: 'flights-sample', source: suite.sample }, trainer: { kind: 'gbdt', nTrees: 40, maxLeaves: 31, minSamplesLeaf: 50, threads: 2 }, gates: { absolute: [{ metric: 'rocAuc', min: 0.6 }], slices: [{ metric: 'rocAuc', min: 0.55, minRows: 1000 }] } };
  }

  test('runs every stage, registers a version with full lineage, records the approval; the same request again trains nothing', async () => {
    const worker = await createPipelineWorker({ config: suite.config, connection: suite.stack.nativeConnection, store: suite.stack.store });
    const outcome = await worker.runUntil(async () => {
      const started = await startTrainingPipeline({ client: suite.stack.client, config: suite.config, store: suite.stack.store }, { spec: sampleSpec(), requestedBy: 'dana', codeVersion: 'test' });
      assert.equal(started.started, true);
      for (;;) {
        const status = await started.handle.query(pipelineStatusQuery).catch(() => undefined);
        if (status?.stage === 'awaiting-approval') break;
        assert.ok(!status || !['validation-failed', 'gate-failed'].includes(status.stage), `run ended early at ${status?.stage}: ${JSON.stringify(status?.evaluation?.gate.failed)}`);
        await sleep(250);
      }
      const status = await started.handle.query(pipelineStatusQuery);
      assert.ok((status.evaluation?.summary.overall.rocAuc ?? 0) > 0.6, `AUC ${status.evaluation?.summary.overall.rocAuc}`);
      await started.handle.executeUpdate(approveUpdate, { args: [{ by: 'ana', comment: 'looks good' }] });
      const result = (await started.handle.result()) as PipelineOutcome;

      const again = await startTrainingPipeline({ client: suite.stack.client, config: suite.config, store: suite.stack.store }, { spec: sampleSpec(), requestedBy: 'omar' });
      assert.equal(again.started, false, 'the identical request started a second run');
      assert.equal(again.workflowId, started.workflowId);
      return result;
    });

    assert.ok(outcome.status === 'approved', JSON.stringify(outcome));
    const registry = new ModelRegistry(suite.stack.store, suite.config.buckets.models);
    const view = await registry.view('flights-real-test', outcome.version);
    assert.equal(view.status, 'approved');
    assert.deepEqual(view.history.map((h) => [h.status, h.by]), [['candidate', 'dana'], ['approved', 'ana']]);
    assert.equal(view.history[1]?.reason, 'ana: looks good');

    const manifest = view.manifest;
    assert.equal(manifest.datasetVersion, outcome.datasetVersion);
    assert.match(manifest.featureDefinitionHash, /^[0-9a-f]{64}$/);
    assert.equal(manifest.codeVersion, 'test');
    assert.equal(manifest.trainer.kind, 'gbdt');
    assert.equal(manifest.seed, 42);
    assert.ok((manifest.metrics.rocAuc ?? 0) > 0.6);
    assert.ok(manifest.featureNames.numeric.includes('origin_delay_rate_7d'));
    assert.ok(manifest.featureNames.categorical.includes('origin_airport'));
    for (const kind of ['datasetManifest', 'validation', 'referenceStats', 'evaluation', 'gates', 'onlineFeatures', 'spec']) assert.ok(manifest.reports[kind], `manifest has no ${kind} report`);
    // What the monitor reads of this version: calibration on the validation split and a weight per feature summing to 1.
    assert.equal(manifest.calibration?.split, 'validation');
    assert.ok(manifest.calibration.bins.reduce((n, b) => n + b.rows, 0) === manifest.calibration.rows);
    const weights = manifest.featureImportance?.weights ?? {};
    assert.deepEqual(Object.keys(weights).sort(), [...manifest.featureNames.numeric, ...manifest.featureNames.categorical].sort());
    assert.ok(Math.abs(Object.values(weights).reduce((a, b) => a + b, 0) - 1) < 1e-9);
    console.log('manifest diagnostics:', JSON.stringify({ ece: manifest.calibration.expectedCalibrationError, noiseFloor: manifest.calibration.noiseFloor, crossFitted: manifest.calibration.crossFittedCalibratedError, map: manifest.calibration.map ? manifest.calibration.map.scores.length : null, weights }));
    const storedSpec = JSON.parse((await suite.stack.store.get(suite.config.buckets.reports, manifest.reports.spec ?? '')).toString()) as { model: { name: string } };
    assert.equal(storedSpec.model.name, manifest.name, 'the spec the run used is stored with the model, for retraining');

    const onnx = await registry.onnx('flights-real-test', outcome.version);
    const metadata = readOnnxMetadata(onnx);
    assert.equal(metadata['sluice.model_version'], String(outcome.version));
    assert.equal((JSON.parse(metadata['sluice.lineage'] ?? '{}') as { datasetVersion?: string }).datasetVersion, outcome.datasetVersion);

    const evaluation = JSON.parse((await suite.stack.store.get(suite.config.buckets.reports, manifest.reports.evaluation ?? '')).toString()) as { slices: { slice: string }[]; latency: { batch1: { p99Ms: number } }; champion: { skipped?: string } };
    assert.ok(evaluation.slices.every((s) => s.slice === 'origin-size') && evaluation.slices.length > 0);
    assert.ok(evaluation.latency.batch1.p99Ms > 0);
    assert.equal(evaluation.champion.skipped, 'the model has no registered versions yet');

    // Reproducibility: everything needed to retrain comes from the manifest (the feature spec via the
    // feature build it names), and retraining gives the same model, byte for byte.
    const featureBuild = featureTablesManifestSchema.parse(
      JSON.parse((await suite.stack.store.get(suite.config.buckets.features, featureKeys.manifest(manifest.featureDefinitionHash, manifest.datasetVersion))).toString()),
    );
    const activityEnv = new MockActivityEnvironment();
    const { buildFeatures } = createDataStages({ store: suite.stack.store, buckets: suite.config.buckets });
    const buildInput: Parameters<typeof buildFeatures>[0] = { datasetVersion: manifest.datasetVersion, features: featureSpecSchema.parse(featureBuild.spec) };
    const tables = await activityEnv.run<[typeof buildInput], FeatureTables, typeof buildFeatures>(buildFeatures, buildInput);
    assert.equal(tables.featureDefinitionHash, manifest.featureDefinitionHash);
    const trainCandidate = createTrainCandidate({ store: suite.stack.store, buckets: suite.config.buckets });
    const trainInput: Parameters<typeof trainCandidate>[0] = {
      modelName: manifest.name,
      runId: manifest.origin.workflowId,
      tables,
      trainer: trainerSpecSchema.parse(manifest.trainer.hyperparameters),
      seed: manifest.seed,
    };
    const retrained = await activityEnv.run<[typeof trainInput], TrainedCandidate, typeof trainCandidate>(trainCandidate, trainInput);
    const retrainedOnnx = stampOnnxVersion(await suite.stack.store.get(suite.config.buckets.models, retrained.candidateKey), manifest.version);
    assert.ok(Buffer.from(retrainedOnnx).equals(onnx), 'retraining from the manifest produced a different model');
  });
});
