import type { ExecutionProvider } from '../../shared/config.ts';
import { createOnnxSession, runOnnx } from './onnx-session.ts';
import type { CreatedSession, SessionFactory } from './scoring-thread-client.ts';

/**
 * Sessions on the event loop's own thread (`SLUICE_SERVING_SCORING_THREAD=false`): for a process
 * limited to one core, where a scoring thread would only take turns with the event loop and add a
 * message round trip to every run.
 */
export class InProcessScoring implements SessionFactory {
  async createSession(model: Uint8Array, providers: ExecutionProvider[], intraOpThreads: number, kNum: number, kCat: number): Promise<CreatedSession> {
    const created = await createOnnxSession(model, providers, intraOpThreads);
    const { session } = created;
    if (!session) return { ok: false, failures: created.failures, error: 'no execution provider could load the model' };
    return {
      ok: true,
      provider: created.provider,
      failures: created.failures,
      session: { run: (features) => runOnnx(session, features, kNum, kCat), release: () => session.release() },
    };
  }

  async close(): Promise<void> {}
}
