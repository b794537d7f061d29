import { InferenceSession, env as ortEnv } from 'onnxruntime-node';
import type { ExecutionProvider } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { SluiceError } from '../../shared/errors.ts';

/**
 * Which ONNX Runtime execution provider models run on, for the prediction API and the batch-scoring
 * worker alike: the first configured provider that works (CUDA, then CPU), one warning when one is
 * not, and a report of what is in use. The API loads this module, so it imports neither DuckDB nor
 * training code.
 */

export type ProviderFailure = { provider: ExecutionProvider; message: string };

/** A session on the first of the providers tried that loaded the model, and every provider that failed before it. */
export type LoadedSession<S> = { ok: true; session: S; provider: ExecutionProvider; failures: ProviderFailure[] } | { ok: false; failures: ProviderFailure[] };

/** Where sessions are created: on this thread (`onnxSessionLoader`) or elsewhere (the API's scoring thread). `Shape` is what a load needs besides the bytes. */
export interface SessionLoader<S, Shape = void> {
  load(model: Uint8Array, providers: ExecutionProvider[], shape: Shape): Promise<LoadedSession<S>>;
  /** Frees whatever the loader holds (a thread, the sessions on it). */
  close(): Promise<void>;
}

export class ModelSessionError extends SluiceError {
  override readonly name = 'ModelSessionError';
  readonly kind = 'Internal';
}

// ONNX Runtime prints its own error line when a provider library is missing; ExecutionProviders warns once, in our format.
ortEnv.logLevel = 'fatal';

/** Sessions on this thread, trying `providers` in order. */
export async function createOnnxSession(
  model: Uint8Array,
  providers: readonly ExecutionProvider[],
  threads: { intraOpNumThreads: number; interOpNumThreads?: number },
): Promise<LoadedSession<InferenceSession>> {
  const failures: ProviderFailure[] = [];
  for (const provider of providers) {
    try {
      const session = await InferenceSession.create(model, { executionProviders: [provider], ...threads, graphOptimizationLevel: 'all' });
      return { ok: true, session, provider, failures };
    } catch (err) {
      failures.push({ provider, message: (err as Error).message });
    }
  }
  return { ok: false, failures };
}

/** A loader of plain `InferenceSession`s on this thread. */
export const onnxSessionLoader = (threads: { intraOpNumThreads: number; interOpNumThreads?: number }): SessionLoader<InferenceSession> => ({
  load: (model, providers) => createOnnxSession(model, providers, threads),
  close: async () => {},
});

/**
 * Creates sessions on the first configured execution provider that works. A provider counts as
 * unavailable only when a later one then loads the same model, so a broken model is not mistaken for
 * a missing GPU; once unavailable it is not tried again, and it is reported (one warning, the
 * report) instead of failing every load.
 */
export class ExecutionProviders<S, Shape = void> {
  private readonly unavailable = new Map<ExecutionProvider, string>();
  private readonly inUse = new Map<ExecutionProvider, number>();
  private latest: ExecutionProvider | undefined;

  constructor(
    private readonly preferences: readonly ExecutionProvider[],
    private readonly log: Logger,
    private readonly loader: SessionLoader<S, Shape>,
  ) {}

  /** A session for `model` (`what` names it in errors), on the first provider not known to be unavailable that loads it. */
  async createSession(model: Uint8Array, what: string, shape: Shape): Promise<{ session: S; provider: ExecutionProvider }> {
    const candidates = this.preferences.filter((p) => !this.unavailable.has(p));
    const created: LoadedSession<S> = candidates.length === 0 ? { ok: false, failures: [] } : await this.loader.load(model, candidates, shape);
    if (!created.ok) {
      throw new ModelSessionError(`${what}: no execution provider could load the model (${created.failures.map((f) => `${f.provider}: ${f.message}`).join('; ') || 'every configured provider is unavailable'})`);
    }
    for (const failed of created.failures) this.markUnavailable(failed.provider, failed.message);
    if (this.latest !== created.provider) {
      this.latest = created.provider;
      this.log.info('scoring execution provider', { provider: created.provider });
    }
    return { session: created.session, provider: created.provider };
  }

  /** Sessions count per provider, so reports say what loaded models actually run on. */
  track(provider: ExecutionProvider, delta: 1 | -1): void {
    this.inUse.set(provider, (this.inUse.get(provider) ?? 0) + delta);
  }

  report(): { preferences: readonly ExecutionProvider[]; active: ExecutionProvider[]; unavailable: Record<string, string> } {
    return {
      preferences: this.preferences,
      active: [...this.inUse].filter(([, n]) => n > 0).map(([p]) => p),
      unavailable: Object.fromEntries(this.unavailable),
    };
  }

  /** Closes the loader; sessions still held are freed with it where it holds them. */
  close(): Promise<void> {
    return this.loader.close();
  }

  private markUnavailable(provider: ExecutionProvider, reason: string): void {
    this.unavailable.set(provider, reason);
    this.log.warn(`${provider.toUpperCase()} execution provider unavailable; using the next configured one`, { provider, reason, preferences: this.preferences });
  }
}
