import { InferenceSession } from 'onnxruntime-node';
import type { FeatureMatrix } from './feature-matrix.ts';
import { featureFeeds } from '../scoring/feature-feeds.ts';
import { PROBABILITY_OUTPUT } from '../../shared/model-graph.ts';
import { SluiceError } from '../../shared/errors.ts';

/**
 * Proves an exported model scores like the trainer that made it: the bytes are loaded into
 * onnxruntime, the matrix is scored in batches and compared with the trainer's own predictions.
 */

export const DEFAULT_PARITY_TOLERANCE = 1e-5;
const BATCH_ROWS = 65_536;

export interface OnnxParityReport {
  maxAbsDiff: number;
  rows: number;
  /** Row of the largest difference (-1 for an empty matrix). */
  worstRow: number;
}

export class OnnxParityError extends SluiceError {
  override readonly name = 'OnnxParityError';
  readonly kind = 'OnnxParityMismatch';
  constructor(
    readonly report: OnnxParityReport,
    readonly tolerance: number,
  ) {
    super(`ONNX scores differ from the trainer's by up to ${report.maxAbsDiff} (row ${report.worstRow}); tolerance is ${tolerance}`, { details: report });
  }
}

export async function verifyOnnxParity(
  onnxBytes: Uint8Array,
  matrix: FeatureMatrix,
  expected: Float64Array,
  tolerance = DEFAULT_PARITY_TOLERANCE,
): Promise<OnnxParityReport> {
  if (expected.length !== matrix.rows) {
    throw new RangeError(`expected has ${expected.length} scores for ${matrix.rows} rows`);
  }
  const session = await InferenceSession.create(onnxBytes);
  let maxAbsDiff = 0;
  let worstRow = -1;
  try {
    for (let start = 0; start < matrix.rows; start += BATCH_ROWS) {
      const end = Math.min(matrix.rows, start + BATCH_ROWS);
      const output = await session.run(featureFeeds(matrix, start, end), [PROBABILITY_OUTPUT]);
      const scores = output[PROBABILITY_OUTPUT]?.data as Float32Array;
      for (let i = start; i < end; i++) {
        const diff = Math.abs((scores[i - start] as number) - (expected[i] as number));
        // A NaN on either side must fail the check, so it counts as an infinite difference.
        const d = Number.isNaN(diff) ? Infinity : diff;
        if (d > maxAbsDiff || worstRow < 0) {
          maxAbsDiff = d;
          worstRow = i;
        }
      }
    }
  } finally {
    await session.release();
  }
  const report = { maxAbsDiff, rows: matrix.rows, worstRow };
  if (maxAbsDiff > tolerance) throw new OnnxParityError(report, tolerance);
  return report;
}
