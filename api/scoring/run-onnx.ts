import { type InferenceSession, Tensor } from 'onnxruntime-node';
import { CATEGORICAL_INPUT, NUMERIC_INPUT, PROBABILITY_OUTPUT } from '../../shared/model-graph.ts';
import type { FeatureRows } from './micro-batcher.ts';

/** Serving sessions run on one inter-op thread: the scoring thread or the event loop is the parallelism. */
export const servingThreads = (intraOpThreads: number) => ({ intraOpNumThreads: intraOpThreads, interOpNumThreads: 1 });

/** One model run, wherever the session lives: `kNum` numeric and `kCat` categorical inputs per row in, one probability per row out. */
export async function runOnnx(session: InferenceSession, { rows, numeric, categorical }: FeatureRows, kNum: number, kCat: number): Promise<Float32Array> {
  const feeds: Record<string, Tensor> = {};
  if (numeric) feeds[NUMERIC_INPUT] = new Tensor('float32', numeric, [rows, kNum]);
  if (categorical) feeds[CATEGORICAL_INPUT] = new Tensor('string', categorical, [rows, kCat]);
  return (await session.run(feeds))[PROBABILITY_OUTPUT]?.data as Float32Array;
}
