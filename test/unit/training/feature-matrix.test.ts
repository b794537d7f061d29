import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { assertFeatureMatrix, FeatureMatrixError, MISSING_CODE, type FeatureMatrix } from '../../../domain/training/feature-matrix.ts';
import { loadFeatureMatrix } from '../../../domain/training/load-feature-matrix.ts';

describe('loadFeatureMatrix', () => {
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

  test('reads numerics as float64 with NULL → NaN, categoricals as codes with NULL and "" → -1', async () => {
    const m = await loadFeatureMatrix(
      connection,
      `SELECT * FROM (VALUES (1, 2.5, 'SFO', true), (NULL, -1, '', false), (3, NULL, NULL, true), (4, 0, 'JFK', false), (5, 1, 'SFO', false))
         AS t(n, "odd ""name""", airport, delayed)`,
      { numeric: ['n', 'odd "name"'], categorical: ['airport'], label: 'delayed' },
    );
    assert.equal(m.rows, 5);
    assert.deepEqual(Array.from(m.numeric.columns[0]!), [1, NaN, 3, 4, 5]);
    assert.deepEqual(Array.from(m.numeric.columns[1]!), [2.5, -1, NaN, 0, 1]);
    assert.deepEqual(m.categorical.columns[0]?.dictionary, ['SFO', 'JFK']);
    assert.deepEqual(Array.from(m.categorical.columns[0].codes), [0, MISSING_CODE, MISSING_CODE, 1, 0]);
    assert.deepEqual(Array.from(m.label), [1, 0, 1, 0, 0]);
    assertFeatureMatrix(m);
  });

  test('streams results larger than one chunk into typed arrays', async () => {
    const m = await loadFeatureMatrix(
      connection,
      'SELECT i AS x, (i % 3)::VARCHAR AS c, i % 2 AS y FROM range(100000) t(i)',
      { numeric: ['x'], categorical: ['c'], label: 'y' },
    );
    assert.equal(m.rows, 100_000);
    assert.ok(m.numeric.columns[0] instanceof Float64Array);
    assert.equal(m.numeric.columns[0]?.[99_999], 99_999);
    assert.equal(m.categorical.columns[0]?.dictionary.length, 3);
    assert.equal(m.label.reduce((a, b) => a + b, 0), 50_000);
  });

  test('refuses a label that is not 0/1 or boolean', async () => {
    await assert.rejects(
      loadFeatureMatrix(connection, 'SELECT 1 AS x, 2 AS y', { numeric: ['x'], categorical: [], label: 'y' }),
      FeatureMatrixError,
    );
    await assert.rejects(
      loadFeatureMatrix(connection, 'SELECT 1 AS x, NULL::INT AS y', { numeric: ['x'], categorical: [], label: 'y' }),
      FeatureMatrixError,
    );
  });
});

describe('assertFeatureMatrix', () => {
  const valid = (): FeatureMatrix => ({
    rows: 2,
    numeric: { names: ['a'], columns: [Float64Array.from([1, NaN])] },
    categorical: { names: ['c'], columns: [{ dictionary: ['x'], codes: Int32Array.from([0, -1]) }] },
    label: Uint8Array.from([0, 1]),
  });

  test('accepts a consistent matrix', () => {
    assertFeatureMatrix(valid());
  });

  test('names the problem in an inconsistent one', () => {
    const cases: [string, (m: FeatureMatrix) => void][] = [
      ['label has 1 values', (m) => (m.label = Uint8Array.from([1]))],
      ['is infinite', (m) => (m.numeric.columns[0] = Float64Array.from([1, Infinity]))],
      ['has code 1', (m) => (m.categorical.columns[0]!.codes = Int32Array.from([0, 1]))],
      ["'' in its dictionary", (m) => (m.categorical.columns[0]!.dictionary = [''])],
      ['appears twice', (m) => (m.categorical.names = ['a'])],
      ['expected 0 or 1', (m) => (m.label = Uint8Array.from([0, 2]))],
    ];
    for (const [message, corrupt] of cases) {
      const m = valid();
      corrupt(m);
      assert.throws(() => assertFeatureMatrix(m), (e: unknown) => e instanceof FeatureMatrixError && e.message.includes(message), message);
    }
  });
});
