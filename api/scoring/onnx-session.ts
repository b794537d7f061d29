import { InferenceSession, Tensor, env as ortEnv } from 'onnxruntime-node';
import { CATEGORICAL_INPUT, NUMERIC_INPUT, PROBABILITY_OUTPUT } from '../../shared/model-graph.ts';
import type { ExecutionProvider } from '../../shared/config.ts';
import type { FeatureRows } from './micro-batcher.ts';

/**
 * ONNX Runtime as serving uses it, wherever the sessions live (the scoring thread or the event loop):
 * a session on the first provider that loads the model, and one run of the graph contract's inputs.
 */

export type ProviderFailure = { provider: ExecutionProvider; message: string };

// ONNX Runtime prints its own error line when a provider library is missing; ExecutionProviders warns once, in our format.
ortEnv.logLevel = 'fatal';

/** A session on the first of `providers` that loads `model`, and every provider that failed before it. */
export async function createOnnxSession(
  model: Uint8Array,
  providers: readonly ExecutionProvider[],
  intraOpThreads: number,
): Promise<{ session: InferenceSession; provider: ExecutionProvider; failures: ProviderFailure[] } | { session: undefined; failures: ProviderFailure[] }> {
  const failures: ProviderFailure[] = [];
  for (const provider of providers) {
    try {
      const session = await InferenceSession.create(model, { executionProviders: [provider], intraOpNumThreads: intraOpThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      return { session, provider, failures };
    } catch (err) {
      failures.push({ provider, message: (err as Error).message });
    }
  }
  return { session: undefined, failures };
}

/** One model run: `kNum` numeric and `kCat` categorical inputs per row in, one probability per row out. */
export async function runOnnx(session: InferenceSession, { rows, numeric, categorical }: FeatureRows, kNum: number, kCat: number): Promise<Float32Array> {
  const feeds: Record<string, Tensor> = {};
  if (numeric) feeds[NUMERIC_INPUT] = new Tensor('float32', numeric, [rows, kNum]);
  if (categorical) feeds[CATEGORICAL_INPUT] = new Tensor('string', categorical, [rows, kCat]);
  return (await session.run(feeds))[PROBABILITY_OUTPUT]?.data as Float32Array;
}
