import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import { type DatasetManifest, sha256Schema } from '../../shared/data/dataset.ts';
import { type FeatureSpec, type FeatureSpecInput, featureSpecSchema, featureTableColumns } from '../../shared/data/feature-spec.ts';
import { type FeatureTablesManifest, type ReferenceStats, featureTablesManifestSchema } from '../../shared/data/feature-tables.ts';
import { type OnlineSnapshot, onlineSnapshotSchema } from '../../shared/data/online-snapshot.ts';
import { parseTimestamp } from '../../shared/data/timestamp.ts';
import { ErrorType } from '../../shared/errors.ts';
import { featureKeys, onlineFeatureKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { parseInput } from '../../shared/parse-input.ts';
import { stageDataset } from '../../domain/datasets/dataset-staging.ts';
import { requireManifest } from '../../domain/datasets/dataset-store.ts';
import { countOf, openDuckDb } from '../../domain/duckdb/duckdb-session.ts';
import { startProgress } from '../heartbeat.ts';
import { buildFeatureTables, prepareAggregates, writeSplits } from '../../domain/features/build-features.ts';
import { valueTypeOfDuckDbType } from '../../domain/features/expression/expression-sql.ts';
import { planFeatures } from '../../domain/features/feature-sql.ts';
import { materializeSnapshotTables } from '../../domain/features/materialize-snapshot.ts';
import { computeReferenceStats } from '../../domain/features/reference-stats.ts';
import { featureDefinitionHash } from '../../domain/features/spec-hash.ts';

export const buildFeaturesInputSchema = z.strictObject({
  datasetVersion: sha256Schema,
  features: featureSpecSchema,
});
export type BuildFeaturesInput = { datasetVersion: string; features: FeatureSpecInput };

/** Shaped like the pipeline's `FeatureTables` (activities/pipeline/contract.ts), plus where everything is. */
export interface BuiltFeatureTables {
  datasetVersion: string;
  featureDefinitionHash: string;
  manifestKey: string;
  splits: Record<string, { key: string; rows: number }>;
  referenceStatsKey: string;
  featureNames: { numeric: string[]; categorical: string[] };
  labelColumn: string;
  entityKeys: string[];
  eventTimeColumn: string;
  /** True when these tables already existed for this (spec, dataset): nothing was rebuilt. */
  reused: boolean;
}

export const materializeInputSchema = z.strictObject({
  datasetVersion: sha256Schema,
  features: featureSpecSchema,
  /** Values cover what was known strictly before this instant; by default just after the latest event time in the dataset. */
  asOf: z.string().refine((s) => parseTimestamp(s) !== undefined, 'expected an ISO 8601 timestamp').optional(),
});
export type MaterializeInput = { datasetVersion: string; features: FeatureSpecInput; asOf?: string };

export interface MaterializedSnapshot {
  snapshotKey: string;
  asOf: string;
  featureDefinitionHash: string;
  datasetVersion: string;
  /** Groups with an entry, per group-by key set (joined by '+'). */
  entries: Record<string, number>;
}

/** Every column the spec declares must exist in the dataset with a type of the declared kind. */
function checkSchema(spec: FeatureSpec, manifest: DatasetManifest): Record<string, string> {
  const types = Object.fromEntries(manifest.schema.map((c) => [c.name, c.type]));
  const problems = Object.entries(spec.columns).flatMap(([name, wanted]) => {
    const actual = types[name];
    if (actual === undefined) return [`column "${name}" is missing`];
    return valueTypeOfDuckDbType(actual) === wanted ? [] : [`column "${name}" is ${actual}, the spec declares ${wanted}`];
  });
  if (problems.length) {
    throw ApplicationFailure.nonRetryable(`dataset ${manifest.version.slice(0, 12)} does not fit feature spec "${spec.name}": ${problems.join('; ')}`, ErrorType.SchemaMismatch, { problems });
  }
  return types;
}

function result(manifest: FeatureTablesManifest, manifestKey: string, reused: boolean): BuiltFeatureTables {
  return {
    datasetVersion: manifest.datasetVersion,
    featureDefinitionHash: manifest.featureSpecHash,
    manifestKey,
    splits: Object.fromEntries(Object.entries(manifest.splits).map(([name, s]) => [name, { key: s.key, rows: s.rows }])),
    referenceStatsKey: manifest.referenceStatsKey,
    featureNames: { numeric: manifest.columns.numeric, categorical: manifest.columns.categorical },
    labelColumn: manifest.columns.label,
    entityKeys: manifest.columns.entityKeys,
    eventTimeColumn: manifest.columns.eventTime,
    reused,
  };
}

/** The dataset staged to local files (every partition) and the plan for it; the caller owns `dir`. */
async function stage(store: ArtifactStore, buckets: Config['buckets'], datasetVersion: string, spec: FeatureSpec, dir: string) {
  const manifest = await requireManifest(store, buckets.datasets, datasetVersion);
  const plan = planFeatures(spec, checkSchema(spec, manifest));
  const { relation } = await stageDataset(store, buckets.datasets, manifest, dir);
  return { manifest, plan, relation };
}

const json = (value: unknown) => JSON.stringify(value, null, 2);
const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * Feature tables and online snapshots. Both stage the raw dataset, run the same plan (feature-sql.ts)
 * and write to keys named by (feature-definition hash, dataset version), so a retry rewrites the same
 * objects, and a second build of the same pair finds the manifest (written last) and stops.
 */
export const createFeatureActivities = (deps: { store: ArtifactStore; buckets: Config['buckets']; workDir?: string }) => {
  const { store, buckets } = deps;
  const workDir = () => mkdtemp(join(deps.workDir ?? tmpdir(), 'sluice-features-'));

  return {
    async buildFeatures(rawInput: BuildFeaturesInput): Promise<BuiltFeatureTables> {
      const input = parseInput(buildFeaturesInputSchema, rawInput, (problems) => `invalid buildFeatures input: ${problems.join('; ')}`);
      const spec = input.features;
      const hash = featureDefinitionHash(spec);
      const version = input.datasetVersion;
      const manifestKey = featureKeys.manifest(hash, version);
      if (await store.stat(buckets.features, manifestKey)) {
        const existing = featureTablesManifestSchema.parse(JSON.parse((await store.get(buckets.features, manifestKey)).toString('utf8')));
        return result(existing, manifestKey, true);
      }

      using progress = startProgress('buildFeatures');
      const dir = await workDir();
      try {
        progress.report({ stage: 'staging', datasetVersion: version });
        const { plan, relation } = await stage(store, buckets, version, spec, dir);
        using duck = await openDuckDb({ tempDirectory: dir });
        const { db } = duck;
        const { events } = await buildFeatureTables(db, plan, relation, (s) => progress.report({ stage: s, datasetVersion: version }));
        const { splits: written, newestEventMs } = await writeSplits(db, plan, dir, (s) => progress.report({ stage: s, datasetVersion: version }));
        const withoutLabel = await countOf(db, 'SELECT count(*) FROM __features WHERE __label IS NULL');

        progress.report({ stage: 'reference statistics', datasetVersion: version });
        const columns = featureTableColumns(spec);
        const reference = written.find((w) => w.name === spec.reference.split);
        if (!reference) throw new Error(`reference split ${spec.reference.split} was not written`);
        const stats: ReferenceStats = {
          kind: 'sluice.reference-stats',
          featureSpecHash: hash,
          datasetVersion: version,
          split: reference.name,
          ...(await computeReferenceStats(db, reference.path, { features: columns.features, label: columns.label }, spec.reference)),
        };

        progress.report({ stage: 'uploading', datasetVersion: version });
        const splits: FeatureTablesManifest['splits'] = {};
        for (const w of written) {
          const key = featureKeys.table(hash, version, w.name);
          await store.putFile(buckets.features, key, w.path, { contentType: 'application/vnd.apache.parquet' });
          splits[w.name] = { key, rows: w.rows, from: iso(w.from), until: iso(w.until) };
        }
        const referenceStatsKey = featureKeys.referenceStats(hash, version);
        await store.put(buckets.features, referenceStatsKey, json(stats), { contentType: 'application/json' });
        const manifest: FeatureTablesManifest = {
          kind: 'sluice.feature-tables',
          featureSpecHash: hash,
          datasetVersion: version,
          spec,
          columns: {
            entityKeys: columns.entityKeys,
            eventTime: columns.eventTime,
            numeric: columns.features.filter((f) => f.kind === 'numeric').map((f) => f.name),
            categorical: columns.features.filter((f) => f.kind === 'categorical').map((f) => f.name),
            label: columns.label,
          },
          splits,
          newestEventTime: iso(newestEventMs),
          referenceStatsKey,
          events: { total: events, withoutLabel, outsideSplits: events - withoutLabel - written.reduce((sum, w) => sum + w.rows, 0) },
        };
        await store.put(buckets.features, manifestKey, json(manifest), { contentType: 'application/json' });
        return result(manifest, manifestKey, false);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async materializeOnlineFeatures(rawInput: MaterializeInput): Promise<MaterializedSnapshot> {
      const input = parseInput(materializeInputSchema, rawInput, (problems) => `invalid materializeOnlineFeatures input: ${problems.join('; ')}`);
      const spec = input.features;
      const hash = featureDefinitionHash(spec);
      const version = input.datasetVersion;
      using progress = startProgress('materializeOnlineFeatures');
      const dir = await workDir();
      try {
        progress.report({ stage: 'staging', datasetVersion: version });
        const { plan, relation } = await stage(store, buckets, version, spec, dir);
        using duck = await openDuckDb({ tempDirectory: dir });
        const { db } = duck;
        await prepareAggregates(db, plan, relation, (s) => progress.report({ stage: s, datasetVersion: version }));
        const asOf = input.asOf !== undefined ? (parseTimestamp(input.asOf) as number) : (await countOf(db, 'SELECT epoch_ms(max(__t)) FROM __events')) + 1;
        progress.report({ stage: 'materializing', datasetVersion: version, asOf: new Date(asOf).toISOString() });
        const tables = (await materializeSnapshotTables(db, plan, [asOf])).get(asOf) ?? [];
        const snapshot: OnlineSnapshot = onlineSnapshotSchema.parse({
          kind: 'sluice.online-feature-snapshot',
          featureSpecHash: hash,
          datasetVersion: version,
          asOf: new Date(asOf).toISOString(),
          tables,
        });
        const snapshotKey = onlineFeatureKeys.snapshot(hash, version, snapshot.asOf);
        await store.put(buckets.serving, snapshotKey, JSON.stringify(snapshot), { contentType: 'application/json' });
        return {
          snapshotKey,
          asOf: snapshot.asOf,
          featureDefinitionHash: hash,
          datasetVersion: version,
          entries: Object.fromEntries(tables.map((t) => [t.groupBy.join('+'), t.entries.length])),
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
};

export type FeatureActivities = ReturnType<typeof createFeatureActivities>;
