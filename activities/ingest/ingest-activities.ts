import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../../shared/config.ts';
import { type DatasetManifest, type IngestInput, type IngestResult, ingestInputSchema } from '../../shared/data/dataset.ts';
import { ErrorType } from '../../shared/errors.ts';
import { datasetKeys } from '../../shared/storage-keys.ts';
import { type ArtifactStore, PreconditionFailedError } from '../../domain/object-store/artifact-store.ts';
import { parseInput } from '../../shared/parse-input.ts';
import { detectFormat, inspectDataset } from '../../domain/datasets/dataset-reader.ts';
import { findManifest, recordInHistory, versionBefore } from '../../domain/datasets/dataset-store.ts';
import { openDuckDb } from '../../domain/duckdb/duckdb-session.ts';
import { startProgress } from '../heartbeat.ts';
import { describeSource, fetchSource, locateSource, sourceFileName } from '../../domain/datasets/source-fetch.ts';
import { planPartitionedIngest, uploadNewPartitions, writeSourceState } from '../../domain/datasets/partitioned-ingest.ts';
import { globOf, partitionedLocation } from '../../domain/datasets/partitioned-source.ts';

const CONTENT_TYPES = { parquet: 'application/vnd.apache.parquet', csv: 'text/csv' } as const;

/**
 * Ingestion: a source (one file, or a folder of partitions: `domain/datasets/partitioned-ingest.ts`)
 * becomes a content-addressed dataset version. Everything is checked before the
 * first write (hash, format, every value readable, at least one row), so a failed ingest writes
 * nothing. Writes go bytes first, then the manifest (only if absent: it is the commit marker), then
 * the name's history; a retry after a crash rewrites the same bytes at the same keys.
 */
export const createIngestActivities = (deps: { store: ArtifactStore; buckets: Config['buckets']; workDir?: string; clock?: () => Date }) => ({
  async ingestDataset(rawInput: IngestInput): Promise<IngestResult> {
    const input = parseInput(ingestInputSchema, rawInput, (problems) => `invalid ingestDataset input: ${problems.join('; ')}`);
    const { store } = deps;
    const bucket = deps.buckets.datasets;
    const source = describeSource(input.source);
    /** Writes the manifest only if absent: it is the commit marker. */
    const commitManifest = async (manifest: DatasetManifest): Promise<DatasetManifest> => {
      try {
        await store.put(bucket, datasetKeys.manifest(manifest.version), JSON.stringify(manifest, null, 2), { contentType: 'application/json', onlyIf: { absent: true } });
        return manifest;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        // Another ingest of the same content committed first; its manifest is the one that stands.
        return (await findManifest(store, bucket, manifest.version)) ?? manifest;
      }
    };
    using progress = startProgress('ingestDataset');
    const dir = await mkdtemp(join(deps.workDir ?? tmpdir(), 'sluice-ingest-'));
    try {
      const location = await partitionedLocation(input.source, input.partitions);
      if (location) {
        const glob = globOf(input.partitions);
        const plan = await planPartitionedIngest({
          store,
          bucket,
          location,
          glob,
          source,
          declaredFormat: input.format,
          dir,
          contract: input.contract,
          now: (deps.clock?.() ?? new Date()).getTime(),
          onProgress: (d) => progress.report(d),
        });
        const counts = { total: plan.partitions.length, read: plan.staged.size, duplicates: plan.duplicates.length };
        checkExpected(source, plan.version, input.expectedVersion);
        const existing = await findManifest(store, bucket, plan.version);
        if (existing) {
          const history = await recordInHistory(store, bucket, input.datasetName, historyEntry(existing));
          await writeSourceState(store, bucket, plan, source, glob);
          return result(existing, input.datasetName, true, versionBefore(history, plan.version), { ...counts, uploaded: 0, alreadyStored: counts.total });
        }
        progress.report({ stage: 'uploading', source, partitions: plan.staged.size });
        const uploads = await uploadNewPartitions(store, bucket, plan);
        const manifest = await commitManifest({
          kind: 'sluice.dataset',
          version: plan.version,
          name: input.datasetName,
          source,
          format: plan.format,
          sizeBytes: plan.partitions.reduce((sum, p) => sum + p.sizeBytes, 0),
          rowCount: plan.partitions.reduce((sum, p) => sum + p.rowCount, 0),
          schema: plan.schema,
          ...(plan.csv ? { csv: plan.csv } : {}),
          ingestedAt: (deps.clock?.() ?? new Date()).toISOString(),
          partitionGlob: glob,
          partitions: plan.partitions,
          ...(plan.duplicates.length ? { duplicates: plan.duplicates } : {}),
        });
        const history = await recordInHistory(store, bucket, input.datasetName, historyEntry(manifest));
        // Last: only a version whose partitions and manifest are stored becomes what the next ingest trusts.
        await writeSourceState(store, bucket, plan, source, glob);
        return result(manifest, input.datasetName, false, versionBefore(history, plan.version), { ...counts, ...uploads });
      }

      const staged = join(dir, 'source');
      progress.report({ stage: 'fetching', source });
      const fetched = await fetchSource(input.source, staged, { store, onBytes: (bytes) => progress.report({ stage: 'fetching', source, bytes }) });
      const version = fetched.sha256;
      checkExpected(source, version, input.expectedVersion);
      if (fetched.sizeBytes === 0) {
        throw ApplicationFailure.nonRetryable(`${source}: the file is empty (0 bytes)`, ErrorType.EmptyDataset, { source, sizeBytes: 0, rowCount: 0 });
      }

      const existing = await findManifest(store, bucket, version);
      if (existing) {
        const history = await recordInHistory(store, bucket, input.datasetName, historyEntry(existing));
        return result(existing, input.datasetName, true, versionBefore(history, version));
      }

      const format = await detectFormat(staged, sourceFileName(locateSource(input.source)), source, input.format);
      progress.report({ stage: 'reading', source, format, bytes: fetched.sizeBytes });
      let inspected;
      {
        using duck = await openDuckDb({ tempDirectory: dir });
        inspected = await inspectDataset(duck.db, staged, format, source, fetched.sizeBytes);
      }

      const manifest: DatasetManifest = {
        kind: 'sluice.dataset',
        version,
        name: input.datasetName,
        source,
        format,
        sizeBytes: fetched.sizeBytes,
        rowCount: inspected.rowCount,
        schema: inspected.schema,
        ...(inspected.csv ? { csv: inspected.csv } : {}),
        sourceKey: datasetKeys.source(version, format),
        ingestedAt: (deps.clock?.() ?? new Date()).toISOString(),
      };
      progress.report({ stage: 'uploading', source, bytes: fetched.sizeBytes });
      await store.putFile(bucket, datasetKeys.source(version, format), staged, { contentType: CONTENT_TYPES[format], metadata: { 'sluice-sha256': version } });
      const committed = await commitManifest(manifest);
      const history = await recordInHistory(store, bucket, input.datasetName, historyEntry(committed));
      return result(committed, input.datasetName, false, versionBefore(history, version));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});

export type IngestActivities = ReturnType<typeof createIngestActivities>;

function historyEntry(manifest: DatasetManifest) {
  return { version: manifest.version, ingestedAt: manifest.ingestedAt, rowCount: manifest.rowCount, source: manifest.source };
}

function checkExpected(source: string, version: string, expectedVersion: string | undefined) {
  if (expectedVersion && version !== expectedVersion) {
    throw ApplicationFailure.nonRetryable(`${source}: content hashes to ${version}, not the expected ${expectedVersion}; the source changed`, ErrorType.DatasetChanged, {
      source,
      expectedVersion,
      actualVersion: version,
    });
  }
}

function result(manifest: DatasetManifest, datasetName: string, reused: boolean, previousVersion: string | undefined, partitions?: IngestResult['partitions']): IngestResult {
  return {
    datasetVersion: manifest.version,
    datasetName,
    manifestKey: datasetKeys.manifest(manifest.version),
    sourceKey: manifest.sourceKey ?? null,
    format: manifest.format,
    rows: manifest.rowCount,
    bytes: manifest.sizeBytes,
    schema: manifest.schema,
    reused,
    previousVersion: previousVersion ?? null,
    ...(partitions ? { partitions } : {}),
  };
}
