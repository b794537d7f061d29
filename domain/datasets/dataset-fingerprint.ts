import { openSource } from './source-fetch.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { globOf, hashStream, listPartitions, openPartition, partitionedLocation, partitionedVersion, readSourceState, sourceId, trustedEntry } from './partitioned-source.ts';

/**
 * The dataset version a source would be ingested as, known before the run starts so the same data and
 * spec always map to the same run: the SHA-256 of a single file's bytes, streamed; for a partitioned
 * source the hash of its partitions' hashes, reading only the files that are new or changed since the
 * source's last ingest (its state in `datasetsBucket`), exactly as the ingest will.
 */
export async function fingerprintSource(
  source: string,
  store: ArtifactStore,
  options: { partitions?: string | undefined; datasetsBucket?: string } = {},
): Promise<{ sha256: string; bytes: number }> {
  const location = await partitionedLocation(source, options.partitions);
  if (location) {
    const glob = globOf(options.partitions);
    const previous = options.datasetsBucket ? await readSourceState(store, options.datasetsBucket, sourceId(location, glob)) : undefined;
    const hashes: string[] = [];
    let bytes = 0;
    for (const file of await listPartitions(location, glob, store, source)) {
      hashes.push(trustedEntry(file, previous)?.sha256 ?? (await hashStream(await openPartition(location, file.path, store, source))).sha256);
      bytes += file.sizeBytes;
    }
    return { sha256: partitionedVersion(hashes), bytes };
  }
  const { sha256, sizeBytes } = await hashStream(await openSource(source, store));
  return { sha256, bytes: sizeBytes };
}
