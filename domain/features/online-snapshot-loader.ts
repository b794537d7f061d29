import { type OnlineSnapshot, onlineSnapshotSchema } from '../../shared/data/online-snapshot.ts';
import { onlineFeatureKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { SnapshotOnlineStore } from './online-store.ts';

const AS_OF = /\/as-of=([^/]+)\.json$/;

/** A snapshot object in the serving bucket, as listed. */
export interface StoredSnapshot {
  key: string;
  /** When the object was written: the refresh that produced it. */
  lastModified: Date;
}

/** The newest online snapshot of a feature spec (greatest as-of, whatever the dataset version), or undefined when it has none. */
export async function newestSnapshot(store: ArtifactStore, bucket: string, specHash: string): Promise<StoredSnapshot | undefined> {
  const objects = (await store.list(bucket, onlineFeatureKeys.specPrefix(specHash))).filter((o) => AS_OF.test(o.key));
  // ISO 8601 instants in UTC sort as text; among equal as-of instants, the one written last.
  const asOf = (key: string) => AS_OF.exec(key)?.[1] ?? '';
  const newest = objects.sort((a, b) => (asOf(a.key) < asOf(b.key) ? -1 : asOf(a.key) > asOf(b.key) ? 1 : a.lastModified.getTime() - b.lastModified.getTime())).at(-1);
  return newest && { key: newest.key, lastModified: newest.lastModified };
}

export async function readSnapshot(store: ArtifactStore, bucket: string, key: string): Promise<OnlineSnapshot> {
  return onlineSnapshotSchema.parse(JSON.parse((await store.get(bucket, key)).toString('utf8')));
}

/** Loads an online feature snapshot from the serving bucket into the in-memory store the API serves from. */
export async function loadSnapshotStore(store: ArtifactStore, bucket: string, key: string): Promise<SnapshotOnlineStore> {
  return new SnapshotOnlineStore(await readSnapshot(store, bucket, key));
}
