import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { DuckDBInstance } from '@duckdb/node-api';
import type { PredictionLogBatch } from './log-batch.ts';

/**
 * The prediction log's Parquet writer, on its own thread: appending rows to DuckDB costs a few
 * microseconds per row, which on the API's event loop would come straight out of request handling.
 * Receives `{ id, dir, batch }`, answers `{ id, path }` or `{ id, error }`.
 */

export interface WriteRequest {
  id: number;
  dir: string;
  batch: PredictionLogBatch;
}
export type WriteResponse = { id: number; path: string } | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error('parquet-worker.ts runs as a worker thread');

const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const db = await instance.connect();

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

async function write({ id, dir, batch }: WriteRequest): Promise<string> {
  const { numeric, categorical } = batch.featureNames;
  const kNum = numeric.length;
  const kCat = categorical.length;
  const featureColumns = [...numeric.map((_, j) => `n${j} FLOAT`), ...categorical.map((_, j) => `c${j} VARCHAR`)];
  await db.run(
    `CREATE OR REPLACE TEMP TABLE log_rows (request_id VARCHAR, event_index INTEGER, at_ms DOUBLE, route VARCHAR, routing_key VARCHAR, score FLOAT, latency_ms DOUBLE${featureColumns.map((c) => `, ${c}`).join('')})`,
  );
  const appender = await db.createAppender('log_rows', 'main', 'temp');
  for (const entry of batch.entries) {
    for (let i = 0; i < entry.features.rows; i++) {
      appender.appendVarchar(entry.requestId);
      appender.appendInteger(i);
      appender.appendDouble(entry.at);
      appender.appendVarchar(entry.route);
      if (entry.routingKey === undefined) appender.appendNull();
      else appender.appendVarchar(entry.routingKey);
      appender.appendFloat(entry.scores[i] as number);
      appender.appendDouble(entry.latencyMs);
      for (let j = 0; j < kNum; j++) appender.appendFloat(entry.features.numeric?.[i * kNum + j] as number);
      for (let j = 0; j < kCat; j++) appender.appendVarchar(entry.features.categorical?.[i * kCat + j] as string);
      appender.endRow();
    }
  }
  appender.flushSync();
  appender.closeSync();
  // Missing values become NULL in the file: NaN numerics and '' categoricals are only the graph's encoding.
  const fields = [
    ...numeric.map((name, j) => `${literal(name)}: CASE WHEN isnan(n${j}) THEN NULL ELSE n${j} END`),
    ...categorical.map((name, j) => `${literal(name)}: nullif(c${j}, '')`),
  ];
  const path = join(dir, `log-${process.pid}-${id}.parquet`);
  await db.run(`COPY (
    SELECT request_id, event_index, epoch_ms(CAST(at_ms AS BIGINT)) AS predicted_at,
           ${literal(batch.model)} AS model, ${batch.version}::INTEGER AS model_version, route, routing_key,
           score, ${batch.threshold}::FLOAT AS threshold, score >= ${batch.threshold}::FLOAT AS label, latency_ms,
           ${fields.length > 0 ? `{${fields.join(', ')}}` : 'NULL'} AS features
    FROM log_rows
  ) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`);
  await db.run('DROP TABLE log_rows');
  return path;
}

// One write at a time: they share the connection and its temp table.
let queue: Promise<unknown> = Promise.resolve();
port.on('message', (request: WriteRequest) => {
  queue = queue.then(() => write(request)).then(
    (path) => port.postMessage({ id: request.id, path } satisfies WriteResponse),
    (err: unknown) => port.postMessage({ id: request.id, error: (err as Error).message } satisfies WriteResponse),
  );
});
