import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ApplicationFailure } from '@temporalio/common';
import type { CsvDialect, DatasetColumn, DatasetFormat, DatasetPartition, PartitionedSourceState } from '../../shared/data/dataset.ts';
import type { DatasetContract } from '../../shared/data/dataset-contract.ts';
import { failedPartitionChecks } from '../validation/contract-checks.ts';
import { kindFailure } from '../../shared/failure.ts';
import { datasetKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { openDuckDb } from '../duckdb/duckdb-session.ts';
import { detectFormat, inspectDataset, readerSql } from './dataset-reader.ts';
import { findManifest } from './dataset-store.ts';
import {
  type ListedPartition,
  type PartitionedLocation,
  listPartitions,
  openPartition,
  partitionedVersion,
  readSourceState,
  sourceId,
  trustedEntry,
} from './partitioned-source.ts';

/**
 * Ingestion of a partitioned source. Only files that are new or changed since the source's last good
 * ingest (by path, size and stamp) are read; each is checked on its own (readable, has rows, same
 * columns and types as the dataset, and the contract's value checks when one is given) before
 * anything is written, so a bad new partition fails the ingest naming it, registers nothing, and the source's previous version stays its newest good one.
 * Partition bytes are stored by content hash: a partition already in the bucket is not uploaded again.
 */

export interface PartitionedIngestPlan {
  version: string;
  format: DatasetFormat;
  schema: DatasetColumn[];
  csv: CsvDialect | undefined;
  /** Distinct contents, first path of each, sorted by path. */
  partitions: DatasetPartition[];
  duplicates: { path: string; sameAs: string }[];
  /** Every listed file (duplicates included), for the source's state. */
  listed: DatasetPartition[];
  /** Files read (and staged locally) by this ingest, by sha256; the rest were trusted from the previous state. */
  staged: Map<string, string>;
  previous: PartitionedSourceState | undefined;
  stateKey: string;
}

const CONTENT_TYPES = { parquet: 'application/vnd.apache.parquet', csv: 'text/csv' } as const;

/** `err`, a typed failure about one partition, with the partition in its details. */
function aboutPartition(err: unknown, partition: string): unknown {
  if (!(err instanceof ApplicationFailure) || !err.type) return err;
  const details = (err.details?.[0] ?? {}) as Record<string, unknown>;
  return ApplicationFailure.create({ message: err.message, type: err.type, nonRetryable: err.nonRetryable === true, details: [{ ...details, partition }] });
}

const describeColumns = (schema: readonly DatasetColumn[]) => new Map(schema.map((c) => [c.name, c.type]));

/** How a partition's columns differ from the dataset's; empty when they agree (order aside). */
function schemaDifferences(expected: readonly DatasetColumn[], actual: readonly DatasetColumn[]): string[] {
  const want = describeColumns(expected);
  const got = describeColumns(actual);
  return [
    ...[...want].filter(([name]) => !got.has(name)).map(([name]) => `column "${name}" is missing`),
    ...[...got].filter(([name]) => !want.has(name)).map(([name]) => `column "${name}" is not in the dataset`),
    ...[...got].filter(([name, type]) => want.has(name) && want.get(name) !== type).map(([name, type]) => `column "${name}" is ${type}, the dataset has ${want.get(name)}`),
  ];
}

async function stagePartition(location: PartitionedLocation, listed: ListedPartition, store: ArtifactStore, source: string, destination: string) {
  const input = await openPartition(location, listed.path, store, source);
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(input, tap, createWriteStream(destination));
  const label = `${source} partition ${listed.path}`;
  if (sizeBytes !== listed.sizeBytes) {
    // Most often a file still being written: listed at one size, read at another.
    throw kindFailure('DatasetChanged', `${label} changed while it was read (listed ${listed.sizeBytes} bytes, read ${sizeBytes}); is it still being written?`, {
      source,
      partition: listed.path,
      listedBytes: listed.sizeBytes,
      readBytes: sizeBytes,
    });
  }
  if (sizeBytes === 0) throw kindFailure('EmptyDataset', `${label}: the file is empty (0 bytes)`, { source, partition: listed.path, sizeBytes: 0, rowCount: 0 });
  return { sha256: hash.digest('hex'), sizeBytes, label };
}

/** A CSV partition must read under the dataset's dialect and column types, or it is refused. */
async function checkCsvReads(db: DuckDBConnection, path: string, schema: readonly DatasetColumn[], csv: CsvDialect, label: string, partition: string, source: string) {
  try {
    await db.run(`SELECT count(*) FROM ${readerSql(path, 'csv', schema, csv)}`);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n').slice(0, 3).join(' ').slice(0, 500);
    throw kindFailure('SchemaMismatch', `${label}: does not read with the dataset's CSV columns and types: ${reason}`, { source, partition, problems: [reason] });
  }
}

/**
 * Lists the source, reads what is new, checks every new partition, and computes the version; writes
 * nothing. The caller uploads with `commitPartitioned` once it has decided to keep the result.
 */
export async function planPartitionedIngest(deps: {
  store: ArtifactStore;
  bucket: string;
  location: PartitionedLocation;
  glob: string;
  source: string;
  declaredFormat: DatasetFormat | undefined;
  dir: string;
  /** Value checks every new partition must pass on its own (see `failedPartitionChecks`). */
  contract?: DatasetContract;
  now: number;
  onProgress?: (details: Record<string, unknown>) => void;
}): Promise<PartitionedIngestPlan> {
  const { store, bucket, location, glob, source, dir } = deps;
  const stateKey = datasetKeys.latestOfSource(sourceId(location, glob));
  const previous = await readSourceState(store, bucket, sourceId(location, glob));
  const listedFiles = await listPartitions(location, glob, store, source);

  let format: DatasetFormat | undefined = deps.declaredFormat ?? previous?.format;
  let schema: DatasetColumn[] | undefined;
  let csv: CsvDialect | undefined;
  if (previous) {
    const manifest = await findManifest(store, bucket, previous.version);
    schema = manifest?.schema;
    csv = manifest?.csv;
  }

  const listed: DatasetPartition[] = [];
  const staged = new Map<string, string>();
  const toRead: ListedPartition[] = [];
  const trusted = new Map<string, DatasetPartition>();
  for (const file of listedFiles) {
    const entry = trustedEntry(file, previous);
    // A trusted partition whose object was removed from the bucket is read again, so it can be stored again.
    if (entry && (await store.stat(bucket, entry.key))) trusted.set(file.path, entry);
    else toRead.push(file);
  }

  {
    using duck = toRead.length ? await openDuckDb({ tempDirectory: dir }) : undefined;
    for (const [i, file] of listedFiles.entries()) {
      const kept = trusted.get(file.path);
      if (kept) {
        listed.push(kept);
        continue;
      }
      if (!duck) throw new Error('unreachable: a partition to read without a DuckDB session');
      deps.onProgress?.({ stage: 'reading partition', partition: file.path, read: staged.size, toRead: toRead.length });
      try {
        const path = join(dir, `partition-${i}`);
        const fetched = await stagePartition(location, file, store, source, path);
        const partitionFormat = await detectFormat(path, file.path, fetched.label, deps.declaredFormat);
        format ??= partitionFormat;
        if (partitionFormat !== format) {
          throw kindFailure('SchemaMismatch', `${fetched.label} is ${partitionFormat}, the dataset's partitions are ${format}`, { source, partition: file.path, problems: [`format ${partitionFormat}`] });
        }
        const inspected = await inspectDataset(duck.db, path, format, fetched.label, fetched.sizeBytes);
        if (!schema) {
          schema = inspected.schema;
          csv = inspected.csv;
        } else if (format === 'csv' && csv) {
          const names = inspected.schema.map((c) => c.name);
          if (names.join('\u0000') !== schema.map((c) => c.name).join('\u0000')) {
            throw kindFailure('SchemaMismatch', `${fetched.label}: columns [${names.join(', ')}] differ from the dataset's [${schema.map((c) => c.name).join(', ')}]`, {
              source,
              partition: file.path,
              problems: schemaDifferences(schema, inspected.schema),
            });
          }
          await checkCsvReads(duck.db, path, schema, csv, fetched.label, file.path, source);
        } else {
          const problems = schemaDifferences(schema, inspected.schema);
          if (problems.length) throw kindFailure('SchemaMismatch', `${fetched.label}: schema differs from the dataset's: ${problems.join('; ')}`, { source, partition: file.path, problems });
        }
        if (deps.contract) {
          const failed = await failedPartitionChecks(duck.db, readerSql(path, format, schema, csv), deps.contract, { schema, rowCount: inspected.rowCount, now: deps.now });
          if (failed.length) {
            throw kindFailure('DatasetInvalid', `${fetched.label} fails contract ${deps.contract.name}: ${failed.map((c) => c.message).join('; ')}`, {
              source,
              partition: file.path,
              failedChecks: failed.map((c) => (c.column ? `${c.check}(${c.column})` : c.check)),
              checks: failed,
            });
          }
        }
        const entry: DatasetPartition = {
          path: file.path,
          sha256: fetched.sha256,
          sizeBytes: fetched.sizeBytes,
          rowCount: inspected.rowCount,
          stamp: file.stamp,
          key: datasetKeys.partition(fetched.sha256, format),
        };
        listed.push(entry);
        staged.set(entry.sha256, path);
      } catch (err) {
        throw aboutPartition(err, file.path);
      }
    }
  }
  if (!format || !schema) throw new Error('unreachable: a listed source with no format or schema');

  const partitions: DatasetPartition[] = [];
  const duplicates: PartitionedIngestPlan['duplicates'] = [];
  const firstPath = new Map<string, string>();
  for (const entry of listed) {
    const sameAs = firstPath.get(entry.sha256);
    if (sameAs !== undefined) duplicates.push({ path: entry.path, sameAs });
    else {
      firstPath.set(entry.sha256, entry.path);
      partitions.push(entry);
    }
  }
  return { version: partitionedVersion(listed.map((p) => p.sha256)), format, schema, csv, partitions, duplicates, listed, staged, previous, stateKey };
}

/**
 * Stores the partitions read by this ingest that the bucket does not hold yet (by content key, so an
 * identical partition of any version or source is stored once), and returns how many were uploaded.
 */
export async function uploadNewPartitions(store: ArtifactStore, bucket: string, plan: PartitionedIngestPlan): Promise<{ uploaded: number; alreadyStored: number }> {
  let uploaded = 0;
  let alreadyStored = 0;
  for (const partition of plan.partitions) {
    const path = plan.staged.get(partition.sha256);
    if (path === undefined) {
      alreadyStored++;
      continue;
    }
    if (await store.stat(bucket, partition.key)) {
      alreadyStored++;
      continue;
    }
    await store.putFile(bucket, partition.key, path, { contentType: CONTENT_TYPES[plan.format], metadata: { 'sluice-sha256': partition.sha256 } });
    uploaded++;
  }
  return { uploaded, alreadyStored };
}

/** Records what this ingest saw, for the next ingest of the same source to trust. */
export async function writeSourceState(store: ArtifactStore, bucket: string, plan: PartitionedIngestPlan, source: string, glob: string): Promise<void> {
  const state: PartitionedSourceState = { kind: 'sluice.partitioned-source', source, glob, version: plan.version, format: plan.format, partitions: plan.listed };
  await store.put(bucket, plan.stateKey, JSON.stringify(state, null, 2), { contentType: 'application/json' });
}
