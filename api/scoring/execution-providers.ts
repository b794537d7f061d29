import { InferenceSession, env as ortEnv } from 'onnxruntime-node';
import type { ExecutionProvider } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';

export class ModelSessionError extends Error {
  override readonly name = 'ModelSessionError';
}

/**
 * Creates ONNX Runtime sessions on the first configured execution provider that works. A provider
 * counts as unavailable only when a later one then loads the same model, so a broken model is not
 * mistaken for a missing GPU; once unavailable it is not tried again, and it is reported (one
 * warning, `/readyz`, metrics) instead of failing every load.
 */
export class ExecutionProviders {
  private readonly unavailable = new Map<ExecutionProvider, string>();
  private readonly inUse = new Map<ExecutionProvider, number>();

  constructor(
    private readonly preferences: readonly ExecutionProvider[],
    private readonly intraOpThreads: number,
    private readonly log: Logger,
  ) {
    // ONNX Runtime prints its own error line when a provider library is missing; the warning below
    // says it once, in our log format. Must be set before the first session is created.
    ortEnv.logLevel = 'fatal';
  }

  async createSession(model: Uint8Array, what: string): Promise<{ session: InferenceSession; provider: ExecutionProvider }> {
    const failures: { provider: ExecutionProvider; message: string }[] = [];
    for (const provider of this.preferences) {
      if (this.unavailable.has(provider)) continue;
      try {
        const session = await InferenceSession.create(model, {
          executionProviders: [provider],
          intraOpNumThreads: this.intraOpThreads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
        });
        for (const failed of failures) this.markUnavailable(failed.provider, failed.message);
        return { session, provider };
      } catch (err) {
        failures.push({ provider, message: (err as Error).message });
      }
    }
    throw new ModelSessionError(`${what}: no execution provider could load the model (${failures.map((f) => `${f.provider}: ${f.message}`).join('; ') || 'every configured provider is unavailable'})`);
  }

  private markUnavailable(provider: ExecutionProvider, reason: string): void {
    this.unavailable.set(provider, reason);
    this.log.warn('execution provider unavailable; using the next configured one', { provider, reason, preferences: this.preferences });
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
}
