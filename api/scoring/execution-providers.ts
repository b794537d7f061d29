import type { ExecutionProvider } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { InProcessScoring } from './in-process-scoring.ts';
import { type ScoringSession, ScoringThread, type SessionFactory } from './scoring-thread-client.ts';
import { SluiceError } from '../../shared/errors.ts';

export class ModelSessionError extends SluiceError {
  override readonly name = 'ModelSessionError';
  readonly kind = 'Internal';
}

/**
 * Creates ONNX Runtime sessions (on the scoring thread unless configured otherwise) on the first configured execution provider that works. A provider
 * counts as unavailable only when a later one then loads the same model, so a broken model is not
 * mistaken for a missing GPU; once unavailable it is not tried again, and it is reported (one
 * warning, `/readyz`, metrics) instead of failing every load.
 */
export class ExecutionProviders {
  private readonly unavailable = new Map<ExecutionProvider, string>();
  private readonly inUse = new Map<ExecutionProvider, number>();
  private readonly sessions: SessionFactory;

  constructor(
    private readonly preferences: readonly ExecutionProvider[],
    private readonly intraOpThreads: number,
    private readonly log: Logger,
    scoringThread = true,
  ) {
    this.sessions = scoringThread ? new ScoringThread() : new InProcessScoring();
  }

  /** A session for a model whose graph takes `shape.kNum` numeric and `shape.kCat` categorical inputs per row. */
  async createSession(model: Uint8Array, what: string, shape: { kNum: number; kCat: number }): Promise<{ session: ScoringSession; provider: ExecutionProvider }> {
    const candidates = this.preferences.filter((p) => !this.unavailable.has(p));
    const created = candidates.length === 0 ? { ok: false as const, failures: [] } : await this.sessions.createSession(model, candidates, this.intraOpThreads, shape.kNum, shape.kCat);
    if (created.ok) {
      for (const failed of created.failures) this.markUnavailable(failed.provider, failed.message);
      return { session: created.session, provider: created.provider };
    }
    throw new ModelSessionError(`${what}: no execution provider could load the model (${created.failures.map((f) => `${f.provider}: ${f.message}`).join('; ') || 'every configured provider is unavailable'})`);
  }

  /** Stops the scoring thread, if there is one; sessions still held are freed with it. */
  close(): Promise<void> {
    return this.sessions.close();
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
