import { withDeadline } from '../../shared/deadline.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import type { AggregateValues, OnlineFeatureStore, OnlineLookup } from '../../domain/features/online-store.ts';
import { type StoredSnapshot, loadSnapshotStore, newestSnapshot } from '../../domain/features/online-snapshot-loader.ts';
import { loadOnlineDefinition } from '../../domain/features/online-definition.ts';
import type { Config } from '../../shared/config.ts';
import type { ModelManifest } from '../../shared/registry.ts';
import { onlineFeatureKeys } from '../../shared/storage-keys.ts';
import type { Logger } from '../../shared/logger.ts';
import type { SnapshotFreshness } from './feature-freshness.ts';
import type { FeatureDefinitionSource, OnlineFeatureDefinition } from './online-feature-assembler.ts';

/**
 * An online store that follows the newest snapshot of one spec: reads go to the snapshot in use,
 * and `refresh` swaps in a newer one when the materialization has written it, keeping the old one
 * when the store cannot be read. The swap is one assignment: a lookup already running finishes on
 * the snapshot it started with (the old one is then unreferenced and collected), the next one reads
 * the new snapshot; no request waits for a load.
 */
class FollowingSnapshotStore implements OnlineFeatureStore {
  lastError: string | undefined;

  constructor(
    private current: OnlineFeatureStore,
    private served: StoredSnapshot,
  ) {}

  get asOf(): number {
    return this.current.asOf;
  }

  get(lookups: readonly OnlineLookup[]): Promise<(AggregateValues | undefined)[]> {
    return this.current.get(lookups);
  }

  get key(): string {
    return this.served.key;
  }

  get inUse(): OnlineFeatureStore {
    return this.current;
  }

  freshness(): SnapshotFreshness {
    return { key: this.served.key, asOf: this.current.asOf, writtenAt: this.served.lastModified.getTime(), ...(this.lastError === undefined ? {} : { lastError: this.lastError }) };
  }

  swap(store: OnlineFeatureStore, served: StoredSnapshot): void {
    this.current = store;
    this.served = served;
    this.lastError = undefined;
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
  /** A large snapshot can take longer to load than the interval: one refresh at a time. */
  private refreshing = false;

  constructor(
    private readonly store: ArtifactStore,
    private readonly buckets: Config['buckets'],
    private readonly refreshMs: number,
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
    const { spec, store, snapshot } = await loadOnlineDefinition(this.store, this.buckets, { featureDefinitionHash: hash, datasetVersion });
    if (snapshot === undefined) return { spec, store };
    const follower = new FollowingSnapshotStore(store, snapshot);
    this.followers.set(hash, follower);
    return { spec, store: follower };
  }

  /** The snapshot serving a feature spec now; undefined for a spec without windowed aggregates (or not loaded). */
  freshness(featureSpecHash: string): SnapshotFreshness | undefined {
    return this.followers.get(featureSpecHash)?.freshness();
  }

  /** The in-memory snapshot store serving a feature spec now (what a swap replaces). */
  snapshotInUse(featureSpecHash: string): OnlineFeatureStore | undefined {
    return this.followers.get(featureSpecHash)?.inUse;
  }

  private async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      await this.refreshFollowers();
    } finally {
      this.refreshing = false;
    }
  }

  private async refreshFollowers(): Promise<void> {
    for (const [hash, follower] of this.followers) {
      try {
        // Deadlines, so a frozen store shows as a failed refresh (stale in /readyz) instead of a refresh that never ends.
        const newest = await withDeadline(newestSnapshot(this.store, this.buckets.serving, hash), this.refreshMs, `the object store (list s3://${this.buckets.serving}/${onlineFeatureKeys.specPrefix(hash)})`);
        if (newest === undefined || newest.key === follower.key) {
          follower.lastError = undefined;
          continue;
        }
        // A large snapshot takes a while to read and index: ten intervals, not one.
        follower.swap(await withDeadline(loadSnapshotStore(this.store, this.buckets.serving, newest.key), 10 * this.refreshMs, `loading s3://${this.buckets.serving}/${newest.key}`), newest);
        this.log.info('online feature snapshot updated', { featureSpecHash: hash, key: newest.key });
      } catch (err) {
        follower.lastError = (err as Error).message;
        this.log.warn('online feature snapshot refresh failed; keeping the one in use', { featureSpecHash: hash, error: (err as Error).message });
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}

