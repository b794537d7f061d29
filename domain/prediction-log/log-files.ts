import { hourPartition } from '../../shared/api/prediction-log.ts';

/**
 * Which prediction-log objects a reader reads and a compaction merges, from their keys alone.
 *
 * An hour partition holds, per model version, the API's small files and at most one compacted file
 * that names (in its Parquet key-value metadata) the small files whose rows it holds. A reader reads
 * the compacted file plus the small files it does not name, so every row counts exactly once in each
 * state: before compaction, after it, between its write and its deletes, and when a small file
 * arrives late (an upload retried after a store outage) after its hour was compacted.
 */

const HOUR_MS = 3_600_000;
const LOG_FILE = /\/hour=([^/]+)\/v(\d+)-([^/]+)\.parquet$/;
const COMPACTED = 'compacted';

export interface LogFile {
  key: string;
  hour: string;
  version: number;
  /** The file's name without `.parquet`: what a compacted file lists as its sources. */
  fileId: string;
  compacted: boolean;
  /** From the listing, when known: a compaction replaces a compacted file only if it is still this one. */
  etag?: string;
}

/** The prediction-log file a key names, or undefined for anything else under the prefix. */
export function parseLogKey(key: string): LogFile | undefined {
  const match = LOG_FILE.exec(key);
  if (!match) return undefined;
  const [, hour, version, rest] = match as unknown as [string, string, string, string];
  return { key, hour, version: Number(version), fileId: `v${version}-${rest}`, compacted: rest === COMPACTED };
}

/** The UTC hour partitions overlapping [from, until) (ISO instants or epoch ms), oldest first. */
export function hoursOfWindow(from: string | number, until: string | number): string[] {
  const fromMs = typeof from === 'number' ? from : Date.parse(from);
  const untilMs = typeof until === 'number' ? until : Date.parse(until);
  const hours: string[] = [];
  for (let t = Math.floor(fromMs / HOUR_MS) * HOUR_MS; t < untilMs; t += HOUR_MS) hours.push(hourPartition(t));
  return hours;
}

/** The hour after `hour` (`2026-01-01T23` → `2026-01-02T00`). */
export const nextHour = (hour: string) => hourPartition(Date.parse(`${hour}:00:00Z`) + HOUR_MS);

/**
 * The newest hour that is closed at `nowMs`: one that ended at least `closedAfterMs` ago, so the API
 * has written its last file for it (see COMPACTION_CLOSED_AFTER in shared/prediction-log-compaction.ts).
 */
export function lastClosedHour(nowMs: number, closedAfterMs: number): string {
  return hourPartition(Math.floor((nowMs - closedAfterMs) / HOUR_MS) * HOUR_MS - HOUR_MS);
}

/**
 * The hours a compaction run visits for one model: with a watermark, the `lookbackHours` up to and
 * including it (where late uploads may have landed) and every closed hour after it; without one (the
 * model's first run), the closed hours its whole listing shows. Never an hour after `lastClosed`.
 */
export function hoursToCompact(opts: { through: string | undefined; listedHours: readonly string[]; lastClosed: string; lookbackHours: number }): string[] {
  const { through, lastClosed } = opts;
  if (through === undefined) return [...new Set(opts.listedHours)].filter((h) => h <= lastClosed).sort();
  const hours: string[] = [];
  let hour = hourPartition(Date.parse(`${through}:00:00Z`) - (opts.lookbackHours - 1) * HOUR_MS);
  for (; hour <= lastClosed; hour = nextHour(hour)) hours.push(hour);
  return hours;
}

/** One version's files in one hour partition. */
export interface VersionHour {
  version: number;
  compacted: LogFile | undefined;
  small: LogFile[];
}

/** The listing of one hour partition, grouped by version (ascending), other objects ignored. */
export function groupHour(objects: readonly { key: string; etag?: string }[], versions?: readonly number[]): VersionHour[] {
  const wanted = versions ? new Set(versions) : undefined;
  const groups = new Map<number, VersionHour>();
  for (const { key, etag } of objects) {
    const parsed = parseLogKey(key);
    if (!parsed || (wanted && !wanted.has(parsed.version))) continue;
    const file = etag === undefined ? parsed : { ...parsed, etag };
    let group = groups.get(file.version);
    if (!group) groups.set(file.version, (group = { version: file.version, compacted: undefined, small: [] }));
    if (file.compacted) group.compacted = file;
    else group.small.push(file);
  }
  for (const group of groups.values()) group.small.sort((a, b) => a.key.localeCompare(b.key));
  return [...groups.values()].sort((a, b) => a.version - b.version);
}

/** The small files a reader must read besides the compacted one: those it does not hold. */
export function uncoveredFiles(group: VersionHour, covered: ReadonlySet<string>): LogFile[] {
  return group.small.filter((f) => !covered.has(f.fileId));
}

/**
 * What compacting one version's hour does, given the small files its compacted file (if any) holds:
 * merge the compacted file and the uncovered small files into a new compacted file naming them all
 * (nothing to write when none is uncovered), then delete every small file the new one holds.
 */
export function compactionPlan(group: VersionHour, covered: ReadonlySet<string>): { merge: LogFile[]; sources: string[]; remove: LogFile[] } {
  const merge = uncoveredFiles(group, covered);
  const sources = [...new Set([...covered, ...merge.map((f) => f.fileId)])].sort();
  const held = new Set(sources);
  return { merge, sources, remove: group.small.filter((f) => held.has(f.fileId)) };
}

/** How a compacted file lists its sources in its Parquet key-value metadata (file ids are `[a-z0-9-]`). */
export const SOURCES_METADATA_KEY = 'sluice.sources';
export const encodeSources = (sources: readonly string[]) => sources.join(',');
export const decodeSources = (text: string) => new Set(text.split(',').filter((s) => s.length > 0));
