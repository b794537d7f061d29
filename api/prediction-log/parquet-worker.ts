import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import {
  DuckDBDataChunk,
  DuckDBDoubleType,
  DuckDBFloatType,
  DuckDBInstance,
  DuckDBIntegerType,
  type DuckDBType,
  DuckDBVarCharType,
  type DuckDBVector,
} from '@duckdb/node-api';
import { PREDICTION_ROUTES } from '../../shared/api/prediction-log.ts';
import type { PredictionFailureBatch } from './failure-batch.ts';
import { type PredictionLogBatch, stringsOf } from './log-batch.ts';

/**
 * The prediction log's Parquet writer, on its own thread so that loading rows into DuckDB never
 * takes time from requests. Rows go in as data chunks (typed vectors, not one call per value) into
 * two temp tables, per-request fields once per request and per-event fields once per event, with
 * categorical values dictionary-coded; one COPY joins them into the Parquet file.
 * Receives `{ id, dir, batch }` (served predictions) or `{ id, dir, failures }` (failed ones),
 * answers `{ id, path }` or `{ id, error }`.
 */

export type WriteRequest = { id: number; dir: string } & ({ batch: PredictionLogBatch } | { failures: PredictionFailureBatch });
export type WriteResponse = { id: number; path: string } | { id: number; error: string };

const port = parentPort;
if (!port) throw new Error('parquet-worker.ts runs as a worker thread');

const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const db = await instance.connect();

/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;
const INTEGER = DuckDBIntegerType.instance;
const FLOAT = DuckDBFloatType.instance;
const DOUBLE = DuckDBDoubleType.instance;
const VARCHAR = DuckDBVarCharType.instance;

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

type Fill = (vector: DuckDBVector, from: number, n: number) => void;

/** Creates `table` with `columns` and loads `count` rows, each column filled by its function, one chunk at a time. */
async function load(table: string, columns: { name: string; type: DuckDBType; sql: string; fill: Fill }[], count: number): Promise<void> {
  await db.run(`CREATE OR REPLACE TEMP TABLE ${table} (${columns.map((c) => `${c.name} ${c.sql}`).join(', ')})`);
  const appender = await db.createAppender(table, 'main', 'temp');
  const types = columns.map((c) => c.type);
  for (let from = 0; from < count; from += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, count - from);
    const chunk = DuckDBDataChunk.create(types, n);
    columns.forEach((column, j) => {
      const vector = chunk.getColumnVector(j);
      column.fill(vector, from, n);
      vector.flush();
    });
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();
}

const fromArray =
  (values: ArrayLike<number | string | null>): Fill =>
  (vector, from, n) => {
    for (let i = 0; i < n; i++) vector.setItem(i, values[from + i] ?? null);
  };

async function writeFailures(id: number, dir: string, batch: PredictionFailureBatch): Promise<string> {
  const { failures } = batch;
  const column = <T>(pick: (f: (typeof failures)[number]) => T) => failures.map(pick);
  await load(
    'failures',
    [
      { name: 'request_id', type: VARCHAR, sql: 'VARCHAR', fill: fromArray(column((f) => f.requestId)) },
      { name: 'routing_key', type: VARCHAR, sql: 'VARCHAR', fill: fromArray(column((f) => f.routingKey ?? null)) },
      { name: 'route', type: VARCHAR, sql: 'VARCHAR', fill: fromArray(column((f) => f.route)) },
      { name: 'at_ms', type: DOUBLE, sql: 'DOUBLE', fill: fromArray(column((f) => f.at)) },
      { name: 'events', type: INTEGER, sql: 'INTEGER', fill: fromArray(column((f) => f.events)) },
      { name: 'error', type: VARCHAR, sql: 'VARCHAR', fill: fromArray(column((f) => f.error)) },
      { name: 'latency_ms', type: DOUBLE, sql: 'DOUBLE', fill: fromArray(column((f) => f.latencyMs)) },
    ],
    failures.length,
  );
  const path = join(dir, `failures-${process.pid}-${id}.parquet`);
  await db.run(`COPY (
    SELECT request_id, epoch_ms(CAST(at_ms AS BIGINT)) AS failed_at, ${literal(batch.model)} AS model, ${batch.version}::INTEGER AS model_version,
           route, routing_key, events, error, latency_ms
    FROM failures ORDER BY at_ms
  ) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`);
  return path;
}

async function write(request: WriteRequest): Promise<string> {
  if ('failures' in request) return writeFailures(request.id, request.dir, request.failures);
  const { id, dir, batch } = request;
  const { numeric, categorical } = batch.featureNames;
  const kNum = numeric.length;
  const kCat = categorical.length;
  const { entries, rows } = batch;
  const requestIds = stringsOf(entries.requestIds);
  const routingKeys = stringsOf(entries.routingKeys);
  const categoricalValues = stringsOf(rows.categorical);

  await load(
    'log_entries',
    [
      { name: 'entry', type: INTEGER, sql: 'INTEGER', fill: (v, from, n) => { for (let i = 0; i < n; i++) v.setItem(i, from + i); } },
      { name: 'request_id', type: VARCHAR, sql: 'VARCHAR', fill: fromArray(requestIds) },
      { name: 'routing_key', type: VARCHAR, sql: 'VARCHAR', fill: fromArray(routingKeys) },
      { name: 'route', type: INTEGER, sql: 'INTEGER', fill: fromArray(entries.routes) },
      { name: 'at_ms', type: DOUBLE, sql: 'DOUBLE', fill: fromArray(entries.at) },
      { name: 'latency_ms', type: DOUBLE, sql: 'DOUBLE', fill: fromArray(entries.latencyMs) },
    ],
    entries.count,
  );

  // Which entry each row belongs to, and its index within the entry's events.
  const entryOf = new Int32Array(rows.count);
  const indexOf = new Int32Array(rows.count);
  for (let e = 0, r = 0; e < entries.count; e++) {
    const n = entries.rows[e] as number;
    for (let i = 0; i < n; i++, r++) {
      entryOf[r] = e;
      indexOf[r] = i;
    }
  }
  // Categorical values become codes into a per-column dictionary: strings are loaded once per distinct value.
  const dictionaries = categorical.map(() => new Map<string, number>());
  const codes = categorical.map(() => new Int32Array(rows.count));
  for (let r = 0; r < rows.count; r++) {
    for (let j = 0; j < kCat; j++) {
      const value = categoricalValues[r * kCat + j] ?? '';
      const dictionary = dictionaries[j] as Map<string, number>;
      let code = dictionary.get(value);
      if (code === undefined) {
        code = dictionary.size;
        dictionary.set(value, code);
      }
      (codes[j] as Int32Array)[r] = code;
    }
  }
  await load(
    'log_rows',
    [
      { name: 'entry', type: INTEGER, sql: 'INTEGER', fill: fromArray(entryOf) },
      { name: 'event_index', type: INTEGER, sql: 'INTEGER', fill: fromArray(indexOf) },
      { name: 'score', type: FLOAT, sql: 'FLOAT', fill: fromArray(rows.scores) },
      ...numeric.map((_, j) => ({
        name: `n${j}`,
        type: FLOAT,
        sql: 'FLOAT',
        fill: ((v, from, n) => {
          for (let i = 0; i < n; i++) v.setItem(i, rows.numeric[(from + i) * kNum + j] ?? null);
        }) satisfies Fill,
      })),
      ...categorical.map((_, j) => ({ name: `c${j}`, type: INTEGER, sql: 'INTEGER', fill: fromArray(codes[j] as Int32Array) })),
    ],
    rows.count,
  );
  for (const [j, dictionary] of dictionaries.entries()) {
    const values = [...dictionary.keys()];
    await load(
      `dict_c${j}`,
      [
        { name: 'code', type: INTEGER, sql: 'INTEGER', fill: (v, from, n) => { for (let i = 0; i < n; i++) v.setItem(i, from + i); } },
        { name: 'value', type: VARCHAR, sql: 'VARCHAR', fill: fromArray(values) },
      ],
      values.length,
    );
  }

  // Missing values become NULL in the file: NaN numerics and '' categoricals are only the graph's encoding.
  const fields = [
    ...numeric.map((name, j) => `${literal(name)}: CASE WHEN isnan(r.n${j}) THEN NULL ELSE r.n${j} END`),
    ...categorical.map((name, j) => `${literal(name)}: nullif(d${j}.value, '')`),
  ];
  const path = join(dir, `log-${process.pid}-${id}.parquet`);
  await db.run(`COPY (
    SELECT e.request_id, r.event_index, epoch_ms(CAST(e.at_ms AS BIGINT)) AS predicted_at,
           ${literal(batch.model)} AS model, ${batch.version}::INTEGER AS model_version,
           [${PREDICTION_ROUTES.map(literal).join(', ')}][e.route + 1] AS route, e.routing_key,
           r.score, ${batch.threshold}::FLOAT AS threshold, r.score >= ${batch.threshold}::FLOAT AS label, e.latency_ms,
           ${fields.length > 0 ? `{${fields.join(', ')}}` : 'NULL'} AS features
    FROM log_rows r JOIN log_entries e ON e.entry = r.entry
    ${categorical.map((_, j) => `LEFT JOIN dict_c${j} d${j} ON d${j}.code = r.c${j}`).join('\n    ')}
    ORDER BY r.entry, r.event_index
  ) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`);
  return path;
}

// One write at a time: they share the connection and its temp tables.
let queue: Promise<unknown> = Promise.resolve();
port.on('message', (request: WriteRequest) => {
  queue = queue.then(() => write(request)).then(
    (path) => port.postMessage({ id: request.id, path } satisfies WriteResponse),
    (err: unknown) => port.postMessage({ id: request.id, error: (err as Error).message } satisfies WriteResponse),
  );
});
