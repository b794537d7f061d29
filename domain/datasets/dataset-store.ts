import { ApplicationFailure } from '@temporalio/common';
import { type DatasetHistory, type DatasetManifest, datasetHistorySchema, datasetManifestSchema } from '../../shared/data/dataset.ts';
import { ErrorType } from '../../shared/errors.ts';
import { datasetKeys } from '../../shared/storage-keys.ts';
import { type ArtifactStore, PreconditionFailedError } from '../object-store/artifact-store.ts';

/** Manifests and per-name histories in the datasets bucket. */

export async function findManifest(store: ArtifactStore, bucket: string, version: string): Promise<DatasetManifest | undefined> {
  const key = datasetKeys.manifest(version);
  if (!(await store.stat(bucket, key))) return undefined;
  return datasetManifestSchema.parse(JSON.parse((await store.get(bucket, key)).toString('utf8')));
}

/** The manifest of an ingested version, or a non-retryable DatasetNotFound failure. */
export async function requireManifest(store: ArtifactStore, bucket: string, version: string): Promise<DatasetManifest> {
  const manifest = await findManifest(store, bucket, version);
  if (!manifest) {
    throw ApplicationFailure.nonRetryable(`dataset version ${version} was never ingested (no ${datasetKeys.manifest(version)} in bucket ${bucket})`, ErrorType.DatasetNotFound, {
      datasetVersion: version,
    });
  }
  return manifest;
}

export async function readHistory(store: ArtifactStore, bucket: string, name: string): Promise<{ history: DatasetHistory; etag: string } | undefined> {
  const key = datasetKeys.history(name);
  const info = await store.stat(bucket, key);
  if (!info) return undefined;
  const history = datasetHistorySchema.parse(JSON.parse((await store.get(bucket, key)).toString('utf8')));
  return { history, etag: info.etag };
}

/** The versions of a dataset listed before `version` (all listed, when it is not), newest first: where incremental work looks for a base. */
export async function earlierVersions(store: ArtifactStore, bucket: string, name: string, version: string): Promise<string[]> {
  const versions = (await readHistory(store, bucket, name))?.history.versions.map((v) => v.version) ?? [];
  const at = versions.indexOf(version);
  return (at < 0 ? versions : versions.slice(0, at)).filter((v) => v !== version).reverse();
}

/** The version listed just before `version` in a history (undefined for the first, or one not listed). */
export function versionBefore(history: DatasetHistory | undefined, version: string): string | undefined {
  const versions = history?.versions ?? [];
  const at = versions.findIndex((v) => v.version === version);
  return at > 0 ? versions[at - 1]?.version : undefined;
}

/**
 * Adds a version to its name's history unless it is already listed, with a compare-and-swap on the
 * history object so two concurrent ingests under one name cannot lose each other's entry.
 */
export async function recordInHistory(store: ArtifactStore, bucket: string, name: string, entry: DatasetHistory['versions'][number]): Promise<DatasetHistory> {
  const key = datasetKeys.history(name);
  for (let attempt = 0; attempt < 20; attempt++) {
    const current = await readHistory(store, bucket, name);
    if (current?.history.versions.some((v) => v.version === entry.version)) return current.history;
    const next: DatasetHistory = { kind: 'sluice.dataset-history', name, versions: [...(current?.history.versions ?? []), entry] };
    try {
      await store.put(bucket, key, JSON.stringify(next, null, 2), {
        contentType: 'application/json',
        onlyIf: current ? { etag: current.etag } : { absent: true },
      });
      return next;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
  throw new Error(`history of dataset ${name} kept changing under 20 attempts to update it`);
}
