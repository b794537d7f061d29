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

const CONTENT_TYPES = { parquet: 'application/vnd.apache.parquet', csv: 'text/csv' } as const;

/**
 * Ingestion: a source becomes a content-addressed dataset version. Everything is checked before the
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
    using progress = startProgress('ingestDataset');
    const dir = await mkdtemp(join(deps.workDir ?? tmpdir(), 'sluice-ingest-'));
    try {
      const staged = join(dir, 'source');
      progress.report({ stage: 'fetching', source });
      const fetched = await fetchSource(input.source, staged, { store, onBytes: (bytes) => progress.report({ stage: 'fetching', source, bytes }) });
      const version = fetched.sha256;
      if (input.expectedVersion && version !== input.expectedVersion) {
        throw ApplicationFailure.nonRetryable(`${source}: content hashes to ${version}, not the expected ${input.expectedVersion}; the source changed`, ErrorType.DatasetChanged, {
          source,
          expectedVersion: input.expectedVersion,
          actualVersion: version,
        });
      }
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

      let manifest: DatasetManifest = {
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
      await store.putFile(bucket, manifest.sourceKey, staged, { contentType: CONTENT_TYPES[format], metadata: { 'sluice-sha256': version } });
      try {
        await store.put(bucket, datasetKeys.manifest(version), JSON.stringify(manifest, null, 2), { contentType: 'application/json', onlyIf: { absent: true } });
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        // Another ingest of the same bytes committed first; its manifest is the one that stands.
        manifest = (await findManifest(store, bucket, version)) ?? manifest;
      }
      const history = await recordInHistory(store, bucket, input.datasetName, historyEntry(manifest));
      return result(manifest, input.datasetName, false, versionBefore(history, version));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});

export type IngestActivities = ReturnType<typeof createIngestActivities>;

function historyEntry(manifest: DatasetManifest) {
  return { version: manifest.version, ingestedAt: manifest.ingestedAt, rowCount: manifest.rowCount, source: manifest.source };
}

function result(manifest: DatasetManifest, datasetName: string, reused: boolean, previousVersion: string | undefined): IngestResult {
  return {
    datasetVersion: manifest.version,
    datasetName,
    manifestKey: datasetKeys.manifest(manifest.version),
    sourceKey: manifest.sourceKey,
    format: manifest.format,
    rows: manifest.rowCount,
    bytes: manifest.sizeBytes,
    schema: manifest.schema,
    reused,
    previousVersion: previousVersion ?? null,
  };
}
