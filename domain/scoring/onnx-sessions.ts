import { InferenceSession, env as ortEnv } from 'onnxruntime-node';

export type ScoringProvider = 'cuda' | 'cpu';

export interface ProviderChoice {
  session: InferenceSession;
  provider: ScoringProvider;
}

/**
 * ONNX Runtime sessions on the best available provider: CUDA first, then CPU. CUDA counts as
 * unavailable only when CPU then loads the same model, so a broken model is not mistaken for a
 * missing GPU; after that CUDA is not tried again and `warn` is called once.
 */
export class ScoringSessions {
  private cudaFailure: string | undefined;
  private active: ScoringProvider | undefined;
  constructor(
    private readonly preferences: readonly ScoringProvider[],
    private readonly warn: (message: string, details: Record<string, unknown>) => void,
    private readonly threads = 0,
    /** Called when the provider models load on is first known or changes. */
    private readonly onProvider: (provider: ScoringProvider) => void = () => {},
  ) {
    ortEnv.logLevel = 'fatal';
  }

  async create(model: Uint8Array): Promise<ProviderChoice> {
    const failures: string[] = [];
    for (const provider of this.preferences) {
      if (provider === 'cuda' && this.cudaFailure !== undefined) continue;
      try {
        const session = await InferenceSession.create(model, { executionProviders: [provider], intraOpNumThreads: this.threads, graphOptimizationLevel: 'all' });
        if (failures.length && this.cudaFailure === undefined && provider !== 'cuda') {
          this.cudaFailure = failures.join('; ');
          this.warn('CUDA execution provider unavailable; scoring on CPU', { reason: this.cudaFailure });
        }
        if (this.active !== provider) {
          this.active = provider;
          this.onProvider(provider);
        }
        return { session, provider };
      } catch (err) {
        failures.push(`${provider}: ${(err as Error).message}`);
      }
    }
    throw new Error(`No execution provider could load the model (${failures.join('; ')})`);
  }

  report(): { preferences: readonly ScoringProvider[]; active: ScoringProvider | null; cudaUnavailable: string | null } {
    return { preferences: this.preferences, active: this.active ?? null, cudaUnavailable: this.cudaFailure ?? null };
  }
}
