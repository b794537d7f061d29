import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { CATEGORICAL_INPUT, NUMERIC_INPUT, PROBABILITY_OUTPUT } from '../../shared/model-graph.ts';
import { SluiceError } from '../../shared/errors.ts';
import type { FeatureRows } from './micro-batcher.ts';

/** Serving sessions run on one inter-op thread: the scoring thread or the event loop is the parallelism. */
export const servingThreads = (intraOpThreads: number) => ({ intraOpNumThreads: intraOpThreads, interOpNumThreads: 1 });

export class ModelOutputError extends SluiceError {
  override readonly name = 'ModelOutputError';
  readonly kind = 'Internal';
}

/**
 * One model run, wherever the session lives: `kNum` numeric and `kCat` categorical inputs per row in,
 * the graph's `output` out, row-major (one value per row, or one per class for `probabilities`).
 */
export async function runOnnx(session: InferenceSession, { rows, numeric, categorical }: FeatureRows, kNum: number, kCat: number, output: string = PROBABILITY_OUTPUT): Promise<Float32Array> {
  const feeds: Record<string, Tensor> = {};
  if (numeric) feeds[NUMERIC_INPUT] = new Tensor('float32', numeric, [rows, kNum]);
  if (categorical) feeds[CATEGORICAL_INPUT] = new Tensor('string', categorical, [rows, kCat]);
  const data = (await session.run(feeds, [output]))[output]?.data;
  if (!(data instanceof Float32Array)) throw new ModelOutputError(`the model has no float32 output "${output}" (its outputs: ${session.outputNames.join(', ')})`);
  return data;
}
