import { RequestThread } from '../threads/request-thread.ts';
import type { PredictionFailureBatch } from './failure-batch.ts';
import { type PredictionLogBatch, transferables } from './log-batch.ts';
import type { WriteRequest, WriteResponse } from './parquet-worker.ts';
import { SluiceError } from '../../shared/errors.ts';
import type { PageCodec } from '../../formats/parquet/parquet-file.ts';

export class ParquetWriteError extends SluiceError {
  override readonly name = 'ParquetWriteError';
  readonly kind = 'Internal';
}

/** The main thread's handle on the Parquet writer thread (`parquet-worker.ts`): one file per call, its path as the answer. */
export class ParquetWriter {
  private readonly thread = new RequestThread<WriteRequest, WriteResponse>(
    new URL('./parquet-worker.ts', import.meta.url),
    (message) => new ParquetWriteError(`prediction log writer thread failed: ${message}`),
  );

  constructor(
    private readonly dir: string,
    private readonly codec: PageCodec,
  ) {}

  /** Writes the batch to a Parquet file; its typed arrays move to the writer thread and are unusable here afterwards. */
  write(batch: PredictionLogBatch): Promise<string> {
    return this.send((id) => ({ id, dir: this.dir, codec: this.codec, batch }), transferables(batch));
  }

  /** Writes failed predictions to a Parquet file of their own. */
  writeFailures(failures: PredictionFailureBatch): Promise<string> {
    return this.send((id) => ({ id, dir: this.dir, codec: this.codec, failures }), []);
  }

  private async send(request: (id: number) => WriteRequest, transfer: ArrayBuffer[]): Promise<string> {
    const response = await this.thread.request(request, transfer);
    if ('path' in response) return response.path;
    throw new ParquetWriteError(response.error);
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}
