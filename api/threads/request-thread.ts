import type { Worker } from 'node:worker_threads';
import { startTsThread } from '../../shared/ts-thread.ts';

type Waiting<Response> = { resolve: (response: Response) => void; reject: (err: Error) => void };

/**
 * A worker thread that answers requests by id: the API's scoring thread and its prediction log
 * writer. The thread starts on first use and again on the next use after it dies; a death fails the
 * requests waiting on it with `failure`. It keeps the process alive only while a request is
 * outstanding, so an idle thread never holds up shutdown and a last pending one (the final log
 * flush) does.
 */
export class RequestThread<Request, Response extends { id: number }> {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Waiting<Response>>();

  /** `onStart` runs on every new thread before any request reaches it (e.g. to load state again after a crash). */
  constructor(
    private readonly entry: URL,
    private readonly failure: (message: string) => Error,
    private readonly onStart?: () => void,
  ) {}

  /** Sends the request built with its id (moving `transfer`); resolves with the thread's answer. */
  request(message: (id: number) => Request, transfer: ArrayBuffer[] = []): Promise<Response> {
    const worker = this.start();
    const id = this.nextId++;
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(message(id), transfer);
    });
  }

  /** Posts a message that has no answer, to a running thread only. */
  post(message: Request): void {
    this.worker?.postMessage(message);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = startTsThread(this.entry);
    worker.on('message', (response: Response) => {
      const waiting = this.pending.get(response.id);
      if (!waiting) return;
      this.pending.delete(response.id);
      if (this.pending.size === 0) worker.unref();
      waiting.resolve(response);
    });
    // An error is followed by an exit: only the first one, and only for the current thread, fails what waits.
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(this.failure(err.message));
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    worker.unref();
    this.worker = worker;
    this.onStart?.();
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
