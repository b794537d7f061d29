import { createOnnxSession, type LoadedSession } from '../../domain/scoring/execution-providers.ts';
import type { ExecutionProvider } from '../../shared/config.ts';
import { runOnnx, servingThreads } from './run-onnx.ts';
import type { ScoringSession, SessionFactory, SessionShape } from './scoring-thread-client.ts';

/**
 * Sessions on the event loop's own thread (`SLUICE_SERVING_SCORING_THREAD=false`): for a process
 * limited to one core, where a scoring thread would only take turns with the event loop and add a
 * message round trip to every run.
 */
export class InProcessScoring implements SessionFactory {
  constructor(private readonly intraOpThreads: number) {}

  async load(model: Uint8Array, providers: ExecutionProvider[], { kNum, kCat, output }: SessionShape): Promise<LoadedSession<ScoringSession>> {
    const created = await createOnnxSession(model, providers, servingThreads(this.intraOpThreads));
    if (!created.ok) return created;
    const { session } = created;
    return { ...created, session: { outputNames: session.outputNames, run: (features) => runOnnx(session, features, kNum, kCat, output), release: () => session.release() } };
  }

  async close(): Promise<void> {}
}
