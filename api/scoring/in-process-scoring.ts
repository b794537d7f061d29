import { InferenceSession, Tensor, env as ortEnv } from 'onnxruntime-node';
import { CATEGORICAL_INPUT, NUMERIC_INPUT, PROBABILITY_OUTPUT } from '../../activities/training/onnx/sluice-graph.ts';
import type { ExecutionProvider } from '../../shared/config.ts';
import type { CreatedSession, SessionFactory } from './scoring-thread-client.ts';

/**
 * Sessions on the event loop's own thread (`SLUICE_SERVING_SCORING_THREAD=false`): for a process
 * limited to one core, where a scoring thread would only take turns with the event loop and add a
 * message round trip to every run.
 */
export class InProcessScoring implements SessionFactory {
  constructor() {
    // ONNX Runtime prints its own error line when a provider library is missing; ExecutionProviders warns once, in our format.
    ortEnv.logLevel = 'fatal';
  }

  async createSession(model: Uint8Array, providers: ExecutionProvider[], intraOpThreads: number, kNum: number, kCat: number): Promise<CreatedSession> {
    const failures: { provider: ExecutionProvider; message: string }[] = [];
    for (const provider of providers) {
      let session: InferenceSession;
      try {
        session = await InferenceSession.create(model, { executionProviders: [provider], intraOpNumThreads: intraOpThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      } catch (err) {
        failures.push({ provider, message: (err as Error).message });
        continue;
      }
      return {
        ok: true,
        provider,
        failures,
        session: {
          async run({ rows, numeric, categorical }) {
            const feeds: Record<string, Tensor> = {};
            if (numeric) feeds[NUMERIC_INPUT] = new Tensor('float32', numeric, [rows, kNum]);
            if (categorical) feeds[CATEGORICAL_INPUT] = new Tensor('string', categorical, [rows, kCat]);
            return (await session.run(feeds))[PROBABILITY_OUTPUT]?.data as Float32Array;
          },
          release: () => session.release(),
        },
      };
    }
    return { ok: false, failures, error: 'no execution provider could load the model' };
  }

  async close(): Promise<void> {}
}
