import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InferenceSession } from 'onnxruntime-node';
import { createFeatureActivities } from '../../../activities/features/feature-activities.ts';
import { createIngestActivities } from '../../../activities/ingest/ingest-activities.ts';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import { runOnnx } from '../../../api/scoring/run-onnx.ts';
import { openDuckDb } from '../../../domain/duckdb/duckdb-session.ts';
import { type FeatureValue, compileOnlineFeatures } from '../../../domain/features/online-features.ts';
import { type SkewObservation, modelInputs, summarizeSkew } from '../../../domain/features/online-skew.ts';
import { loadSnapshotStore } from '../../../domain/features/online-snapshot-loader.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { type FeatureSpecInput, featureSpecSchema } from '../../../shared/data/feature-spec.ts';
import { createLogger } from '../../../shared/logger.ts';
import type { ModelManifest } from '../../../shared/registry.ts';
import { flightsManifest, trainFlightsModel } from '../../unit/api/support/flights-model.ts';
import { type TestApi, startTestApi, testConfig, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { stackConfig } from '../../support/stack.ts';
import { FLIGHTS_PARQUET, type FixtureDir, bucketSettings, fixtureDir, isolatedBuckets, runActivity, sqlPath } from '../data/fixtures.ts';

const MINUTE = 60_000;

/**
 * Online/offline skew measured through the real API: Boston's departures of 1-8 June 2001 (about 3 000
 * real flights), features built and a snapshot materialized as of an instant S on the last day by the
 * activities into MinIO, the API serving that snapshot. Each event is scored by the API's predict
 * endpoint and compared with its offline point-in-time row (the feature build's SQL at the event's
 * own time), scored in-process by the same ONNX model.
 */
describe('online/offline skew between refreshes', () => {
  const store = MinioArtifactStore.fromConfig(stackConfig().minio);
  const flightsSpec = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../examples/flights/features.json'), 'utf8')) as FeatureSpecInput;
  const spec = featureSpecSchema.parse({ ...flightsSpec, splits: [{ name: 'all', from: '2001-06-01' }], reference: { ...flightsSpec.reference, split: 'all' } });
  const online = compileOnlineFeatures(spec);
  let fixtures: FixtureDir;
  let api: TestApi;
  let definitions: StoredFeatureDefinitions;
  let manifest: ModelManifest;
  let session: InferenceSession;
  /** Offline rows by event time (epoch ms), each as the feature vector in `online.featureNames` order and the raw event the API receives. */
  let offline: { t: number; features: FeatureValue[]; event: Record<string, unknown> }[];
  let snapshotAt: number;
  let snapshotStore: Awaited<ReturnType<typeof loadSnapshotStore>>;

  before(async () => {
    fixtures = fixtureDir();
    const buckets = await isolatedBuckets(store, 'skew');
    const config = testConfig(bucketSettings(buckets));
    const raw = fixtures.path('boston.parquet');
    await fixtures.sql(`COPY (SELECT * FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) WHERE origin = 'BOS' AND date >= TIMESTAMP '2001-06-01' AND date < TIMESTAMP '2001-06-09') TO ${sqlPath(raw)} (FORMAT parquet)`);
    const ingest = createIngestActivities({ store, buckets, workDir: fixtures.dir });
    const features = createFeatureActivities({ store, buckets, workDir: fixtures.dir });
    const { datasetVersion } = await runActivity((i) => ingest.ingestDataset(i), { datasetName: 'flights-boston', source: raw });
    const tables = await runActivity((i) => features.buildFeatures(i), { datasetVersion, features: spec });

    using duck = await openDuckDb({ tempDirectory: fixtures.dir });
    const local = fixtures.path('all.parquet');
    await store.getFile(buckets.features, tables.splits.all?.key ?? assert.fail('no split "all"'), local);
    const rows = (await duck.db.runAndReadAll(`SELECT * FROM read_parquet(${sqlPath(local)}) WHERE date >= TIMESTAMP '2001-06-08' ORDER BY date, destination`)).getRowObjectsJS();
    offline = rows.map((row) => {
      const date = row.date as Date;
      const features = online.featureNames.map((name) => row[name] as FeatureValue);
      return { t: date.getTime(), features, event: { date: date.toISOString().slice(0, 19), distance: row.distance_miles, origin: row.origin, destination: row.destination } };
    });
    // S: the busiest departure minute of the day between 08:00 and 20:00, so several events fall on it.
    const perMinute = new Map<number, number>();
    for (const { t } of offline) if (t >= Date.UTC(2001, 5, 8, 8) && t < Date.UTC(2001, 5, 8, 20)) perMinute.set(t, (perMinute.get(t) ?? 0) + 1);
    snapshotAt = [...perMinute].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];

    const { snapshotKey } = await runActivity((i) => features.materializeOnlineFeatures(i), { datasetVersion, features: spec, asOf: new Date(snapshotAt).toISOString() });
    snapshotStore = await loadSnapshotStore(store, buckets.serving, snapshotKey);

    const trained = await trainFlightsModel();
    const registry = new ModelRegistry(store, buckets.models);
    const name = 'skew-flights';
    manifest = await registry.register({
      manifest: { ...flightsManifest(name, trained, 'skew-test'), datasetVersion, featureDefinitionHash: tables.featureDefinitionHash },
      onnx: (version) => trained.model.toOnnx({ modelName: name, modelVersion: version, lineage: { featureDefinitionHash: tables.featureDefinitionHash }, threshold: trained.threshold }),
      registrationKey: 'skew-test',
      by: 'test',
    });
    session = await InferenceSession.create(await registry.onnx(name, manifest.version));
    await writeServingConfig(store, config, { [name]: { primary: manifest.version } }, 1);
    definitions = new StoredFeatureDefinitions(store, config.buckets, 60_000, createLogger('error'));
    api = await startTestApi({ store, config, assemblers: new OnlineFeatureAssemblers(definitions) });
    await api.firstPoll;
  });
  after(async () => {
    await api?.[Symbol.asyncDispose]();
    definitions?.close();
    await session?.release();
    fixtures?.[Symbol.dispose]();
  });

  const score = async (rows: FeatureValue[][]) => [...(await runOnnx(session, modelInputs(rows, online.featureNames, manifest.featureNames), manifest.featureNames.numeric.length, manifest.featureNames.categorical.length))];

  /** Every event with S <= t <= S + lag (only t = S for lag 0), scored by the API (online) and in-process from its offline row. */
  async function measure(lag: number) {
    const events = offline.filter(({ t }) => (lag === 0 ? t === snapshotAt : t > snapshotAt && t <= snapshotAt + lag));
    const res = await api.predict(manifest.name, { events: events.map((e) => e.event) });
    assert.equal(res.status, 200, res.text);
    const apiScores = (res.json.predictions ?? []).map((p) => p.score);
    assert.equal(apiScores.length, events.length);
    const onlineRows = await Promise.all(events.map(async (e) => {
      const vector = await online.vector(e.event, snapshotStore);
      return online.featureNames.map((name) => vector[name] ?? null);
    }));
    // The online vectors computed here over the same snapshot are the ones the API scored.
    (await score(onlineRows)).forEach((s, i) => assert.ok(Math.abs(s - (apiScores[i] as number)) <= 1e-6, `API score ${apiScores[i]} vs ${s} for ${JSON.stringify(events[i]?.event)}`));
    const offlineScores = await score(events.map((e) => e.features));
    const observations: SkewObservation[] = events.map((e, i) => ({ online: onlineRows[i] as FeatureValue[], offline: e.features, onlineScore: apiScores[i] as number, offlineScore: offlineScores[i] as number }));
    return summarizeSkew(observations);
  }

  test('at the snapshot instant every event matches; 15 min and 1 h later the share differing and the score gap are measured', async () => {
    const atS = await measure(0);
    assert.ok(atS.events >= 2, `only ${atS.events} events at S`);
    assert.equal(atS.differing, 0, 'no feature differs at the snapshot instant');
    assert.ok(atS.maxAbsScoreDiff <= 1e-6, `max |score difference| at S = ${atS.maxAbsScoreDiff}`);

    const quarter = await measure(15 * MINUTE);
    const hour = await measure(60 * MINUTE);
    assert.ok(quarter.events > 0 && hour.events > quarter.events, `events: ${quarter.events} within 15 min, ${hour.events} within 1 h`);
    // The 1-h events include the 15-min ones, served by the same snapshot: at least as many differ.
    assert.ok(hour.differing >= quarter.differing);
    for (const [label, s] of [['S', atS], ['S+15min', quarter], ['S+1h', hour]] as const) {
      console.log(`skew ${label}: ${s.events} events, ${(100 * s.shareDiffering).toFixed(1)} % with a feature differing, max |Δscore| ${s.maxAbsScoreDiff.toExponential(3)}, mean ${s.meanAbsScoreDiff.toExponential(3)}`);
    }
  });
});
