import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../shared/errors.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';

/**
 * Copies a dataset source to a local file while hashing it, in one streaming pass: the bytes are
 * never all in memory, and the hash is of exactly the bytes DuckDB will read (a local file that
 * changes afterwards cannot make the two disagree).
 */

export type SourceLocation =
  | { kind: 'local'; path: string }
  | { kind: 'http'; url: URL }
  | { kind: 's3'; bucket: string; key: string };

export function locateSource(source: string): SourceLocation {
  if (source.startsWith('s3://')) {
    const rest = source.slice('s3://'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) {
      throw ApplicationFailure.nonRetryable(`${source}: expected s3://bucket/key`, ErrorType.InvalidInput, { source });
    }
    return { kind: 's3', bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
  }
  if (/^https?:\/\//i.test(source)) {
    try {
      return { kind: 'http', url: new URL(source) };
    } catch {
      throw ApplicationFailure.nonRetryable(`${source}: not a valid URL`, ErrorType.InvalidInput, { source });
    }
  }
  if (source.startsWith('file://')) return { kind: 'local', path: fileURLToPath(source) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw ApplicationFailure.nonRetryable(`${source}: unsupported scheme; use a local path, http(s):// or s3://`, ErrorType.InvalidInput, { source });
  }
  return { kind: 'local', path: resolve(source) };
}

/** The source as it may be written down: URL credentials would leak into manifests, so they are removed. */
export function describeSource(source: string): string {
  const location = locateSource(source);
  if (location.kind !== 'http') return source;
  const url = new URL(location.url);
  url.username = '';
  url.password = '';
  return url.toString();
}

/** The file name part of a source, for format detection by extension. */
export function sourceFileName(location: SourceLocation): string {
  switch (location.kind) {
    case 'local':
      return basename(location.path);
    case 'http':
      return basename(decodeURIComponent(location.url.pathname));
    case 's3':
      return basename(location.key);
  }
}

export interface FetchedSource {
  sha256: string;
  sizeBytes: number;
}

const notFound = (source: string, why: string) => ApplicationFailure.nonRetryable(`${source}: ${why}`, ErrorType.SourceNotFound, { source });

async function openLocal(source: string, path: string): Promise<Readable> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw notFound(source, 'no such file');
    if (err.code === 'EACCES') throw notFound(source, 'permission denied');
    throw err;
  });
  if (!info.isFile()) throw notFound(source, 'not a regular file');
  return createReadStream(path);
}

async function openHttp(source: string, url: URL): Promise<Readable> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw ApplicationFailure.nonRetryable(`${describeSource(source)}: unreachable (${why})`, ErrorType.SourceUnreachable, { source: describeSource(source), reason: why });
  }
  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel();
    throw ApplicationFailure.nonRetryable(`${describeSource(source)}: HTTP ${response.status} ${response.statusText}`, ErrorType.SourceNotFound, {
      source: describeSource(source),
      status: response.status,
    });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw ApplicationFailure.nonRetryable(`${describeSource(source)}: HTTP ${response.status} ${response.statusText}`, ErrorType.SourceUnreachable, {
      source: describeSource(source),
      status: response.status,
    });
  }
  return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}

async function openS3(source: string, store: ArtifactStore, bucket: string, key: string): Promise<Readable> {
  const info = await store.stat(bucket, key).catch((err: { code?: string }) => {
    if (err.code === 'NoSuchBucket') throw notFound(source, 'no such bucket');
    throw err;
  });
  if (!info) throw notFound(source, 'no such object');
  return store.getStream(bucket, key);
}

/** `source` as a byte stream; a missing or unreachable source is a typed non-retryable failure naming it. */
export async function openSource(source: string, store: ArtifactStore): Promise<Readable> {
  const location = locateSource(source);
  return location.kind === 'local' ? openLocal(source, location.path) : location.kind === 'http' ? openHttp(source, location.url) : openS3(source, store, location.bucket, location.key);
}

/** Streams `source` into `destination`, hashing on the way; `onBytes` sees the running byte count. */
export async function fetchSource(source: string, destination: string, deps: { store: ArtifactStore; onBytes?: (bytes: number) => void }): Promise<FetchedSource> {
  const input = await openSource(source, deps.store);
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      deps.onBytes?.(sizeBytes);
      done(null, chunk);
    },
  });
  await pipeline(input, tap, createWriteStream(destination));
  return { sha256: hash.digest('hex'), sizeBytes };
}
