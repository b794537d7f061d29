import { Worker } from 'node:worker_threads';
import type { PredictionFailureBatch } from './failure-batch.ts';
import { type PredictionLogBatch, transferables } from './log-batch.ts';
import type { WriteRequest, WriteResponse } from './parquet-worker.ts';

export class ParquetWriteError extends Error {
  override readonly name = 'ParquetWriteError';
}

/**
 * The main thread's handle on the Parquet writer thread. The thread is started on first use and
 * again after a crash. sluice runs its TypeScript through tsx, and a worker thread does not inherit
 * the loader, so the thread first registers tsx and then imports its module.
 */
export class ParquetWriter {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (path: string) => void; reject: (err: Error) => void }>();

  constructor(private readonly dir: string) {}

  /** Writes the batch to a Parquet file; its typed arrays move to the writer thread and are unusable here afterwards. */
  write(batch: PredictionLogBatch): Promise<string> {
    return this.send((id) => ({ id, dir: this.dir, batch }), transferables(batch));
  }

  /** Writes failed predictions to a Parquet file of their own. */
  writeFailures(failures: PredictionFailureBatch): Promise<string> {
    return this.send((id) => ({ id, dir: this.dir, failures }), []);
  }

  private send(request: (id: number) => WriteRequest, transfer: ArrayBuffer[]): Promise<string> {
    const worker = this.start();
    const id = this.nextId++;
    // Referenced only while a write is outstanding: an idle writer must not keep the process alive,
    // and a pending one (the last flush at shutdown) must.
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(request(id), transfer);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const entry = new URL('./parquet-worker.ts', import.meta.url).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const worker = new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
    worker.on('message', (response: WriteResponse) => {
      const waiting = this.pending.get(response.id);
      if (!waiting) return;
      this.pending.delete(response.id);
      if (this.pending.size === 0) worker.unref();
      if ('path' in response) waiting.resolve(response.path);
      else waiting.reject(new ParquetWriteError(response.error));
    });
    const fail = (err: Error) => {
      this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(new ParquetWriteError(`prediction log writer thread failed: ${err.message}`));
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.worker === worker) fail(new Error(`exited with code ${code}`));
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
