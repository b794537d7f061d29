import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { InferenceSession } from 'onnxruntime-node';
import type { FeatureMatrix } from '../../../domain/training/feature-matrix.ts';
import { loadFeatureMatrix } from '../../../domain/training/load-feature-matrix.ts';
import { OnnxParityError, verifyOnnxParity } from '../../../domain/training/onnx-parity.ts';
import { readOnnxMetadata } from '../../../formats/onnx/read-metadata.ts';
import { OnnxExportError } from '../../../domain/training/onnx-graph.ts';
import { trainModel } from '../../../domain/training/train-model.ts';
import { trainerSpecSchema, type TrainerSpec } from '../../../shared/trainers.ts';
import { syntheticMatrix } from './synthetic-data.ts';

const specs: TrainerSpec[] = [
  trainerSpecSchema.parse({ kind: 'logistic-regression', minCategoryCount: 20 }),
  trainerSpecSchema.parse({ kind: 'gbdt', nTrees: 30, maxLeaves: 31, minSamplesLeaf: 20 }),
];
const metadata = { modelName: 'flight-delay', modelVersion: 3, lineage: { dataset: 'sha256:ab12', features: 'sha256:cd34' }, threshold: 0.35 };

const train = syntheticMatrix({ rows: 10_000, seed: 21, missingRate: 0.1 });
const validation = syntheticMatrix({ rows: 4_000, seed: 22, missingRate: 0.1, unseenCategories: true });

function withoutCategorical(m: FeatureMatrix): FeatureMatrix {
  return { ...m, categorical: { names: [], columns: [] } };
}
function withoutNumeric(m: FeatureMatrix): FeatureMatrix {
  return { ...m, numeric: { names: [], columns: [] } };
}

describe('ONNX export', () => {
  for (const spec of specs) {
    test(`${spec.kind}: onnxruntime reproduces predict within 1e-5, with missing values and unseen categories`, async () => {
      const model = await trainModel(spec, { train, validation }, { seed: 1 });
      const expected = model.predict(validation);
      const report = await verifyOnnxParity(model.toOnnx(metadata), validation, expected);
      assert.equal(report.rows, validation.rows);
      assert.ok(report.maxAbsDiff <= 1e-5, `max diff ${report.maxAbsDiff}`);
    });

    test(`${spec.kind}: writes the sluice metadata_props and the graph contract's inputs and output`, async () => {
      const model = await trainModel(spec, { train, validation }, { seed: 1 });
      const bytes = model.toOnnx(metadata);
      const props = readOnnxMetadata(bytes);
      assert.equal(props['sluice.model_name'], 'flight-delay');
      assert.equal(props['sluice.model_version'], '3');
      assert.equal(props['sluice.trainer'], spec.kind);
      assert.equal(props['sluice.threshold'], '0.35');
      assert.deepEqual(JSON.parse(props['sluice.lineage'] ?? ''), metadata.lineage);
      assert.deepEqual(JSON.parse(props['sluice.feature_names'] ?? ''), {
        numeric: ['x', 'bump', 'step', 'noise'],
        categorical: ['city', 'carrier'],
      });
      assert.equal('sluice.threshold' in readOnnxMetadata(model.toOnnx({ ...metadata, threshold: undefined })), false);

      const session = await InferenceSession.create(bytes);
      assert.deepEqual(session.inputNames, ['numeric', 'categorical']);
      assert.deepEqual(session.outputNames, ['probability']);
      await session.release();
    });

    test(`${spec.kind}: leaves out the input of a feature kind the model does not have`, async () => {
      const numericOnly = await trainModel(spec, { train: withoutCategorical(train), validation: withoutCategorical(validation) }, { seed: 1 });
      const numericBytes = numericOnly.toOnnx(metadata);
      const numericSession = await InferenceSession.create(numericBytes);
      assert.deepEqual(numericSession.inputNames, ['numeric']);
      await numericSession.release();
      await verifyOnnxParity(numericBytes, withoutCategorical(validation), numericOnly.predict(withoutCategorical(validation)));

      const categoricalOnly = await trainModel(spec, { train: withoutNumeric(train), validation: withoutNumeric(validation) }, { seed: 1 });
      const categoricalBytes = categoricalOnly.toOnnx(metadata);
      const categoricalSession = await InferenceSession.create(categoricalBytes);
      assert.deepEqual(categoricalSession.inputNames, ['categorical']);
      await categoricalSession.release();
      await verifyOnnxParity(categoricalBytes, withoutNumeric(validation), categoricalOnly.predict(withoutNumeric(validation)));
    });
  }

  test('a categorical never seen in training (all missing) exports as an all-default lookup', async () => {
    const blind = syntheticMatrix({ rows: 5_000, seed: 23 });
    blind.categorical.columns[1]!.codes.fill(-1);
    for (const spec of specs) {
      const model = await trainModel(spec, { train: blind, validation }, { seed: 1 });
      const report = await verifyOnnxParity(model.toOnnx(metadata), validation, model.predict(validation));
      assert.ok(report.maxAbsDiff <= 1e-5, `${spec.kind}: max diff ${report.maxAbsDiff}`);
    }
  });

  test('a model without features cannot be exported', async () => {
    const model = await trainModel(specs[0]!, { train: withoutNumeric(withoutCategorical(train)), validation: withoutNumeric(withoutCategorical(validation)) }, { seed: 1 });
    assert.throws(() => model.toOnnx(metadata), OnnxExportError);
  });

  test('a parity check against scores that differ raises OnnxParityError', async () => {
    const model = await trainModel(specs[1]!, { train, validation }, { seed: 1 });
    const perturbed = model.predict(validation);
    perturbed[1234] = (perturbed[1234] as number) + 1e-3;
    await assert.rejects(verifyOnnxParity(model.toOnnx(metadata), validation, perturbed), (error: unknown) => {
      assert.ok(error instanceof OnnxParityError);
      assert.equal(error.report.worstRow, 1234);
      assert.ok(Math.abs(error.report.maxAbsDiff - 1e-3) < 1e-5);
      return true;
    });
  });
});

describe('ONNX export on real flights', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  after(() => {
    connection.closeSync();
    instance.closeSync();
  });

  test('both trainers keep parity on a 50k-row sample of 2001 flights', async () => {
    const source = `SELECT hour(date) AS hour_of_day, isodow(date) AS day_of_week, distance, origin, destination,
      delay > 15 AS delayed, month(date) AS month
      FROM 'node_modules/vega-datasets/data/flights-3m.parquet' WHERE hash(date, origin, destination, delay) % 60 = 0`;
    const columns = { numeric: ['hour_of_day', 'day_of_week', 'distance'], categorical: ['origin', 'destination'], label: 'delayed' };
    const flightsTrain = await loadFeatureMatrix(connection, `${source} AND month <= 4`, columns);
    const flightsValidation = await loadFeatureMatrix(connection, `${source} AND month = 5`, columns);
    assert.ok(flightsTrain.rows + flightsValidation.rows > 40_000, `only ${flightsTrain.rows + flightsValidation.rows} rows`);
    for (const spec of specs) {
      const model = await trainModel(spec, { train: flightsTrain, validation: flightsValidation }, { seed: 1 });
      const report = await verifyOnnxParity(model.toOnnx(metadata), flightsValidation, model.predict(flightsValidation));
      assert.ok(report.maxAbsDiff <= 1e-5, `${spec.kind}: max diff ${report.maxAbsDiff}`);
    }
  });
});
