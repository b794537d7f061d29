import type { Config } from '../../shared/config.ts';
import type { DatasetContract } from '../../shared/data/dataset-contract.ts';
import { featureSpecSchema } from '../../shared/data/feature-spec.ts';
import { sha256Schema } from '../../shared/data/dataset.ts';
import type { OnlineSnapshot } from '../../shared/data/online-snapshot.ts';
import { asFailure, kindFailure } from '../../shared/failure.ts';
import { REFRESH_AS_OF, type SnapshotChanges } from '../../shared/online-refresh.ts';
import { parseInput } from '../../shared/parse-input.ts';
import { pipelineSpecSchema } from '../../shared/pipeline.ts';
import { modelNameSchema } from '../../shared/registry.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { ModelRegistry } from '../../domain/registry/model-registry.ts';
import { newestSnapshot, readSnapshot } from '../../domain/features/online-snapshot-loader.ts';
import { snapshotChanges } from '../../domain/features/snapshot-changes.ts';
import { pruneSnapshots } from '../../domain/features/snapshot-retention.ts';
import { featureDefinitionHash } from '../../domain/features/spec-hash.ts';
import { z } from 'zod';
import { createFeatureActivities } from './feature-activities.ts';

/** An API replica lists, then reads: an hour is far longer than that takes. */
const PRUNE_MIN_AGE_MS = 3_600_000;

const resolveInputSchema = z.strictObject({ model: modelNameSchema });

const refreshSnapshotInputSchema = z.strictObject({
  datasetVersion: sha256Schema,
  features: featureSpecSchema,
  asOf: z.enum(REFRESH_AS_OF),
  keepSnapshots: z.number().int().min(2).optional(),
});

/** What a refresh needs to know about a served model, from its champion's manifest and stored pipeline spec. */
export interface RefreshTarget {
  model: string;
  version: number;
  featureSpecHash: string;
  datasetName: string;
  source: string;
  /** The partition glob of a partitioned source, as in the spec. */
  partitions?: string;
  /** The feature spec as the pipeline stored it (parsed again by the materialization). */
  features: unknown;
  /** The pipeline's data contract, whose value checks a new partition must pass before it is stored. */
  contract?: DatasetContract;
}

export interface RefreshedSnapshot {
  snapshotKey: string;
  previousSnapshotKey: string | null;
  asOf: string;
  featureSpecHash: string;
  changes: SnapshotChanges;
  snapshotsRemoved: number;
}

/**
 * The refresh workflow's own steps; ingestion is the pipeline's `ingestDataset`. Both read the
 * object store only, and the materialization writes to the same key on a retry (the key is named
 * by spec hash, dataset version and as-of instant; `now` is read once per attempt, so a retry after
 * a crash writes a second, equally valid snapshot rather than a half one).
 */
export const createRefreshActivities = (deps: { store: ArtifactStore; buckets: Config['buckets']; workDir?: string; clock?: () => Date }) => {
  const { store, buckets } = deps;
  const clock = deps.clock ?? (() => new Date());
  const registry = new ModelRegistry(store, buckets.models);
  const features = createFeatureActivities(deps);

  return {
    async resolveRefreshTarget(raw: { model: string }): Promise<RefreshTarget> {
      const { model } = parseInput(resolveInputSchema, raw, (problems) => `invalid resolveRefreshTarget input: ${problems.join('; ')}`);
      try {
        const index = await registry.index(model);
        const version = index.aliases.champion;
        if (version === undefined) throw kindFailure('ModelNotFound', `model ${model} has no champion: nothing is served, so there are no online features to refresh`, { model });
        const manifest = await registry.manifest(model, version);
        const specKey = manifest.reports.spec;
        if (specKey === undefined) throw kindFailure('InvalidInput', `${model} v${version} has no stored pipeline spec (manifest.reports.spec), so its dataset source is unknown`, { model, version });
        const spec = pipelineSpecSchema.safeParse(JSON.parse((await store.get(buckets.reports, specKey)).toString('utf8')));
        if (!spec.success) throw kindFailure('StorageCorrupted', `the pipeline spec of ${model} v${version} (s3://${buckets.reports}/${specKey}) no longer parses`, { model, version, specKey });
        const hash = featureDefinitionHash(spec.data.features);
        if (hash !== manifest.featureDefinitionHash) {
          throw kindFailure('StorageCorrupted', `the stored spec of ${model} v${version} hashes to feature spec ${hash.slice(0, 12)}, the manifest names ${manifest.featureDefinitionHash.slice(0, 12)}`, { model, version, specKey });
        }
        return { model, version, featureSpecHash: hash, datasetName: spec.data.dataset.name, source: spec.data.dataset.source, ...(spec.data.dataset.partitions ? { partitions: spec.data.dataset.partitions } : {}), features: spec.data.features, contract: spec.data.contract };
      } catch (err) {
        throw asFailure(err);
      }
    },

    async materializeRefreshSnapshot(raw: { datasetVersion: string; features: unknown; asOf: 'data-end' | 'now'; keepSnapshots?: number }): Promise<RefreshedSnapshot> {
      const input = parseInput(refreshSnapshotInputSchema, raw, (problems) => `invalid materializeRefreshSnapshot input: ${problems.join('; ')}`);
      const hash = featureDefinitionHash(input.features);
      // What the API serves now: the snapshot this one replaces and is compared with.
      const previous = await newestSnapshot(store, buckets.serving, hash);
      const written = await features.materializeOnlineFeatures({
        datasetVersion: input.datasetVersion,
        features: input.features,
        ...(input.asOf === 'now' ? { asOf: clock().toISOString() } : {}),
      });
      const next = await readSnapshot(store, buckets.serving, written.snapshotKey);
      let before: OnlineSnapshot | undefined;
      if (previous && previous.key !== written.snapshotKey) before = await readSnapshot(store, buckets.serving, previous.key);
      // After the new snapshot is written (a failed prune leaves more objects, never fewer to serve).
      const snapshotsRemoved = input.keepSnapshots === undefined ? 0 : await pruneSnapshots(store, buckets.serving, hash, { keep: input.keepSnapshots, minAgeMs: PRUNE_MIN_AGE_MS }, clock().getTime());
      return {
        snapshotKey: written.snapshotKey,
        previousSnapshotKey: previous?.key ?? null,
        asOf: written.asOf,
        featureSpecHash: hash,
        // The same key again (unchanged data, as-of data-end): rewritten with the same values.
        snapshotsRemoved,
        changes: previous?.key === written.snapshotKey ? { keys: snapshotChanges(undefined, next).keys, added: 0, removed: 0, changed: 0 } : snapshotChanges(before, next),
      };
    },
  };
};

export type RefreshActivities = ReturnType<typeof createRefreshActivities>;
