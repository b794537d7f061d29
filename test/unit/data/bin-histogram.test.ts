import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { binHistogramSql, readBinHistogram } from '../../../domain/features/bin-histogram.ts';

const db = await (await DuckDBInstance.create(':memory:')).connect();

/** Bin j holds edges[j-1] <= x < edges[j]: the number of edges at or below x; NaN sorts above every edge. */
const expected = (values: readonly (number | null)[], edges: readonly number[]) => {
  const bins = new Array<number>(edges.length + 1).fill(0);
  for (const x of values) if (x !== null) bins[Number.isNaN(x) ? edges.length : edges.filter((e) => e <= x).length]! += 1;
  return bins;
};

async function counted(values: readonly (number | null)[], edges: readonly number[], type: 'DOUBLE' | 'FLOAT'): Promise<number[]> {
  const literal = (v: number | null) => (v === null ? 'NULL' : Number.isFinite(v) ? v.toPrecision(17) : `'${v}'`);
  const rows = values.map((v) => `(${literal(v)}::${type})`).join(', ');
  const [row] = (await db.runAndReadAll(`SELECT ${binHistogramSql('x', edges)} AS h FROM (VALUES ${rows}) t(x)`)).getRowObjectsJS();
  return readBinHistogram(row?.h, edges);
}

test('values equal to an edge go to the bin above it, as x < edge reads; NULLs are not counted, NaN is in the last bin', async () => {
  const edges = [-1.5, 0, 2, 40.5];
  const values = [-3, -1.5, -1.4999999999999998, -0, 0, 1e-300, 2, 2, 40.49999, 40.5, 1e300, Number.NaN, null, -Infinity, Infinity];
  assert.deepEqual(await counted(values, edges, 'DOUBLE'), expected(values, edges));
  assert.deepEqual(await counted(values, edges, 'DOUBLE'), [2, 2, 3, 3, 4]);
});

test('float32 and double columns, edges among their own values: the same counts as x < edge, value by value', async () => {
  await db.run('SELECT setseed(0.42)');
  await db.run(`CREATE TABLE generated AS SELECT (floor(random() * 40) / 8 - 2)::FLOAT AS f, (random() - 0.5) * 1e6 AS d FROM range(5000)`);
  const rows = (await db.runAndReadAll('SELECT f, d FROM generated')).getRows();
  for (const [column, edges] of [
    ['f', [-1.5, -1.125, -0.875, -0.75, -0.625, 0, 0.375, 1, 1.375]],
    ['d', [-2e5, -1, 0, 3.25, 1e5]],
  ] as const) {
    const values = rows.map((row) => Number(row[column === 'f' ? 0 : 1]));
    const [row] = (await db.runAndReadAll(`SELECT ${binHistogramSql(column, edges)} AS h FROM generated`)).getRowObjectsJS();
    assert.deepEqual(readBinHistogram(row?.h, edges), expected(values, edges), column);
  }
});

test('no edges: one bin holding every present value', async () => {
  assert.deepEqual(await counted([1, 2, null, 3], [], 'DOUBLE'), [3]);
});
