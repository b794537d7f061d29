import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { PredictionFailureBatch } from './failure-batch.ts';
import type { PredictionLogBatch } from './log-batch.ts';
import { failureLogFile, predictionLogFile } from './log-file.ts';
import type { PageCodec } from '../../formats/parquet/parquet-file.ts';

/**
 * The prediction log's Parquet writer, on its own thread so that encoding and compressing a batch
 * never takes time from requests on the event loop. Receives `{ id, dir, codec, batch }` (served
 * predictions) or `{ id, dir, codec, failures }` (failed ones), writes one file into `dir`, answers `{ id, path }` or
 * `{ id, error }`.
 */

export type WriteRequest = { id: number; dir: string; codec: PageCodec } & ({ batch: PredictionLogBatch } | { failures: PredictionFailureBatch });
export type WriteResponse = { id: number; path: string } | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error('parquet-worker.ts runs as a worker thread');

async function write(request: WriteRequest): Promise<string> {
  const failures = 'failures' in request;
  const path = join(request.dir, `${failures ? 'failures' : 'log'}-${process.pid}-${request.id}.parquet`);
  await writeFile(path, failures ? failureLogFile(request.failures, request.codec) : predictionLogFile(request.batch, request.codec));
  return path;
}

port.on('message', (request: WriteRequest) => {
  write(request).then(
    (path) => port.postMessage({ id: request.id, path } satisfies WriteResponse),
    (err: unknown) => port.postMessage({ id: request.id, error: (err as Error).message } satisfies WriteResponse),
  );
});
