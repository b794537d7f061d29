import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { type StoredSnapshot, listSnapshots } from './online-snapshot-loader.ts';

/**
 * Old online snapshots of a feature spec, removed after each refresh: a 15-minute Schedule writes 96
 * a day. The API serves the newest (by as-of), so the newest `keep` stay for rollback and inspection;
 * an older one is removed only once it is `minAgeMs` old, so an API replica that listed it just
 * before a burst of refreshes can still read it.
 */
export interface SnapshotRetention {
  keep: number;
  minAgeMs: number;
}

/** The snapshots to remove, of those listed oldest first (as `listSnapshots` returns them). */
export function expiredSnapshots(oldestFirst: readonly StoredSnapshot[], retention: SnapshotRetention, nowMs: number): StoredSnapshot[] {
  return oldestFirst.slice(0, Math.max(0, oldestFirst.length - retention.keep)).filter((s) => nowMs - s.lastModified.getTime() >= retention.minAgeMs);
}

/** Removes the expired snapshots of a spec; returns how many. */
export async function pruneSnapshots(store: ArtifactStore, bucket: string, specHash: string, retention: SnapshotRetention, nowMs: number): Promise<number> {
  const expired = expiredSnapshots(await listSnapshots(store, bucket, specHash), retention, nowMs);
  for (const snapshot of expired) await store.remove(bucket, snapshot.key);
  return expired.length;
}
