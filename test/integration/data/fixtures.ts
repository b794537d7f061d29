import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Config } from '../../../shared/config.ts';
import type { ArtifactStore } from '../../../domain/object-store/artifact-store.ts';

/**
 * Files the data tests ingest, written at test time with DuckDB (no binary fixtures in the repo), and
 * a bucket set of its own per test file so listings before and after an operation see only that
 * file's objects.
 */

export const FLIGHTS_PARQUET = resolve(import.meta.dirname, '../../../node_modules/vega-datasets/data/flights-3m.parquet');

export interface FixtureDir extends Disposable {
  dir: string;
  path(name: string): string;
  /** Runs SQL in a scratch DuckDB (for COPY ... TO this directory). */
  sql(statement: string): Promise<void>;
}

export function fixtureDir(): FixtureDir {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-data-test-'));
  return {
    dir,
    path: (name) => join(dir, name),
    async sql(statement) {
      const instance = await DuckDBInstance.create(':memory:');
      const db = await instance.connect();
      try {
        await db.run(`SET TimeZone = 'UTC'`);
        await db.run(statement);
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    },
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sqlPath = (path: string) => `'${path.replaceAll("'", "''")}'`;

/** The first `rows` flights, with an extra column when given, written as Parquet or CSV. */
export async function writeFlights(fixtures: FixtureDir, name: string, options: { rows: number; format: 'parquet' | 'csv'; where?: string }): Promise<string> {
  const path = fixtures.path(name);
  const format = options.format === 'csv' ? 'FORMAT csv, HEADER true' : 'FORMAT parquet';
  await fixtures.sql(`COPY (SELECT * FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) ${options.where ? `WHERE ${options.where}` : ''} LIMIT ${options.rows}) TO ${sqlPath(path)} (${format})`);
  return path;
}

/** A valid Parquet file cut short: the footer (and its PAR1 magic) is gone. */
export function truncate(source: string, destination: string, keepFraction = 0.5): string {
  const bytes = readFileSync(source);
  writeFileSync(destination, bytes.subarray(0, Math.floor(bytes.length * keepFraction)));
  return destination;
}

/** A valid Parquet file with 64 bytes flipped a third of the way in: footer intact, a data page not. */
export function damage(source: string, destination: string): string {
  const bytes = readFileSync(source);
  const at = Math.floor(bytes.length / 3);
  for (let i = at; i < at + 64; i++) bytes[i] = (bytes[i] as number) ^ 0x5a;
  writeFileSync(destination, bytes);
  return destination;
}

/** Fresh buckets for one test file, created in MinIO. */
export async function isolatedBuckets(store: ArtifactStore, label: string): Promise<Config['buckets']> {
  const suffix = `${label}-${randomBytes(3).toString('hex')}`;
  const buckets = {
    datasets: `t-datasets-${suffix}`,
    features: `t-features-${suffix}`,
    models: `t-models-${suffix}`,
    reports: `t-reports-${suffix}`,
    serving: `t-serving-${suffix}`,
    predictions: `t-predictions-${suffix}`,
  };
  for (const bucket of Object.values(buckets)) await store.ensureBucket(bucket);
  return buckets;
}

/** The SLUICE_BUCKET_* settings that point a config (or a CLI run) at `buckets`. */
export function bucketSettings(buckets: Config['buckets']): Record<string, string> {
  return {
    SLUICE_BUCKET_DATASETS: buckets.datasets,
    SLUICE_BUCKET_FEATURES: buckets.features,
    SLUICE_BUCKET_MODELS: buckets.models,
    SLUICE_BUCKET_REPORTS: buckets.reports,
    SLUICE_BUCKET_SERVING: buckets.serving,
    SLUICE_BUCKET_PREDICTIONS: buckets.predictions,
  };
}

/** Every object (key and etag) in the given buckets: compared before and after to prove nothing was written. */
export async function snapshotBuckets(store: ArtifactStore, buckets: Config['buckets']): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const bucket of Object.values(buckets)) out[bucket] = (await store.list(bucket, '')).map((o) => `${o.key} ${o.etag}`).sort();
  return out;
}

/** A local HTTP server over a directory: 200 for files in it, 404 otherwise, 500 for paths under /fail/. */
export async function serveDirectory(dir: string): Promise<{ url: (name: string) => string } & AsyncDisposable> {
  const server: Server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').slice(1));
    if (name.startsWith('fail/')) {
      res.writeHead(500).end('boom');
      return;
    }
    try {
      const body = readFileSync(join(dir, name));
      res.writeHead(200, { 'content-length': body.length }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: (name) => `http://127.0.0.1:${port}/${encodeURIComponent(name)}`,
    async [Symbol.asyncDispose]() {
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/**
 * Runs an activity in a mock activity context (no server needed), keeping its types; heartbeats are
 * collected, and the SDK's "Activity failed" warnings are silenced because tests assert on failures.
 */
export async function runActivity<I, O>(fn: (input: I) => Promise<O>, input: I, heartbeats: unknown[] = []): Promise<O> {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  return env.run<[I], O, (input: I) => Promise<O>>(fn, input);
}

/** Asserts that `promise` rejects with a non-retryable ApplicationFailure of `type`; returns it for more checks. */
export async function expectFailure(promise: Promise<unknown>, type: string): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof ApplicationFailure)) throw new Error(`expected ApplicationFailure ${type}, got ${String(err)}`, { cause: err });
    if (err.type !== type) throw new Error(`expected failure type ${type}, got ${err.type}: ${err.message}`, { cause: err });
    if (!err.nonRetryable) throw new Error(`expected ${type} to be non-retryable`);
    return err;
  }
  throw new Error(`expected ApplicationFailure ${type}, but it resolved`);
}
