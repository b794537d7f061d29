import { analysedFeatureSpec, type FeatureSpec, featureSpecSchema } from '../../shared/data/feature-spec.ts';
import { featureTablesManifestSchema } from '../../shared/data/feature-tables.ts';
import type { Config } from '../../shared/config.ts';
import { SluiceError } from '../../shared/errors.ts';
import type { ModelManifest } from '../../shared/registry.ts';
import { featureKeys, onlineFeatureKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { type StoredSnapshot, loadSnapshotStore, newestSnapshot } from './online-snapshot-loader.ts';
import { type OnlineFeatureStore, SnapshotOnlineStore } from './online-store.ts';
import { featureDefinitionHash } from './spec-hash.ts';

/** A model's stored feature definitions do not fit together (a spec that is not what its hash says, a snapshot missing). */
export class FeatureWiringError extends SluiceError {
  override readonly name = 'FeatureWiringError';
  readonly kind = 'Internal';
}

/** A model version's feature definitions as they are served now: the spec, and the newest online snapshot of its aggregates. */
export interface OnlineDefinition {
  spec: FeatureSpec;
  store: OnlineFeatureStore;
  /** The snapshot read; absent for a spec without windowed aggregates. */
  snapshot?: StoredSnapshot;
}

/**
 * Reads what a model's manifest points at: the feature build's manifest (features bucket) holds the
 * spec, checked against the hash the model was trained on; the newest materialized snapshot (serving
 * bucket) holds the windowed aggregates. A spec without aggregates needs no snapshot.
 */
export async function loadOnlineDefinition(store: ArtifactStore, buckets: Pick<Config['buckets'], 'features' | 'serving'>, manifest: Pick<ModelManifest, 'featureDefinitionHash' | 'datasetVersion'>): Promise<OnlineDefinition> {
  const hash = manifest.featureDefinitionHash;
  const key = featureKeys.manifest(hash, manifest.datasetVersion);
  const raw = featureTablesManifestSchema.parse(JSON.parse((await store.get(buckets.features, key)).toString('utf8')));
  const spec = featureSpecSchema.parse(raw.spec);
  if (featureDefinitionHash(spec) !== hash) throw new FeatureWiringError(`the spec in s3://${buckets.features}/${key} does not hash to ${hash}`);
  if (analysedFeatureSpec(spec).aggregates.length === 0) {
    return { spec, store: new SnapshotOnlineStore({ kind: 'sluice.online-feature-snapshot', featureSpecHash: hash, datasetVersion: manifest.datasetVersion, asOf: new Date(0).toISOString(), tables: [] }) };
  }
  const snapshot = await newestSnapshot(store, buckets.serving, hash);
  if (snapshot === undefined) throw new FeatureWiringError(`feature spec ${hash} has windowed aggregates but no online snapshot under s3://${buckets.serving}/${onlineFeatureKeys.specPrefix(hash)}`);
  return { spec, store: await loadSnapshotStore(store, buckets.serving, snapshot.key), snapshot };
}
