import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { type AggregateValues, type OnlineFeatureStore, type OnlineLookup, SnapshotOnlineStore } from '../../domain/features/online-store.ts';
import { featureDefinitionHash } from '../../domain/features/spec-hash.ts';
import { loadSnapshotStore } from '../../domain/features/online-snapshot-loader.ts';
import { analysedFeatureSpec, featureSpecSchema } from '../../shared/data/feature-spec.ts';
import { featureTablesManifestSchema } from '../../shared/data/feature-tables.ts';
import type { Config } from '../../shared/config.ts';
import type { ModelManifest } from '../../shared/registry.ts';
import { featureKeys, onlineFeatureKeys } from '../../shared/storage-keys.ts';
import type { Logger } from '../../shared/logger.ts';
import { FeatureWiringError } from './feature-assembler.ts';
import type { FeatureDefinitionSource, OnlineFeatureDefinition } from './online-feature-assembler.ts';

const AS_OF = /\/as-of=([^/]+)\.json$/;

/**
 * An online store that follows the newest snapshot of one spec: reads go to the snapshot in use,
 * and `refresh` swaps in a newer one when the materialization has written it, keeping the old one
 * when the store cannot be read.
 */
class FollowingSnapshotStore implements OnlineFeatureStore {
  constructor(
    private current: OnlineFeatureStore,
    private currentKey: string,
  ) {}

  get asOf(): number {
    return this.current.asOf;
  }

  get(lookups: readonly OnlineLookup[]): Promise<(AggregateValues | undefined)[]> {
    return this.current.get(lookups);
  }

  get key(): string {
    return this.currentKey;
  }

  swap(store: OnlineFeatureStore, key: string): void {
    this.current = store;
    this.currentKey = key;
  }
}

/**
 * Feature definitions as the pipeline stores them: a model's manifest names its feature-definition
 * hash and dataset version; the feature build's manifest (features bucket) holds the spec, and the
 * materialized online snapshots (serving bucket, newest as-of wins) hold the windowed aggregates.
 * A spec without aggregates needs no snapshot. Snapshots are re-checked every `refreshMs`.
 */
export class StoredFeatureDefinitions implements FeatureDefinitionSource {
  private readonly loaded = new Map<string, Promise<OnlineFeatureDefinition>>();
  private readonly followers = new Map<string, FollowingSnapshotStore>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: ArtifactStore,
    private readonly buckets: Config['buckets'],
    refreshMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.refresh(), refreshMs);
    this.timer.unref();
  }

  /** One read per feature-definition hash, shared by every model version built on it. */
  load(manifest: ModelManifest): Promise<OnlineFeatureDefinition> {
    const hash = manifest.featureDefinitionHash;
    let loading = this.loaded.get(hash);
    if (!loading) {
      loading = this.read(hash, manifest.datasetVersion);
      this.loaded.set(hash, loading);
      loading.catch(() => this.loaded.delete(hash));
    }
    return loading;
  }

  private async read(hash: string, datasetVersion: string): Promise<OnlineFeatureDefinition> {
    const key = featureKeys.manifest(hash, datasetVersion);
    const raw = featureTablesManifestSchema.parse(JSON.parse((await this.store.get(this.buckets.features, key)).toString('utf8')));
    const spec = featureSpecSchema.parse(raw.spec);
    if (featureDefinitionHash(spec) !== hash) throw new FeatureWiringError(`the spec in s3://${this.buckets.features}/${key} does not hash to ${hash}`);
    if (analysedFeatureSpec(spec).aggregates.length === 0) return { spec, store: new SnapshotOnlineStore({ kind: 'sluice.online-feature-snapshot', featureSpecHash: hash, datasetVersion, asOf: new Date(0).toISOString(), tables: [] }) };
    const newest = await this.newestSnapshotKey(hash);
    if (newest === undefined) throw new FeatureWiringError(`feature spec ${hash} has windowed aggregates but no online snapshot under s3://${this.buckets.serving}/${onlineFeatureKeys.specPrefix(hash)}`);
    const follower = new FollowingSnapshotStore(await loadSnapshotStore(this.store, this.buckets.serving, newest), newest);
    this.followers.set(hash, follower);
    return { spec, store: follower };
  }

  private async newestSnapshotKey(hash: string): Promise<string | undefined> {
    const keys = (await this.store.list(this.buckets.serving, onlineFeatureKeys.specPrefix(hash))).map((o) => o.key).filter((k) => AS_OF.test(k));
    // ISO 8601 instants in UTC sort as text.
    return keys.sort((a, b) => ((AS_OF.exec(a)?.[1] ?? '') < (AS_OF.exec(b)?.[1] ?? '') ? -1 : 1)).at(-1);
  }

  private async refresh(): Promise<void> {
    for (const [hash, follower] of this.followers) {
      try {
        const newest = await this.newestSnapshotKey(hash);
        if (newest === undefined || newest === follower.key) continue;
        follower.swap(await loadSnapshotStore(this.store, this.buckets.serving, newest), newest);
        this.log.info('online feature snapshot updated', { featureSpecHash: hash, key: newest });
      } catch (err) {
        this.log.warn('online feature snapshot refresh failed; keeping the one in use', { featureSpecHash: hash, error: (err as Error).message });
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}

