import { decodeSnapshot, encodeSnapshot, toOnlineSnapshot } from '../../formats/online-snapshot/snapshot-codec.ts';
import { type OnlineSnapshot, onlineSnapshotSchema } from '../../shared/data/online-snapshot.ts';
import { onlineFeatureKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { ColumnarOnlineStore } from './columnar-online-store.ts';
import { type OnlineFeatureStore, SnapshotOnlineStore } from './online-store.ts';

/** Snapshots are written as `.snap` (formats/online-snapshot); `.json` ones written before stay readable. */
const AS_OF = /\/as-of=([^/]+)\.(json|snap)$/;
const isJson = (key: string) => key.endsWith('.json');

/** A snapshot object in the serving bucket, as listed. */
export interface StoredSnapshot {
  key: string;
  /** When the object was written: the refresh that produced it. */
  lastModified: Date;
}

/** Every snapshot of a feature spec, oldest first: by as-of (ISO 8601 UTC instants sort as text), then by when it was written. */
export async function listSnapshots(store: ArtifactStore, bucket: string, specHash: string): Promise<StoredSnapshot[]> {
  const asOf = (key: string) => AS_OF.exec(key)?.[1] ?? '';
  return (await store.list(bucket, onlineFeatureKeys.specPrefix(specHash)))
    .filter((o) => AS_OF.test(o.key))
    .sort((a, b) => (asOf(a.key) < asOf(b.key) ? -1 : asOf(a.key) > asOf(b.key) ? 1 : a.lastModified.getTime() - b.lastModified.getTime()))
    .map((o) => ({ key: o.key, lastModified: o.lastModified }));
}

/** The newest online snapshot of a feature spec (greatest as-of, whatever the dataset version or encoding), or undefined when it has none. */
export async function newestSnapshot(store: ArtifactStore, bucket: string, specHash: string): Promise<StoredSnapshot | undefined> {
  return (await listSnapshots(store, bucket, specHash)).at(-1);
}

/** Writes a snapshot in the compact encoding; returns its key. */
export async function writeSnapshot(store: ArtifactStore, bucket: string, snapshot: OnlineSnapshot): Promise<string> {
  const key = onlineFeatureKeys.snapshot(snapshot.featureSpecHash, snapshot.datasetVersion, snapshot.asOf);
  await store.put(bucket, key, encodeSnapshot(snapshot), { contentType: 'application/octet-stream' });
  return key;
}

/** A snapshot as objects, whichever its encoding: for comparing snapshots on a worker, not for serving. */
export async function readSnapshot(store: ArtifactStore, bucket: string, key: string): Promise<OnlineSnapshot> {
  const body = await store.get(bucket, key);
  if (isJson(key)) return onlineSnapshotSchema.parse(JSON.parse(body.toString('utf8')));
  return toOnlineSnapshot(await decodeSnapshot(body, `s3://${bucket}/${key}`));
}

/**
 * Loads an online feature snapshot from the serving bucket into the store the API serves from. A
 * `.snap` object is decoded in chunks that leave the event loop free between them; a legacy `.json`
 * one is parsed whole, as before, until the next refresh replaces it.
 */
export async function loadSnapshotStore(store: ArtifactStore, bucket: string, key: string): Promise<OnlineFeatureStore> {
  const body = await store.get(bucket, key);
  if (isJson(key)) return new SnapshotOnlineStore(onlineSnapshotSchema.parse(JSON.parse(body.toString('utf8'))));
  return new ColumnarOnlineStore(await decodeSnapshot(body, `s3://${bucket}/${key}`));
}
