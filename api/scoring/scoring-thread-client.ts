import type { ExecutionProviders, LoadedSession, SessionLoader } from '../../domain/scoring/execution-providers.ts';
import type { ExecutionProvider } from '../../shared/config.ts';
import { RequestThread } from '../threads/request-thread.ts';
import type { FeatureRows } from './micro-batcher.ts';
import { SEPARATOR, type ScoringRequest, type ScoringResponse } from './scoring-thread-protocol.ts';
import { SluiceError } from '../../shared/errors.ts';

export class ScoringThreadError extends SluiceError {
  override readonly name = 'ScoringThreadError';
  readonly kind = 'Internal';
}

/** A model session on the scoring thread, as the runtime uses it. */
export interface ScoringSession {
  /** The graph's outputs, so a loader can refuse a model that lacks the one its kind needs. */
  readonly outputNames: readonly string[];
  /** One run: the shape's `output`, row-major. */
  run(features: FeatureRows): Promise<Float32Array>;
  release(): Promise<void>;
}

/** What a serving session needs besides the model bytes: how many numeric and categorical inputs a row has, and which output to read. */
export interface SessionShape {
  kNum: number;
  kCat: number;
  /** The graph output of the model's label kind (`OUTPUT_OF_KIND`). */
  output: string;
}

/** Where serving sessions are created and run: the scoring thread, or the event loop's own thread. */
export type SessionFactory = SessionLoader<ScoringSession, SessionShape>;

/** The API's execution providers, over whichever `SessionFactory` it runs models on. */
export type ServingProviders = ExecutionProviders<ScoringSession, SessionShape>;

interface LiveSession {
  model: Uint8Array;
  provider: ExecutionProvider;
  output: string;
}

/**
 * The main thread's handle on the scoring thread (`scoring-thread.ts`). The thread starts on first
 * use; if it dies, what was waiting fails, and the next use starts a new thread and loads every live
 * session into it again (from the bytes kept here), so one crash costs the requests in flight, not
 * the models (`RequestThread` does the starting and failing).
 */
export class ScoringThread implements SessionFactory {
  private nextSession = 1;
  private readonly live = new Map<number, LiveSession>();
  // A new thread after a crash loads the sessions in use again before anything else reaches it.
  private readonly thread = new RequestThread<ScoringRequest, ScoringResponse>(
    new URL('./scoring-thread.ts', import.meta.url),
    (message) => new ScoringThreadError(`the scoring thread failed: ${message}`),
    () => {
      for (const [session, { model, provider, output }] of this.live) {
        this.thread.request((id) => ({ type: 'create', id, session, model, providers: [provider], intraOpThreads: this.intraOpThreads, output })).catch(() => undefined);
      }
    },
  );

  constructor(private readonly intraOpThreads: number) {}

  async load(model: Uint8Array, providers: ExecutionProvider[], { kNum, kCat, output }: SessionShape): Promise<LoadedSession<ScoringSession>> {
    const session = this.nextSession++;
    const response = await this.thread.request((id) => ({ type: 'create', id, session, model, providers, intraOpThreads: this.intraOpThreads, output }));
    if ('error' in response) return { ok: false, failures: 'failures' in response ? response.failures : [] };
    if (!('provider' in response)) throw new ScoringThreadError('the scoring thread answered a create with no provider');
    this.live.set(session, { model, provider: response.provider, output });
    const handle: ScoringSession = {
      outputNames: response.outputNames,
      run: (features) => this.run(session, features, kNum, kCat),
      release: async () => {
        if (!this.live.delete(session)) return;
        this.thread.post({ type: 'release', session });
      },
    };
    return { ok: true, provider: response.provider, failures: response.failures, session: handle };
  }

  private async run(session: number, { rows, numeric, categorical }: FeatureRows, kNum: number, kCat: number): Promise<Float32Array> {
    // The prediction log still reads the features after scoring, so the thread gets copies: the
    // numbers as a transferred copy, the categories as one joined string, which is one memcpy to
    // post where an array of strings is serialized value by value.
    const copy = numeric?.slice();
    const joined = categorical && !categorical.some((value) => value.includes(SEPARATOR)) ? categorical.join(SEPARATOR) : undefined;
    const response = await this.thread.request(
      (id) => ({ type: 'run', id, session, rows, kNum, kCat, numeric: copy, categorical: joined ?? categorical }),
      copy ? [copy.buffer] : [],
    );
    if ('scores' in response) return response.scores;
    throw new ScoringThreadError(`model run failed: ${'error' in response ? response.error : 'no scores'}`);
  }

  async close(): Promise<void> {
    this.live.clear();
    await this.thread.close();
  }
}
