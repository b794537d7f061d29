import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferenceSession } from 'onnxruntime-node';
import { stampOnnxVersion } from '../../../domain/registry/stamp-onnx-metadata.ts';
import { readOnnxMetadata } from '../../../formats/onnx/read-metadata.ts';
import { featureFeeds } from '../../../domain/scoring/feature-feeds.ts';
import { PROBABILITY_OUTPUT } from '../../../shared/model-graph.ts';
import { trainModel } from '../../../domain/training/train-model.ts';
import { logisticRegressionParamsSchema } from '../../../shared/trainers.ts';
import { syntheticMatrix } from '../../support/synthetic-matrix.ts';

test('stamping a version changes the version metadata and nothing the model computes', async () => {
  const train = syntheticMatrix(2000, 1);
  const validation = syntheticMatrix(500, 2);
  const model = await trainModel(logisticRegressionParamsSchema.parse({ kind: 'logistic-regression' }), { train, validation }, { seed: 1 });
  const onnx = model.toOnnx({ modelName: 'demo', modelVersion: 0, lineage: { datasetVersion: 'd'.repeat(64) }, threshold: 0.4 });

  const stamped = stampOnnxVersion(onnx, 12);
  const before = readOnnxMetadata(onnx);
  const after = readOnnxMetadata(stamped);
  assert.equal(before['sluice.model_version'], '0');
  assert.equal(after['sluice.model_version'], '12');
  assert.deepEqual({ ...after, 'sluice.model_version': '0' }, before, 'other metadata changed');
  assert.equal(readOnnxMetadata(stampOnnxVersion(stamped, 13))['sluice.model_version'], '13', 'restamping left a stale entry');

  const score = async (bytes: Uint8Array) => {
    const session = await InferenceSession.create(bytes);
    const out = await session.run(featureFeeds(validation, 0, validation.rows), [PROBABILITY_OUTPUT]);
    await session.release();
    return Array.from(out[PROBABILITY_OUTPUT]?.data as Float32Array);
  };
  assert.deepEqual(await score(stamped), await score(onnx));
});
