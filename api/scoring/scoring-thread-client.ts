import { Worker } from 'node:worker_threads';
import type { ExecutionProvider } from '../../shared/config.ts';
import type { FeatureRows } from './micro-batcher.ts';
import type { ProviderFailure } from './onnx-session.ts';
import { SEPARATOR, type ScoringRequest, type ScoringResponse } from './scoring-thread-protocol.ts';

export class ScoringThreadError extends Error {
  override readonly name = 'ScoringThreadError';
}

/** A model session on the scoring thread, as the runtime uses it. */
export interface ScoringSession {
  run(features: FeatureRows): Promise<Float32Array>;
  release(): Promise<void>;
}

export type CreatedSession = { ok: true; provider: ExecutionProvider; failures: ProviderFailure[]; session: ScoringSession } | { ok: false; failures: ProviderFailure[]; error: string };

/** Where model sessions are created and run: the scoring thread, or the event loop's own thread. */
export interface SessionFactory {
  /** Loads `model` on the first of `providers` that works; the answer names it and every provider that failed before it. */
  createSession(model: Uint8Array, providers: ExecutionProvider[], intraOpThreads: number, kNum: number, kCat: number): Promise<CreatedSession>;
  close(): Promise<void>;
}

interface LiveSession {
  model: Uint8Array;
  provider: ExecutionProvider;
  intraOpThreads: number;
}

type Waiting = { resolve: (response: ScoringResponse) => void; reject: (err: Error) => void };

/**
 * The main thread's handle on the scoring thread (`scoring-thread.ts`). The thread starts on first
 * use; if it dies, what was waiting fails, and the next use starts a new thread and loads every live
 * session into it again (from the bytes kept here), so one crash costs the requests in flight, not
 * the models. Like the prediction log's writer, the thread registers tsx before importing its module.
 */
export class ScoringThread implements SessionFactory {
  private worker: Worker | undefined;
  private nextSeq = 1;
  private nextSession = 1;
  private readonly pending = new Map<number, Waiting>();
  private readonly live = new Map<number, LiveSession>();

  async createSession(model: Uint8Array, providers: ExecutionProvider[], intraOpThreads: number, kNum: number, kCat: number): Promise<CreatedSession> {
    const session = this.nextSession++;
    const response = await this.request((seq) => ({ type: 'create', seq, session, model, providers, intraOpThreads }));
    if ('error' in response) return { ok: false, failures: 'failures' in response ? response.failures : [], error: response.error };
    if (!('provider' in response)) throw new ScoringThreadError('the scoring thread answered a create with no provider');
    this.live.set(session, { model, provider: response.provider, intraOpThreads });
    const handle: ScoringSession = {
      run: (features) => this.run(session, features, kNum, kCat),
      release: async () => {
        if (!this.live.delete(session)) return;
        this.worker?.postMessage({ type: 'release', session } satisfies ScoringRequest);
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
    const response = await this.request(
      (seq) => ({ type: 'run', seq, session, rows, kNum, kCat, numeric: copy, categorical: joined ?? categorical }),
      copy ? [copy.buffer] : [],
    );
    if ('scores' in response) return response.scores;
    throw new ScoringThreadError(`model run failed: ${'error' in response ? response.error : 'no scores'}`);
  }

  private request(message: (seq: number) => ScoringRequest, transfer: ArrayBuffer[] = []): Promise<ScoringResponse> {
    const worker = this.start();
    const seq = this.nextSeq++;
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.postMessage(message(seq), transfer);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const entry = new URL('./scoring-thread.ts', import.meta.url).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const worker = new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
    worker.on('message', (response: ScoringResponse) => {
      const waiting = this.pending.get(response.seq);
      if (!waiting) return;
      this.pending.delete(response.seq);
      if (this.pending.size === 0) worker.unref();
      waiting.resolve(response);
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(new ScoringThreadError(`the scoring thread failed: ${err.message}`));
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    worker.unref();
    this.worker = worker;
    // A new thread after a crash: load the sessions in use again before anything else reaches it.
    for (const [session, { model, provider, intraOpThreads }] of this.live) {
      const seq = this.nextSeq++;
      this.pending.set(seq, { resolve: () => undefined, reject: () => undefined });
      worker.postMessage({ type: 'create', seq, session, model, providers: [provider], intraOpThreads } satisfies ScoringRequest);
    }
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.live.clear();
    await worker?.terminate();
  }
}
