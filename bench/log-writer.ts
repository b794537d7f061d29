import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { LogBatchBuilder } from '../api/prediction-log/log-batch.ts';
import { predictionLogFile } from '../api/prediction-log/log-file.ts';
import { openDuckDb } from '../domain/duckdb/duckdb-session.ts';
import { buildFeatureTables } from '../domain/features/build-features.ts';
import { quoteString } from '../domain/features/expression/expression-sql.ts';
import { planFeatures } from '../domain/features/feature-sql.ts';
import type { PageCodec } from '../formats/parquet/parquet-file.ts';
import { featureSpecSchema } from '../shared/data/feature-spec.ts';
import { FLIGHTS_FEATURES } from '../test/unit/api/support/flights-model.ts';

/**
 * The API's prediction log writer (`predictionLogFile`, what the writer thread runs per flush) on
 * real flights: the model's features of every departure of 2001-06-08 computed by the feature build
 * from the week before, logged as the API logs them. For each page codec: µs per row to encode (and
 * compress) a file, bytes per row of the file, and a DuckDB read-back of every row's score and
 * features compared with the uncompressed file's. Shapes: a default flush (10,000 rows) of
 * single-event requests and of 100-event requests, and a small flush (200 single-event requests, a
 * quiet 10 s). Runnable alone: `npx tsx bench/log-writer.ts`; `bench:api` runs it first.
 */

const ROOT = resolve(import.meta.dirname, '..');
const FLIGHTS = join(ROOT, 'node_modules/vega-datasets/data/flights-3m.parquet');
const DAY = '2001-06-08';
const CODECS: PageCodec[] = [
  { codec: 'uncompressed' },
  { codec: 'gzip', level: 1 },
  { codec: 'gzip', level: 6 },
  { codec: 'brotli', level: 1 },
  { codec: 'brotli', level: 4 },
];
const SHAPES = [
  { name: '10k rows, 1 event/request', rows: 10_000, eventsPerRequest: 1 },
  { name: '10k rows, 100 events/request', rows: 10_000, eventsPerRequest: 100 },
  { name: '200 rows, 1 event/request', rows: 200, eventsPerRequest: 1 },
];
const round = (x: number, digits = 4) => Number(x.toPrecision(digits));
const codecName = (c: PageCodec) => (c.codec === 'uncompressed' ? c.codec : `${c.codec}-${c.level}`);

interface FlightRow {
  at: number;
  numeric: number[];
  categorical: string[];
}

async function realFeatureRows(dir: string): Promise<FlightRow[]> {
  using duck = await openDuckDb({ tempDirectory: dir });
  const spec = featureSpecSchema.parse(JSON.parse(readFileSync(join(ROOT, 'examples/flights/features.json'), 'utf8')));
  const source = `(SELECT * FROM read_parquet(${quoteString(FLIGHTS)}) WHERE date >= TIMESTAMP '2001-06-01' AND date < TIMESTAMP '${DAY}' + INTERVAL 1 DAY)`;
  const plan = planFeatures(spec, { date: 'TIMESTAMP', delay: 'BIGINT', distance: 'BIGINT', origin: 'VARCHAR', destination: 'VARCHAR' });
  await buildFeatureTables(duck.db, plan, source);
  const columns = [...FLIGHTS_FEATURES.numeric, ...FLIGHTS_FEATURES.categorical].map((n) => `"${n}"`).join(', ');
  const rows = (await duck.db.runAndReadAll(`SELECT epoch_ms(__t) AS t, ${columns} FROM __features WHERE __t >= TIMESTAMP '${DAY}' ORDER BY __row`)).getRowObjectsJS();
  return rows.map((row) => ({
    at: Number(row.t),
    numeric: FLIGHTS_FEATURES.numeric.map((n) => (row[n] === null ? NaN : Number(row[n]))),
    categorical: FLIGHTS_FEATURES.categorical.map((n) => (row[n] === null ? '' : (row[n] as string))),
  }));
}

/** One flush's batch: `rows` events in requests of `eventsPerRequest`, scores and latencies from a seeded generator (a model's scores carry no pattern a codec could use). */
function batchOf(flights: readonly FlightRow[], rows: number, eventsPerRequest: number) {
  let s = 12345;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const builder = new LogBatchBuilder({ model: 'flights-delay', version: 3, hour: '2001-06-08T12', threshold: 0.31, featureNames: FLIGHTS_FEATURES }, 0);
  const kNum = FLIGHTS_FEATURES.numeric.length;
  const kCat = FLIGHTS_FEATURES.categorical.length;
  for (let from = 0; from < rows; from += eventsPerRequest) {
    const events = Math.min(eventsPerRequest, rows - from);
    const numeric = new Float32Array(events * kNum);
    const categorical: string[] = [];
    for (let i = 0; i < events; i++) {
      const flight = flights[(from + i) % flights.length] as FlightRow;
      numeric.set(flight.numeric, i * kNum);
      categorical.push(...flight.categorical.slice(0, kCat));
    }
    builder.add({
      requestId: `${(from * 2654435761) >>> 0}-${from.toString(36)}-4f1c-9a0e-${Math.floor(next() * 2 ** 48).toString(16).padStart(12, '0')}`,
      routingKey: undefined,
      at: (flights[from % flights.length] as FlightRow).at,
      route: next() < 0.05 ? 'canary' : 'primary',
      latencyMs: 0.4 + next() * 3,
      features: { rows: events, numeric, categorical },
      scores: Float32Array.from({ length: events }, () => next()),
    });
  }
  return builder.seal();
}

export interface LogWriterResult {
  events: number;
  shapes: Record<string, Record<string, { usPerRow: number; bytesPerRow: number; sizeRatio: number }>>;
}

export async function benchLogWriter(log: (line: string) => void = console.log): Promise<LogWriterResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-log-writer-'));
  try {
    const flights = await realFeatureRows(dir);
    using duck = await openDuckDb({ tempDirectory: dir });
    const shapes: LogWriterResult['shapes'] = {};
    for (const shape of SHAPES) {
      const results: LogWriterResult['shapes'][string] = {};
      let expected: string | undefined;
      let plainBytes = 0;
      for (const codec of CODECS) {
        // A sealed batch moves to the writer thread; encoding only reads it, so one batch serves every run.
        const batch = batchOf(flights, shape.rows, shape.eventsPerRequest);
        const name = codecName(codec);
        let file = Buffer.concat(predictionLogFile(batch, codec));
        const runs = Math.max(5, Math.ceil(200_000 / shape.rows));
        const times: number[] = [];
        for (let r = 0; r < runs; r++) {
          const t0 = performance.now();
          file = Buffer.concat(predictionLogFile(batch, codec));
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        const path = join(dir, `${name}.parquet`);
        writeFileSync(path, file);
        // Every value read back must equal the uncompressed file's.
        const [read] = (await duck.db.runAndReadAll(`SELECT count(*)::INT AS n, md5(string_agg(request_id || event_index || score || features::VARCHAR || predicted_at, '|' ORDER BY request_id, event_index)) AS digest FROM read_parquet(${quoteString(path)})`)).getRowObjectsJS() as { n: number; digest: string }[];
        if (read?.n !== shape.rows) throw new Error(`${name}: DuckDB read ${read?.n} rows of ${shape.rows}`);
        expected ??= read.digest;
        if (read.digest !== expected) throw new Error(`${name}: DuckDB read back different values than from the uncompressed file`);
        if (codec.codec === 'uncompressed') plainBytes = file.length;
        results[name] = { usPerRow: round(((times[Math.floor(runs / 2)] as number) * 1000) / shape.rows), bytesPerRow: round(file.length / shape.rows), sizeRatio: round(file.length / plainBytes, 3) };
        const r = results[name];
        log(`log writer, ${shape.name.padEnd(28)} ${name.padEnd(12)} ${String(r.usPerRow).padStart(7)} µs/row ${String(r.bytesPerRow).padStart(7)} bytes/row  size ×${r.sizeRatio}`);
      }
      shapes[shape.name] = results;
    }
    return { events: flights.length, shapes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await benchLogWriter();
  console.log(JSON.stringify({ bench: 'log-writer', ...result, machine: { cpus: cpus().length, loadAverage1m: round(loadavg()[0] ?? NaN, 3) } }));
}
