import { join } from 'node:path';
import type { DatasetManifest } from '../../shared/data/dataset.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { readerSql } from './dataset-reader.ts';

const DOWNLOADS_IN_FLIGHT = 8;

/**
 * Downloads every file of a dataset version into `dir` (DuckDB cannot reach S3 here) and returns the
 * relation that reads them all: the one file, or every partition in the manifest's order.
 */
export async function stageDataset(store: ArtifactStore, bucket: string, manifest: DatasetManifest, dir: string): Promise<{ relation: string; files: number }> {
  const keys = manifest.partitions?.map((p) => p.key) ?? (manifest.sourceKey === undefined ? [] : [manifest.sourceKey]);
  if (keys.length === 0) throw new Error(`dataset manifest ${manifest.version} lists no files`);
  const paths = keys.map((_, i) => join(dir, `source-${i}.${manifest.format}`));
  // A partitioned source is hundreds of small objects: a few requests in flight hide each one's round trip.
  let next = 0;
  const download = async () => {
    for (let i = next++; i < keys.length; i = next++) await store.getFile(bucket, keys[i] as string, paths[i] as string);
  };
  await Promise.all(Array.from({ length: Math.min(DOWNLOADS_IN_FLIGHT, keys.length) }, download));
  return { relation: readerSql(manifest.partitions ? paths : (paths[0] as string), manifest.format, manifest.schema, manifest.csv), files: paths.length };
}
