import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { predictionLogKeys } from '../../shared/api/prediction-log.ts';
import { quoteString } from '../features/expression/expression-sql.ts';
import { type ArtifactStore, ObjectNotFoundError } from '../object-store/artifact-store.ts';
import { SOURCES_METADATA_KEY, decodeSources, groupHour, uncoveredFiles } from './log-files.ts';

/**
 * A compaction may delete a small file between a reader's listing and its download; the reader then
 * lists the hour again (the compacted file holding those rows is there by then) this many times.
 */
const RELIST_ATTEMPTS = 3;

/** The small files a staged compacted file holds, from its Parquet key-value metadata. */
export async function compactedSources(db: DuckDBConnection, path: string): Promise<Set<string>> {
  const rows = (
    await db.runAndReadAll(`SELECT decode(value) AS sources FROM parquet_kv_metadata(${quoteString(path)}) WHERE decode(key) = ${quoteString(SOURCES_METADATA_KEY)}`)
  ).getRowObjectsJS();
  const sources = rows[0]?.sources;
  return decodeSources(typeof sources === 'string' ? sources : '');
}

/**
 * Downloads into `dir` the prediction-log files of a model's `hours` (of `versions` only, when given)
 * that hold each row once: per version and hour the compacted file and the small files it does not
 * hold. Lists one prefix per hour, never the model's whole log. Returns the local paths.
 */
export async function stageLogHours(
  deps: { store: ArtifactStore; bucket: string; db: DuckDBConnection; dir: string },
  request: { model: string; hours: readonly string[]; versions?: readonly number[] },
  onStaged?: (staged: number) => void,
): Promise<string[]> {
  const { store, bucket, db, dir } = deps;
  const paths: string[] = [];
  let n = 0;
  const fetch = async (key: string, into: string[]) => {
    const path = join(dir, `log-${n++}.parquet`);
    into.push(path);
    await store.getFile(bucket, key, path);
    onStaged?.(paths.length + into.length);
  };
  for (const hour of request.hours) {
    for (let attempt = 1; ; attempt++) {
      const staged: string[] = [];
      try {
        const objects = await store.list(bucket, predictionLogKeys.hourPrefix(request.model, hour));
        for (const group of groupHour(objects, request.versions)) {
          let covered = new Set<string>();
          if (group.compacted) {
            await fetch(group.compacted.key, staged);
            covered = await compactedSources(db, staged[staged.length - 1] as string);
          }
          for (const file of uncoveredFiles(group, covered)) await fetch(file.key, staged);
        }
        paths.push(...staged);
        break;
      } catch (err) {
        await Promise.all(staged.map((p) => rm(p, { force: true })));
        if (!(err instanceof ObjectNotFoundError) || attempt >= RELIST_ATTEMPTS) throw err;
      }
    }
  }
  return paths;
}
