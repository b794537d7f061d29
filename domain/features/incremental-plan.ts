import type { DatasetManifest, DatasetPartition } from '../../shared/data/dataset.ts';
import { canonicalJson } from '../../shared/data/canonical-json.ts';

/**
 * Whether a dataset version only appends partitions to an earlier one, so features of the earlier
 * events can be kept and only the new partitions' events computed. The time check (every new event
 * after the earlier version's newest) needs the data and is `buildAppendedFeatureTables`'s.
 */
export type AppendCheck = { appended: DatasetPartition[] } | { reason: string };

export function appendedPartitions(previous: DatasetManifest, current: DatasetManifest): AppendCheck {
  const before = previous.version.slice(0, 12);
  if (!previous.partitions || !current.partitions) return { reason: `dataset ${before} or ${current.version.slice(0, 12)} is not a partitioned source` };
  if (previous.source !== current.source) return { reason: `dataset ${before} came from ${previous.source}, not ${current.source}` };
  if (previous.format !== current.format || canonicalJson(previous.schema) !== canonicalJson(current.schema) || canonicalJson(previous.csv ?? null) !== canonicalJson(current.csv ?? null)) {
    return { reason: `dataset ${before} has another format or schema` };
  }
  const now = new Map(current.partitions.map((p) => [p.path, p.sha256]));
  const changed = previous.partitions.filter((p) => now.get(p.path) !== p.sha256).map((p) => p.path);
  if (changed.length) return { reason: `partitions of dataset ${before} were changed or removed: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', ...' : ''}` };
  const kept = new Set(previous.partitions.map((p) => p.path));
  const appended = current.partitions.filter((p) => !kept.has(p.path));
  return appended.length ? { appended } : { reason: `dataset ${current.version.slice(0, 12)} adds no partition to ${before}` };
}
