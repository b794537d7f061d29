import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import picomatch from 'picomatch';
import type { Readable } from 'node:stream';
import { DEFAULT_PARTITION_GLOB, type DatasetPartition, type PartitionedSourceState, partitionedSourceStateSchema } from '../../shared/data/dataset.ts';
import { kindFailure } from '../../shared/failure.ts';
import { datasetKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { locateSource } from './source-fetch.ts';

/**
 * A source that grows: a local directory or an S3 prefix whose files matching a glob are the
 * dataset's partitions. Paths are relative to the folder with `/` separators, matched with picomatch
 * (Node's own `path.matchesGlob` is experimental in Node 20 and absent before 20.17). `*` does not
 * match a leading dot, so in-progress files such as `.part-0.parquet.tmp` are not listed. Values in hive-style paths (`date=2001-06-04/`) are not read
 * as columns: each file must carry every column itself, so the same bytes mean the same rows wherever
 * they sit.
 */

export type PartitionedLocation = { kind: 'local'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

export interface ListedPartition {
  path: string;
  sizeBytes: number;
  /** `mtime:<ms>` or `etag:<etag>`: with the path and size, what a later listing compares to trust a file unread. */
  stamp: string;
}

/** Where the partitions are, or undefined for a single-file source (a regular file, an s3 key, a URL). */
export async function partitionedLocation(source: string, glob: string | undefined): Promise<PartitionedLocation | undefined> {
  if (source.startsWith('s3://')) {
    const rest = source.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (glob === undefined && !(prefix === '' || prefix.endsWith('/'))) return undefined;
    if (!bucket) throw kindFailure('InvalidInput', `${source}: expected s3://bucket/prefix/`, { source });
    return { kind: 's3', bucket, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
  }
  const location = locateSource(source);
  if (location.kind !== 'local') return undefined;
  const info = await stat(location.path).catch(() => undefined);
  if (info?.isDirectory()) return { kind: 'local', dir: location.path };
  if (glob !== undefined) throw kindFailure('SourceNotFound', `${source}: ${info ? 'not a directory' : 'no such directory'}; partitions need a folder`, { source, glob });
  return undefined;
}

/** Identifies a partitioned source for its state object: where it is and what it matches. */
export function sourceId(location: PartitionedLocation, glob: string): string {
  const where = location.kind === 'local' ? `file://${location.dir}` : `s3://${location.bucket}/${location.prefix}`;
  return createHash('sha256').update(`${where}\n${glob}`).digest('hex');
}

export const globOf = (glob: string | undefined) => glob ?? DEFAULT_PARTITION_GLOB;

/** Every file matching `glob`, sorted by path; a glob that matches nothing is a SourceNotFound failure. */
export async function listPartitions(location: PartitionedLocation, glob: string, store: ArtifactStore, source: string): Promise<ListedPartition[]> {
  const matchesGlob = picomatch(glob);
  const listed: ListedPartition[] = [];
  if (location.kind === 'local') {
    const entries = await readdir(location.dir, { recursive: true });
    for (const entry of entries) {
      const path = entry.split(sep).join('/');
      if (!matchesGlob(path)) continue;
      // A file may vanish between readdir and stat; it is simply not listed.
      const info = await stat(join(location.dir, entry)).catch(() => undefined);
      if (info?.isFile()) listed.push({ path, sizeBytes: info.size, stamp: `mtime:${info.mtimeMs}` });
    }
  } else {
    const objects = await store.list(location.bucket, location.prefix).catch((err: { code?: string }) => {
      if (err.code === 'NoSuchBucket') throw kindFailure('SourceNotFound', `${source}: no such bucket`, { source });
      throw err;
    });
    for (const object of objects) {
      const path = object.key.slice(location.prefix.length);
      if (path && !path.endsWith('/') && matchesGlob(path)) listed.push({ path, sizeBytes: object.size, stamp: `etag:${object.etag}` });
    }
  }
  if (listed.length === 0) throw kindFailure('SourceNotFound', `${source}: no file matches the partition glob ${glob}`, { source, glob });
  return listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A partition's bytes; one that disappeared since the listing is a SourceNotFound failure naming it. */
export async function openPartition(location: PartitionedLocation, partition: string, store: ArtifactStore, source: string): Promise<Readable> {
  const gone = () => kindFailure('SourceNotFound', `${source}: partition ${partition} disappeared after the source was listed`, { source, partition });
  if (location.kind === 'local') {
    const path = join(location.dir, ...partition.split('/'));
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw gone();
    return createReadStream(path);
  }
  const key = `${location.prefix}${partition}`;
  if (!(await store.stat(location.bucket, key))) throw gone();
  return store.getStream(location.bucket, key);
}

/** The dataset version of a set of partitions: the same contents give the same version, whatever their paths or how often they repeat. */
export function partitionedVersion(sha256s: readonly string[]): string {
  return createHash('sha256')
    .update([...new Set(sha256s)].sort().join('\n'))
    .digest('hex');
}

/** What the last successful ingest of this source saw, if any. */
export async function readSourceState(store: ArtifactStore, bucket: string, id: string): Promise<PartitionedSourceState | undefined> {
  const key = datasetKeys.latestOfSource(id);
  if (!(await store.stat(bucket, key))) return undefined;
  return partitionedSourceStateSchema.parse(JSON.parse((await store.get(bucket, key)).toString('utf8')));
}

/** The previous entry for a listed file, if its path, size and stamp are unchanged (so its bytes are taken as unchanged). */
export function trustedEntry(listed: ListedPartition, previous: PartitionedSourceState | undefined): DatasetPartition | undefined {
  const entry = previous?.partitions.find((p) => p.path === listed.path);
  return entry && entry.sizeBytes === listed.sizeBytes && entry.stamp === listed.stamp ? entry : undefined;
}

/** SHA-256 of a stream, and its length. */
export async function hashStream(input: Readable): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of input) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}
