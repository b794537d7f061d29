import { InferenceSession } from 'onnxruntime-node';
import { matrixKind, type FeatureMatrix } from './feature-matrix.ts';
import { featureFeeds } from '../scoring/feature-feeds.ts';
import { OUTPUT_OF_KIND } from '../../shared/model-graph.ts';
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

/**
 * The model's output for the matrix's label kind (`probability`, `value` or `probabilities`, row-major
 * [N, K]) against `expected`. Probabilities are compared absolutely; a regression value, in label
 * units of any scale, relative to max(1, |expected|), since float32 keeps ~7 significant digits.
 */
export async function verifyOnnxParity(
  onnxBytes: Uint8Array,
  matrix: FeatureMatrix,
  expected: Float64Array,
  tolerance = DEFAULT_PARITY_TOLERANCE,
): Promise<OnnxParityReport> {
  const kind = matrixKind(matrix);
  const output = OUTPUT_OF_KIND[kind];
  const width = matrix.task?.kind === 'multiclass' ? matrix.task.classes.length : 1;
  if (expected.length !== matrix.rows * width) {
    throw new RangeError(`expected has ${expected.length} scores for ${matrix.rows} rows of ${width}`);
  }
  const session = await InferenceSession.create(onnxBytes);
  let maxAbsDiff = 0;
  let worstRow = -1;
  try {
    for (let start = 0; start < matrix.rows; start += BATCH_ROWS) {
      const end = Math.min(matrix.rows, start + BATCH_ROWS);
      const result = await session.run(featureFeeds(matrix, start, end), [output]);
      const scores = result[output]?.data as Float32Array;
      for (let i = start * width; i < end * width; i++) {
        const want = expected[i] as number;
        const diff = Math.abs((scores[i - start * width] as number) - want) / (kind === 'regression' ? Math.max(1, Math.abs(want)) : 1);
        // A NaN on either side must fail the check, so it counts as an infinite difference.
        const d = Number.isNaN(diff) ? Infinity : diff;
        if (d > maxAbsDiff || worstRow < 0) {
          maxAbsDiff = d;
          worstRow = Math.floor(i / width);
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
