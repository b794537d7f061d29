import { performance } from 'node:perf_hooks';
import type { InferenceSession } from 'onnxruntime-node';
import { labelTaskOf, type FeatureMatrix } from '../training/feature-matrix.ts';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import { featureFeeds } from './feature-feeds.ts';
import { OUTPUT_OF_KIND } from '../../shared/model-graph.ts';

const outputOf = (matrix: FeatureMatrix) => OUTPUT_OF_KIND[matrix.task?.kind ?? 'binary'];

const SCORING_BATCH = 65_536;

/**
 * The model's output for every row, computed by the ONNX file itself (evaluation judges what will
 * serve): binary `probability`, regression `value`, multiclass `probabilities` (row-major [N, K]), by
 * `task`: the matrix's label kind unless the caller knows the model's (batch scoring reads it from the
 * manifest; its rows have no label).
 */
export async function scoreWithOnnx(session: InferenceSession, matrix: FeatureMatrix, task: LabelTask = labelTaskOf(matrix)): Promise<Float32Array> {
  const output = OUTPUT_OF_KIND[task.kind];
  const width = task.kind === 'multiclass' ? task.classes.length : 1;
  const scores = new Float32Array(matrix.rows * width);
  for (let start = 0; start < matrix.rows; start += SCORING_BATCH) {
    const end = Math.min(matrix.rows, start + SCORING_BATCH);
    const result = await session.run(featureFeeds(matrix, start, end), [output]);
    scores.set(result[output]?.data as Float32Array, start * width);
  }
  return scores;
}

export interface OnnxLatency {
  batch1: { runs: number; p50Ms: number; p95Ms: number; p99Ms: number };
  batch1024: { runs: number; rowsPerSecond: number };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/**
 * Latency of the model itself on this worker: single-row calls (the online path without HTTP) and
 * throughput at batch 1024 (the batch-scoring path), after a warm-up so JIT and allocation do not count.
 */
export async function measureOnnxLatency(session: InferenceSession, matrix: FeatureMatrix, singleRuns = 1000): Promise<OnnxLatency> {
  const rows = Math.min(matrix.rows, singleRuns);
  const feeds = Array.from({ length: rows }, (_, i) => featureFeeds(matrix, i, i + 1));
  for (const feed of feeds.slice(0, Math.min(100, rows))) await session.run(feed, [outputOf(matrix)]);
  const times: number[] = [];
  for (const feed of feeds) {
    const t0 = performance.now();
    await session.run(feed, [outputOf(matrix)]);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);

  const batchRows = Math.min(1024, matrix.rows);
  const batch = featureFeeds(matrix, 0, batchRows);
  await session.run(batch, [outputOf(matrix)]);
  let runs = 0;
  const t0 = performance.now();
  while (runs < 20 || (performance.now() - t0 < 1000 && runs < 500)) {
    await session.run(batch, [outputOf(matrix)]);
    runs++;
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    batch1: { runs: times.length, p50Ms: quantile(times, 0.5), p95Ms: quantile(times, 0.95), p99Ms: quantile(times, 0.99) },
    batch1024: { runs, rowsPerSecond: (runs * batchRows) / seconds },
  };
}
