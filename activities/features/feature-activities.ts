import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import { type DatasetManifest, type DatasetPartition, sha256Schema } from '../../shared/data/dataset.ts';
import { type FeatureSpec, type FeatureSpecInput, featureSpecSchema, featureTableColumns, labelTask } from '../../shared/data/feature-spec.ts';
import { type FeatureTablesManifest, type ReferenceStats, featureTablesManifestSchema, referenceStatsSchema, splitKeys } from '../../shared/data/feature-tables.ts';
import { type OnlineSnapshot, onlineSnapshotSchema } from '../../shared/data/online-snapshot.ts';
import { parseTimestamp } from '../../shared/data/timestamp.ts';
import { ErrorType } from '../../shared/errors.ts';
import { featureKeys, validationKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { parseInput } from '../../shared/parse-input.ts';
import { stageDataset } from '../../domain/datasets/dataset-staging.ts';
import { earlierVersions, requireManifest } from '../../domain/datasets/dataset-store.ts';
import { countOf, openDuckDb } from '../../domain/duckdb/duckdb-session.ts';
import { startProgress } from '../heartbeat.ts';
import { type AppendedSplit, type PreviousSplit, buildAppendedFeatureTables, buildFeatureTables, writeAppendedSplits, writeLookback, writeSplits } from '../../domain/features/build-features.ts';
import { appendedPartitions } from '../../domain/features/incremental-plan.ts';
import { quoteString, valueTypeOfDuckDbType } from '../../domain/features/expression/expression-sql.ts';
import { type FeaturePlan, planFeatures } from '../../domain/features/feature-sql.ts';
import { materializeSnapshotTables } from '../../domain/features/materialize-snapshot.ts';
import { type SnapshotEventSource, prepareSnapshotEvents } from '../../domain/features/snapshot-events.ts';
import { writeSnapshot } from '../../domain/features/online-snapshot-loader.ts';
import { computeReferenceStats } from '../../domain/features/reference-stats.ts';
import { labelProblems } from '../../domain/features/label-check.ts';
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
  /** A split is the objects `splitKeys` lists (usually one). */
  splits: Record<string, { key: string; earlier?: string[]; rows: number }>;
  referenceStatsKey: string;
  featureNames: { numeric: string[]; categorical: string[] };
  labelColumn: string;
  entityKeys: string[];
  eventTimeColumn: string;
  /** True when these tables already existed for this (spec, dataset): nothing was rebuilt. */
  reused: boolean;
  /** Full or incremental, and why not incremental (see the manifest's `build`). */
  build: FeatureTablesManifest['build'];
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
  /** Where the events came from (`prepareSnapshotEvents`) and how many were aggregated. */
  events: { source: SnapshotEventSource; count: number };
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
    splits: Object.fromEntries(Object.entries(manifest.splits).map(([name, s]) => [name, { key: s.key, ...(s.earlier ? { earlier: s.earlier } : {}), rows: s.rows }])),
    referenceStatsKey: manifest.referenceStatsKey,
    featureNames: { numeric: manifest.columns.numeric, categorical: manifest.columns.categorical },
    labelColumn: manifest.columns.label,
    entityKeys: manifest.columns.entityKeys,
    eventTimeColumn: manifest.columns.eventTime,
    reused,
    build: manifest.build,
  };
}

const NO_PREVIOUS = 'no earlier version of this dataset';

interface PreviousBuild {
  manifest: DatasetManifest;
  tables: FeatureTablesManifest;
  appended: DatasetPartition[];
}

/** What a build produced before statistics and uploads: the split files (or previous ones reused) and event counts. */
interface Built {
  splits: AppendedSplit[];
  newestEventMs: number | undefined;
  events: number;
  withoutLabel: number;
  build: NonNullable<FeatureTablesManifest['build']>;
}

/**
 * The nearest earlier version in the dataset's history with feature tables for this definition, when
 * the current version only appends partitions to it; otherwise why not.
 */
async function previousBuild({ store, buckets }: Deps, manifest: DatasetManifest, hash: string): Promise<PreviousBuild | { reason: string }> {
  const earlier = await earlierVersions(store, buckets.datasets, manifest.name, manifest.version);
  if (earlier.length === 0) return { reason: NO_PREVIOUS };
  for (const version of earlier) {
    const key = featureKeys.manifest(hash, version);
    if (!(await store.stat(buckets.features, key))) continue;
    const tables = featureTablesManifestSchema.parse(JSON.parse((await store.get(buckets.features, key)).toString('utf8')));
    const before = version.slice(0, 12);
    if (!tables.lookbackKey) return { reason: `the feature tables of dataset ${before} keep no lookback events (built before incremental builds)` };
    if (tables.newestEventTime === undefined) return { reason: `the feature tables of dataset ${before} do not record their newest event` };
    const previous = await requireManifest(store, buckets.datasets, version);
    const check = appendedPartitions(previous, manifest);
    return 'reason' in check ? check : { manifest: previous, tables, appended: check.appended };
  }
  return { reason: `no earlier version of dataset ${manifest.name} has feature tables for this definition` };
}

type Deps = { store: ArtifactStore; buckets: Config['buckets'] };

/**
 * Features of the appended partitions' events only, after the previous build's lookback events; the
 * previous rows are kept as they are. Falls back (returns why) when an appended event is not newer
 * than the previous version's newest.
 */
async function buildAppended(deps: Deps, db: DuckDBConnection, plan: FeaturePlan, previous: PreviousBuild, dir: string, onStage: (stage: string) => void): Promise<Built | { reason: string }> {
  const { store, buckets } = deps;
  const appendedDir = join(dir, 'appended');
  await mkdir(appendedDir);
  const { relation } = await stageDataset(store, buckets.datasets, { ...previous.manifest, partitions: previous.appended }, appendedDir);
  const lookbackPath = join(dir, 'previous-lookback.parquet');
  await store.getFile(buckets.features, previous.tables.lookbackKey as string, lookbackPath);
  const previousNewestMs = previous.tables.newestEventTime === null ? undefined : parseTimestamp(previous.tables.newestEventTime as string);
  const previousEvents = previous.tables.events.total;
  const appended = await buildAppendedFeatureTables(db, plan, { source: relation, lookbackPath, previousEvents, previousNewestMs }, onStage);
  const before = previous.manifest.version.slice(0, 12);
  if ('olderEventMs' in appended) {
    return { reason: `an added partition has an event at ${iso(appended.olderEventMs)}, not after the newest event of dataset ${before} (${previous.tables.newestEventTime})` };
  }
  const previousSplits: PreviousSplit[] = Object.entries(previous.tables.splits).map(([name, s]) => {
    const keys = splitKeys(s);
    let staged: Promise<string[]> | undefined;
    const download = async () => {
      const paths = keys.map((_, i) => join(dir, `previous-${name}-${i}.parquet`));
      for (const [i, key] of keys.entries()) await store.getFile(buckets.features, key, paths[i] as string);
      return paths;
    };
    return {
      name,
      from: s.from === null ? undefined : parseTimestamp(s.from),
      until: s.until === null ? undefined : parseTimestamp(s.until),
      rows: s.rows,
      parts: keys.length,
      paths: () => (staged ??= download()),
    };
  });
  const { splits, newestEventMs } = await writeAppendedSplits(db, plan, dir, previousSplits, previousEvents, onStage);
  const withoutLabel = previous.tables.events.withoutLabel + (await countOf(db, `SELECT count(*) FROM __features WHERE __label IS NULL AND __row > ${previousEvents}`));
  return {
    splits,
    newestEventMs,
    events: previousEvents + appended.appended,
    withoutLabel,
    build: { mode: 'incremental', previousVersion: previous.manifest.version, appendedEvents: appended.appended },
  };
}

/** Features of every event of the dataset. */
async function buildFull(deps: Deps, db: DuckDBConnection, plan: FeaturePlan, manifest: DatasetManifest, dir: string, reason: string, onStage: (stage: string) => void): Promise<Built> {
  const { relation } = await stageDataset(deps.store, deps.buckets.datasets, manifest, dir);
  const { events } = await buildFeatureTables(db, plan, relation, onStage);
  const { splits, newestEventMs } = await writeSplits(db, plan, dir, onStage);
  const withoutLabel = await countOf(db, 'SELECT count(*) FROM __features WHERE __label IS NULL');
  return {
    splits: splits.map((w) => ({ ...w, reused: false as const })),
    newestEventMs,
    events,
    withoutLabel,
    build: reason === NO_PREVIOUS ? { mode: 'full' } : { mode: 'full', reason },
  };
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
        const onStage = (stage: string) => progress.report({ stage, datasetVersion: version });
        onStage('staging');
        const manifest = await requireManifest(store, buckets.datasets, version);
        const plan = planFeatures(spec, checkSchema(spec, manifest));
        using duck = await openDuckDb({ tempDirectory: dir });
        const { db } = duck;
        const columns = featureTableColumns(spec);
        const previous = await previousBuild(deps, manifest, hash);
        let built: Built | { reason: string } = 'reason' in previous ? previous : await buildAppended(deps, db, plan, previous, dir, onStage);
        if ('reason' in built) {
          if (built.reason !== NO_PREVIOUS) log.info(`buildFeatures: full build of dataset ${version.slice(0, 12)}: ${built.reason}`);
          built = await buildFull(deps, db, plan, manifest, dir, built.reason, onStage);
        }

        onStage('label check');
        // Only rows written by this build: reused and earlier parts were checked when they were built.
        const task = labelTask(spec);
        const fresh = built.splits.flatMap((w) => (w.reused ? [] : [w.path]));
        if (task.kind !== 'binary' && fresh.length > 0) {
          const problems = await labelProblems(db, `read_parquet([${fresh.map(quoteString).join(', ')}])`, columns.label, task);
          if (problems.length) {
            // Reported like a failed contract check, so the run ends `validation-failed` with the report to read.
            const reportKey = validationKeys.labelReport(version, hash);
            await store.put(buckets.reports, reportKey, json({ datasetVersion: version, featureDefinitionHash: hash, label: columns.label, task, problems }), { contentType: 'application/json' });
            throw ApplicationFailure.nonRetryable(`dataset ${version.slice(0, 12)} has labels a ${task.kind} model cannot learn from: ${problems.map((p) => p.message).join('; ')}`, ErrorType.DatasetInvalid, {
              reportKey,
              failedChecks: problems.map((p) => p.message),
            });
          }
        }

        onStage('reference statistics');
        const referenceStatsKey = featureKeys.referenceStats(hash, version);
        const reference = built.splits.find((w) => w.name === spec.reference.split);
        if (!reference) throw new Error(`reference split ${spec.reference.split} was not written`);
        let stats: ReferenceStats;
        if (reference.reused && 'tables' in previous) {
          // The same rows as the previous build's reference split: the same statistics.
          const before = referenceStatsSchema.parse(JSON.parse((await store.get(buckets.features, previous.tables.referenceStatsKey)).toString('utf8')));
          stats = { ...before, datasetVersion: version };
        } else if (!reference.reused) {
          stats = {
            kind: 'sluice.reference-stats',
            featureSpecHash: hash,
            datasetVersion: version,
            split: reference.name,
            ...(await computeReferenceStats(db, reference.appendedTo ? [...(await reference.appendedTo.paths()), reference.path] : [reference.path], { features: columns.features, label: columns.label, labelKind: task.kind }, spec.reference)),
          };
        } else throw new Error(`reference split ${spec.reference.split} was reused without a previous build`);

        onStage('uploading');
        const splits: FeatureTablesManifest['splits'] = {};
        for (const w of built.splits) {
          const before = 'tables' in previous ? previous.tables.splits[w.name] : undefined;
          let key = featureKeys.table(hash, version, w.name);
          let earlier: string[] = [];
          if (w.reused) ({ key, earlier = [] } = before as NonNullable<typeof before>);
          else {
            await store.putFile(buckets.features, key, w.path, { contentType: 'application/vnd.apache.parquet' });
            if (w.appendedTo) earlier = splitKeys(before as NonNullable<typeof before>);
          }
          splits[w.name] = { key, ...(earlier.length ? { earlier } : {}), rows: w.rows, from: iso(w.from), until: iso(w.until) };
        }
        const lookbackPath = join(dir, 'lookback.parquet');
        await writeLookback(db, plan, lookbackPath, built.newestEventMs);
        const lookbackKey = featureKeys.lookback(hash, version);
        await store.putFile(buckets.features, lookbackKey, lookbackPath, { contentType: 'application/vnd.apache.parquet' });
        await store.put(buckets.features, referenceStatsKey, json(stats), { contentType: 'application/json' });
        const tablesManifest: FeatureTablesManifest = {
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
          newestEventTime: iso(built.newestEventMs),
          referenceStatsKey,
          lookbackKey,
          build: built.build,
          events: { total: built.events, withoutLabel: built.withoutLabel, outsideSplits: built.events - built.withoutLabel - built.splits.reduce((sum, w) => sum + w.rows, 0) },
        };
        await store.put(buckets.features, manifestKey, json(tablesManifest), { contentType: 'application/json' });
        return result(tablesManifest, manifestKey, false);
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
        const manifest = await requireManifest(store, buckets.datasets, version);
        const plan = planFeatures(spec, checkSchema(spec, manifest));
        using duck = await openDuckDb({ tempDirectory: dir });
        const { db } = duck;
        const onStage = (stage: string) => progress.report({ stage, datasetVersion: version });
        const prepared = await prepareSnapshotEvents({ store, buckets, db, plan, dataset: manifest, specHash: hash, dir, onStage }, input.asOf === undefined ? undefined : parseTimestamp(input.asOf));
        if (prepared.fullReason) log.info(`materializeOnlineFeatures: read all of dataset ${version.slice(0, 12)}: ${prepared.fullReason}`);
        const asOf = prepared.asOf;
        progress.report({ stage: 'materializing', datasetVersion: version, asOf: new Date(asOf).toISOString(), events: prepared.events, source: prepared.source });
        const tables = (await materializeSnapshotTables(db, plan, [asOf])).get(asOf) ?? [];
        const snapshot: OnlineSnapshot = onlineSnapshotSchema.parse({
          kind: 'sluice.online-feature-snapshot',
          featureSpecHash: hash,
          datasetVersion: version,
          asOf: new Date(asOf).toISOString(),
          tables,
        });
        const snapshotKey = await writeSnapshot(store, buckets.serving, snapshot);
        return {
          snapshotKey,
          asOf: snapshot.asOf,
          featureDefinitionHash: hash,
          datasetVersion: version,
          entries: Object.fromEntries(tables.map((t) => [t.groupBy.join('+'), t.entries.length])),
          events: { source: prepared.source, count: prepared.events },
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
};

export type FeatureActivities = ReturnType<typeof createFeatureActivities>;
