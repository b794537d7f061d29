import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { predictionLogKeys } from '../../shared/api/prediction-log.ts';
import {
  COMPACTION_LOOKBACK_HOURS,
  type CompactionState,
  compactionStateSchema,
  type ModelCompaction,
  type VersionHourCompaction,
} from '../../shared/prediction-log-compaction.ts';
import { countOf } from '../duckdb/duckdb-session.ts';
import { quoteString } from '../features/expression/expression-sql.ts';
import { type ArtifactStore, ObjectNotFoundError, PreconditionFailedError } from '../object-store/artifact-store.ts';
import { SOURCES_METADATA_KEY, type VersionHour, compactionPlan, encodeSources, groupHour, hoursToCompact, lastClosedHour, parseLogKey } from './log-files.ts';
import { compactedSources } from './stage-log.ts';

/**
 * Compaction of the prediction log: one version's files of one hour become one zstd Parquet file
 * (`v<version>-compacted.parquet`) written before any small file is deleted, so a reader sees the
 * hour whole in every state (see log-files.ts). The compacted file is written only over the one the
 * run read (or where there was none), so two runs racing on an hour cannot drop each other's rows.
 * A retry redoes nothing done: small files the compacted file already holds are only deleted.
 */

export interface CompactionDeps {
  store: ArtifactStore;
  bucket: string;
  db: DuckDBConnection;
  /** Scratch space for staged and written files; the caller removes it. */
  dir: string;
  progress?: (detail: Record<string, unknown>) => void;
}

async function compactVersionHour(deps: CompactionDeps, model: string, hour: string, group: VersionHour): Promise<VersionHourCompaction | undefined> {
  const { store, bucket, db } = deps;
  const dir = await mkdtemp(join(deps.dir, 'hour-'));
  try {
    const inputs: string[] = [];
    let covered = new Set<string>();
    if (group.compacted) {
      const path = join(dir, 'compacted-in.parquet');
      await store.getFile(bucket, group.compacted.key, path);
      inputs.push(path);
      covered = await compactedSources(db, path);
    }
    const plan = compactionPlan(group, covered);
    if (plan.merge.length === 0 && plan.remove.length === 0) return undefined;
    let rows = 0;
    if (plan.merge.length > 0) {
      for (const [i, file] of plan.merge.entries()) {
        const path = join(dir, `small-${i}.parquet`);
        await store.getFile(bucket, file.key, path);
        inputs.push(path);
      }
      const out = join(dir, 'compacted-out.parquet');
      // Sorted, so a retry over the same files writes the same rows in the same order.
      rows = await countOf(
        db,
        `COPY (SELECT * FROM read_parquet([${inputs.map(quoteString).join(', ')}], hive_partitioning = false) ORDER BY predicted_at, request_id, event_index, route)
         TO ${quoteString(out)} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {${quoteString(SOURCES_METADATA_KEY)}: ${quoteString(encodeSources(plan.sources))}})`,
      );
      const key = predictionLogKeys.compacted(model, hour, group.version);
      const etag = group.compacted ? group.compacted.etag || (await store.stat(bucket, key))?.etag : undefined;
      await store.putFile(bucket, key, out, { contentType: 'application/vnd.apache.parquet', onlyIf: etag ? { etag } : { absent: true } });
    }
    for (const file of plan.remove) await store.remove(bucket, file.key);
    return { hour, version: group.version, outcome: plan.merge.length > 0 ? 'compacted' : 'cleaned', merged: plan.merge.length, removed: plan.remove.length, rows };
  } catch (err) {
    // Another run compacted or cleaned this hour while this one read it: it is whole either way.
    if (err instanceof PreconditionFailedError || err instanceof ObjectNotFoundError) return { hour, version: group.version, outcome: 'raced', merged: 0, removed: 0, rows: 0 };
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Compacts every version's files of one hour of a model's log; returns what changed. */
export async function compactHour(deps: CompactionDeps, model: string, hour: string): Promise<VersionHourCompaction[]> {
  const objects = await deps.store.list(deps.bucket, predictionLogKeys.hourPrefix(model, hour));
  const changed: VersionHourCompaction[] = [];
  for (const group of groupHour(objects)) {
    const result = await compactVersionHour(deps, model, hour, group);
    if (result) changed.push(result);
  }
  return changed;
}

async function readState(store: ArtifactStore, bucket: string, model: string): Promise<CompactionState | undefined> {
  try {
    return compactionStateSchema.parse(JSON.parse((await store.get(bucket, predictionLogKeys.compactionState(model))).toString('utf8')));
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Compacts the closed hours of a model's log not visited yet (plus the lookback behind the watermark,
 * where late uploads land), then moves the watermark. The first run for a model lists its whole log
 * once to find its hours; later runs list one prefix per hour visited.
 */
export async function compactModelLog(deps: CompactionDeps, request: { model: string; nowMs: number; closedAfterMs: number }): Promise<ModelCompaction> {
  const { store, bucket } = deps;
  const { model } = request;
  const state = await readState(store, bucket, model);
  const lastClosed = lastClosedHour(request.nowMs, request.closedAfterMs);
  const listedHours = state ? [] : (await store.list(bucket, predictionLogKeys.prefix(model))).flatMap((o) => parseLogKey(o.key)?.hour ?? []);
  const hours = hoursToCompact({ through: state?.through, listedHours, lastClosed, lookbackHours: COMPACTION_LOOKBACK_HOURS });
  const changed: VersionHourCompaction[] = [];
  for (const [i, hour] of hours.entries()) {
    changed.push(...(await compactHour(deps, model, hour)));
    deps.progress?.({ model, hour, visited: i + 1, of: hours.length });
  }
  const through = state && state.through > lastClosed ? state.through : lastClosed;
  const next: CompactionState = { model, through, updatedAt: new Date(request.nowMs).toISOString() };
  await store.put(bucket, predictionLogKeys.compactionState(model), JSON.stringify(next), { contentType: 'application/json' });
  return { model, through, hoursVisited: hours.length, changed };
}
