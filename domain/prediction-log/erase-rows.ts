import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { predictionFailureKeys, predictionLogKeys } from '../../shared/api/prediction-log.ts';
import type { ErasedFile, ErasureMatch, LogErasure } from '../../shared/prediction-log-erasure.ts';
import { SluiceError } from '../../shared/errors.ts';
import { quoteString } from '../features/expression/expression-sql.ts';
import { ObjectNotFoundError, PreconditionFailedError } from '../object-store/artifact-store.ts';
import { type CompactionDeps, compactHour } from './compact-log.ts';
import { SOURCES_METADATA_KEY, encodeSources, groupHour, parseLogKey } from './log-files.ts';
import { compactedSources } from './stage-log.ts';

/**
 * Erasure of rows from a model's prediction log, hour by closed hour: the hour is compacted first,
 * so each version's rows are in its one compacted file and no small file still holds a copy, then
 * that file is replaced by one without the matching rows, only if it is still the file that was read
 * (see shared/prediction-log-erasure.ts for why that keeps a racing compaction from restoring them).
 * A file whose every row matched is replaced by an empty one rather than deleted: a delete cannot be
 * conditional, and a compaction that replaced the file meanwhile would lose its other rows.
 */

/** A racing compaction or late upload makes the erasure redo the hour; after this many tries the activity fails and Temporal retries it. */
const HOUR_ATTEMPTS = 5;

export class HourBusyError extends SluiceError {
  override readonly name = 'HourBusyError';
  readonly kind = 'InfrastructureUnavailable';
}

const sqlList = (values: readonly string[]) => values.map(quoteString).join(', ');

/**
 * The SQL condition a row to erase meets. Never NULL: a row without a routing key (NULL) that no
 * request id matches is kept, where a bare `NOT (... OR routing_key IN ...)` would be NULL and drop it.
 */
export function erasurePredicate(match: ErasureMatch): string {
  const terms = [
    ...(match.requestIds.length > 0 ? [`request_id IN (${sqlList(match.requestIds)})`] : []),
    ...(match.routingKeys.length > 0 ? [`routing_key IN (${sqlList(match.routingKeys)})`] : []),
  ];
  return `coalesce(${terms.join(' OR ')}, false)`;
}

const inHours = (hour: string, through: string, after: string | undefined) => hour <= through && (after === undefined || hour > after);

/** The hours of a listing in (after, through], oldest first. */
export function hoursBetween(keys: readonly string[], through: string, after?: string): string[] {
  const hours = new Set(keys.flatMap((key) => parseLogKey(key)?.hour ?? []));
  return [...hours].filter((h) => inHours(h, through, after)).sort();
}

interface FileErasure {
  file: ErasedFile | undefined;
  requestIds: string[];
}

/** Rewrites one staged compacted file without the matching rows, if it has any; throws PreconditionFailedError if it changed since it was listed. */
async function eraseCompactedFile(deps: CompactionDeps, dir: string, object: { key: string; etag?: string }, match: ErasureMatch): Promise<FileErasure> {
  const { store, bucket, db } = deps;
  const input = join(dir, 'in.parquet');
  await store.getFile(bucket, object.key, input);
  const predicate = erasurePredicate(match);
  const found = (
    await db.runAndReadAll(
      `SELECT count(*)::INTEGER AS total, (count(*) FILTER (WHERE ${predicate}))::INTEGER AS matched, list(DISTINCT request_id ORDER BY request_id) FILTER (WHERE ${predicate}) AS ids FROM read_parquet(${quoteString(input)})`,
    )
  ).getRowObjectsJS()[0] as { total: number; matched: number; ids: string[] | null };
  if (found.matched === 0) return { file: undefined, requestIds: [] };
  const sources = await compactedSources(db, input);
  const output = join(dir, 'out.parquet');
  // The compaction's order and metadata, so readers and later compactions treat it as the same file.
  await db.run(
    `COPY (SELECT * FROM read_parquet(${quoteString(input)}) WHERE NOT ${predicate} ORDER BY predicted_at, request_id, event_index, route)
     TO ${quoteString(output)} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {${quoteString(SOURCES_METADATA_KEY)}: ${quoteString(encodeSources([...sources].sort()))}})`,
  );
  const etag = object.etag || (await store.stat(bucket, object.key))?.etag;
  await store.putFile(bucket, object.key, output, { contentType: 'application/vnd.apache.parquet', onlyIf: etag ? { etag } : { absent: true } });
  return { file: { key: object.key, rowsBefore: found.total, rowsErased: found.matched, outcome: 'rewritten' }, requestIds: found.ids ?? [] };
}

/** Erases the matching rows of one closed hour, every version; returns the files it rewrote and the requests it found. */
export async function eraseHour(deps: CompactionDeps, model: string, hour: string, match: ErasureMatch): Promise<{ files: ErasedFile[]; requestIds: Set<string> }> {
  const files = new Map<string, ErasedFile>();
  const requestIds = new Set<string>();
  const dir = await mkdtemp(join(deps.dir, 'erase-'));
  try {
    for (let attempt = 1; attempt <= HOUR_ATTEMPTS; attempt++) {
      await compactHour(deps, model, hour);
      const groups = groupHour(await deps.store.list(deps.bucket, predictionLogKeys.hourPrefix(model, hour)));
      // A small file left means a compaction raced this one or an upload landed late: compact again.
      if (groups.some((g) => g.small.length > 0)) continue;
      try {
        for (const group of groups) {
          if (!group.compacted) continue;
          const { file, requestIds: ids } = await eraseCompactedFile(deps, dir, group.compacted, match);
          for (const id of ids) requestIds.add(id);
          // A retry after a lost race counts what an earlier try already erased from the same file.
          if (!file) continue;
          const earlier = files.get(file.key);
          files.set(file.key, earlier ? { ...file, rowsBefore: earlier.rowsBefore, rowsErased: earlier.rowsErased + file.rowsErased } : file);
        }
        return { files: [...files.values()], requestIds };
      } catch (err) {
        // Replaced (a compaction) or deleted (retention) since the listing: list the hour again.
        if (!(err instanceof PreconditionFailedError || err instanceof ObjectNotFoundError)) throw err;
      }
    }
    throw new HourBusyError(`hour ${hour} of ${model}'s prediction log kept changing during ${HOUR_ATTEMPTS} erasure attempts (a compaction or late uploads); retried`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Erases the matching rows from the failed-prediction log of the given hours (request ids and routing
 * keys are there too). Those files are never compacted and nothing but the API writes them, so each is
 * rewritten in place, only if unchanged since the listing, or deleted when no row is left.
 */
async function eraseFailureFiles(deps: CompactionDeps, model: string, erased: (hour: string) => boolean, match: ErasureMatch): Promise<ErasedFile[]> {
  const { store, bucket, db } = deps;
  const files: ErasedFile[] = [];
  const dir = await mkdtemp(join(deps.dir, 'failures-'));
  try {
    for (const object of await store.list(bucket, predictionFailureKeys.prefix(model))) {
      const hour = /\/hour=([^/]+)\//.exec(object.key)?.[1];
      if (hour === undefined || !erased(hour)) continue;
      const input = join(dir, 'in.parquet');
      await store.getFile(bucket, object.key, input);
      const predicate = erasurePredicate(match);
      const found = (await db.runAndReadAll(`SELECT count(*)::INTEGER AS total, (count(*) FILTER (WHERE ${predicate}))::INTEGER AS matched FROM read_parquet(${quoteString(input)})`)).getRowObjectsJS()[0] as { total: number; matched: number };
      if (found.matched === 0) continue;
      if (found.matched === found.total) {
        await store.remove(bucket, object.key);
        files.push({ key: object.key, rowsBefore: found.total, rowsErased: found.matched, outcome: 'removed' });
        continue;
      }
      const output = join(dir, 'out.parquet');
      await db.run(`COPY (SELECT * FROM read_parquet(${quoteString(input)}) WHERE NOT ${predicate} ORDER BY failed_at, request_id) TO ${quoteString(output)} (FORMAT parquet, COMPRESSION zstd)`);
      await store.putFile(bucket, object.key, output, { contentType: 'application/vnd.apache.parquet', onlyIf: { etag: object.etag } });
      files.push({ key: object.key, rowsBefore: found.total, rowsErased: found.matched, outcome: 'rewritten' });
    }
    return files;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Erases the matching rows from a model's closed hours in (after, through], its failed-prediction log
 * included. Lists the model's whole
 * log once: an erasure is rare and must find the subject's rows wherever they are, and retention
 * bounds how many hours there are.
 */
export async function eraseLogHours(deps: CompactionDeps, request: { model: string; match: ErasureMatch; through: string; after?: string }): Promise<LogErasure> {
  const keys = (await deps.store.list(deps.bucket, predictionLogKeys.prefix(request.model))).map((o) => o.key);
  const hours = hoursBetween(keys, request.through, request.after);
  const files: ErasedFile[] = [];
  const requestIds = new Set<string>();
  for (const [i, hour] of hours.entries()) {
    const erased = await eraseHour(deps, request.model, hour, request.match);
    files.push(...erased.files);
    for (const id of erased.requestIds) requestIds.add(id);
    deps.progress?.({ hour, visited: i + 1, of: hours.length, filesRewritten: files.length });
  }
  files.push(...(await eraseFailureFiles(deps, request.model, (hour) => inHours(hour, request.through, request.after), request.match)));
  return { hoursVisited: hours.length, files, rowsErased: files.reduce((s, f) => s + f.rowsErased, 0), requestIds: [...requestIds].sort() };
}
