import { onlineSnapshotSchema } from '../../shared/data/online-snapshot.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { SnapshotOnlineStore } from './online-store.ts';

/** Loads an online feature snapshot from the serving bucket into the in-memory store the API serves from. */
export async function loadSnapshotStore(store: ArtifactStore, bucket: string, key: string): Promise<SnapshotOnlineStore> {
  const snapshot = onlineSnapshotSchema.parse(JSON.parse((await store.get(bucket, key)).toString('utf8')));
  return new SnapshotOnlineStore(snapshot);
}
