import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { binOf, binRows, categoryEdges, fitBinEdges, MISSING_BIN } from '../../../domain/training/gbdt/binning.ts';
import { categoryCodes, treeFeatureColumns } from '../../../domain/training/gbdt/features.ts';
import type { FeatureMatrix } from '../../../domain/training/feature-matrix.ts';
import { Prng } from '../../../domain/training/prng.ts';

describe('fitBinEdges', () => {
  test('gives every distinct value its own bin when they fit', () => {
    const values = Float32Array.from([3, 1, 2, 2, 3, 1, NaN, 7]);
    const edges = fitBinEdges(values, 255);
    assert.deepEqual(Array.from(edges), [1.5, 2.5, 5]);
    assert.deepEqual(
      Array.from(values, (v) => binOf(v, edges)),
      [3, 1, 2, 2, 3, 1, MISSING_BIN, 4],
    );
  });

  test('caps the bins at maxBins with roughly equal row counts', () => {
    const prng = new Prng(1);
    const values = Float32Array.from({ length: 100_000 }, () => prng.next() * 1000);
    const edges = fitBinEdges(values, 10);
    assert.equal(edges.length, 9);
    const counts = new Array<number>(11).fill(0);
    for (const v of values) counts[binOf(v, edges)]! += 1;
    assert.equal(counts[MISSING_BIN], 0);
    for (const count of counts.slice(1)) assert.ok(Math.abs(count - 10_000) < 300, `bin holds ${count} rows`);
  });

  test('keeps bins balanced when edges come from a sample of a large column', () => {
    const prng = new Prng(2);
    const values = Float32Array.from({ length: 600_000 }, () => prng.next() ** 2);
    const edges = fitBinEdges(values, 8);
    const counts = new Array<number>(9).fill(0);
    for (const v of values) counts[binOf(v, edges)]! += 1;
    for (const count of counts.slice(1)) assert.ok(Math.abs(count - 75_000) < 3_000, `bin holds ${count} rows`);
  });

  test('never splits one value across bins, however frequent', () => {
    const values = Float32Array.from([...new Array<number>(900).fill(5), ...Array.from({ length: 100 }, (_, i) => i)]);
    const edges = fitBinEdges(values, 4);
    const binsOfFive = new Set(values.filter((v) => v === 5).map((v) => binOf(v, edges)));
    assert.equal(binsOfFive.size, 1);
  });

  test('bin ≤ b holds exactly when x ≤ the bin\'s float32 edge, for any float32 x', () => {
    // The property that lets trees trained on bins be exported as `x <= threshold`.
    const prng = new Prng(7);
    const train = Float32Array.from({ length: 5_000 }, () => Math.round(prng.next() * 400) / 16 - 12);
    const edges = fitBinEdges(train, 64);
    const probes = Float32Array.from({ length: 20_000 }, () => prng.next() * 30 - 15);
    for (const x of [...probes, ...edges, ...train]) {
      const bin = binOf(x, edges);
      for (let b = 1; b <= edges.length; b++) assert.equal(bin <= b, x <= (edges[b - 1] as number));
    }
    for (const edge of edges) assert.equal(edge, Math.fround(edge));
  });

  test('has no edges for an all-missing column and puts every row in the missing bin', () => {
    const edges = fitBinEdges(Float32Array.from([NaN, NaN]), 255);
    assert.equal(edges.length, 0);
    assert.deepEqual(Array.from(binRows([Float32Array.from([NaN, 1])], [edges], 2)), [MISSING_BIN, 1]);
  });
});

describe('categoryCodes', () => {
  test('codes the training categories most frequent first, ties by name, capped; the rest are missing', () => {
    const dictionary = ['c', 'a', 'b', 'never-seen', 'd'];
    const codes = Int32Array.from([0, 0, 1, 1, 1, 2, 2, 2, 4, -1]);
    assert.deepEqual(categoryCodes({ dictionary, codes }, 10).categories, ['a', 'b', 'c', 'd']);
    const capped = categoryCodes({ dictionary, codes }, 2);
    assert.deepEqual(capped.categories, ['a', 'b']);
    const matrix = { rows: codes.length, numeric: { names: [], columns: [] }, categorical: { names: ['x'], columns: [{ dictionary, codes }] } };
    const [column] = treeFeatureColumns(matrix as unknown as FeatureMatrix, [capped]);
    assert.deepEqual(Array.from(column ?? []), [NaN, NaN, 0, 0, 0, 1, 1, 1, NaN, NaN]);
  });

  test('categoryEdges puts code c in bin c + 1 and missing in the missing bin', () => {
    const edges = categoryEdges(4);
    assert.deepEqual(Array.from(binRows([Float32Array.from([0, 1, 2, 3, NaN])], [edges], 5)), [1, 2, 3, 4, MISSING_BIN]);
  });
});
