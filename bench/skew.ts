/**
 * Online/offline skew on the real flights: every departure of one June day, each compared at its own
 * time T with its offline point-in-time features (the feature build's SQL), while online it is served
 * from the latest refresh at or before T, refreshes every 15 min or every hour from the day's start.
 * Online features come from `compileOnlineFeatures` over a `SnapshotOnlineStore` built from
 * `materializeSnapshotTables`: the API's own path, without HTTP. Both sides are scored in-process by
 * the same ONNX model: a GBDT fitted here to the real flights of the days before (1-11 June, validated
 * on 12-14 June), so the score gaps are those of a model that relies on these features as trained.
 *
 * Run: npm run bench:skew (no servers needed). Prints, per refresh interval, the share of events with
 * a feature differing (beyond 1e-6) and the max and mean |score difference|; the last line is JSON.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { runOnnx } from '../api/scoring/run-onnx.ts';
import { openDuckDb } from '../domain/duckdb/duckdb-session.ts';
import { buildFeatureTables } from '../domain/features/build-features.ts';
import { quoteString } from '../domain/features/expression/expression-sql.ts';
import { planFeatures } from '../domain/features/feature-sql.ts';
import { materializeSnapshotTables } from '../domain/features/materialize-snapshot.ts';
import { type FeatureValue, compileOnlineFeatures } from '../domain/features/online-features.ts';
import { type SkewObservation, featuresDiffer, latestRefresh, modelInputs, summarizeSkew } from '../domain/features/online-skew.ts';
import { SnapshotOnlineStore } from '../domain/features/online-store.ts';
import { featureDefinitionHash } from '../domain/features/spec-hash.ts';
import { featureSpecSchema } from '../shared/data/feature-spec.ts';
import { onlineSnapshotSchema } from '../shared/data/online-snapshot.ts';
import { FLIGHTS_FEATURES } from '../test/unit/api/support/flights-model.ts';
import { loadFeatureMatrix } from '../domain/training/load-feature-matrix.ts';
import { trainModel } from '../domain/training/train-model.ts';
import { trainerSpecSchema } from '../shared/trainers.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FLIGHTS = join(ROOT, 'node_modules/vega-datasets/data/flights-3m.parquet');
const spec = featureSpecSchema.parse(JSON.parse(readFileSync(join(ROOT, 'examples/flights/features.json'), 'utf8')));
const DAY = Date.UTC(2001, 5, 15);
const DAY_MS = 86_400_000;
const INTERVALS = [{ label: '15min', ms: 15 * 60_000 }, { label: '1h', ms: 3_600_000 }];
const round = (x: number, digits = 6) => Number(x.toPrecision(digits));

const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-skew-'));
try {
  using duck = await openDuckDb({ tempDirectory: dir });
  const { db } = duck;
  const started = performance.now();
  // Two weeks of history before the day (the windows are 7 days, and a late label is known days after its flight), the day itself.
  const source = `(SELECT * FROM read_parquet(${quoteString(FLIGHTS)}) WHERE date >= TIMESTAMP '2001-06-01' AND date < TIMESTAMP ${quoteString(new Date(DAY + DAY_MS).toISOString().slice(0, 19))})`;
  const plan = planFeatures(spec, { date: 'TIMESTAMP', delay: 'BIGINT', distance: 'BIGINT', origin: 'VARCHAR', destination: 'VARCHAR' });
  const { events: history } = await buildFeatureTables(db, plan, source);
  const online = compileOnlineFeatures(spec);
  const columns = online.featureNames.map((n) => `"${n}"`).join(', ');
  const rows = (await db.runAndReadAll(`SELECT epoch_ms(__t) AS t, origin, destination, ${columns} FROM __features WHERE __t >= TIMESTAMP ${quoteString(new Date(DAY).toISOString().slice(0, 19))} ORDER BY __row`)).getRowObjectsJS();
  const events = rows.map((row) => ({
    t: Number(row.t),
    offline: online.featureNames.map((n) => row[n] as FeatureValue),
    // As the API receives it: a naive ISO timestamp and the raw columns, no outcome.
    raw: { date: new Date(Number(row.t)).toISOString().slice(0, 19), distance: row.distance_miles, origin: row.origin, destination: row.destination },
  }));

  // Every refresh instant of every interval, materialized in one pass as the refresh activity computes each.
  const instants = [...new Set(INTERVALS.flatMap(({ ms }) => Array.from({ length: DAY_MS / ms }, (_, k) => DAY + k * ms)))].sort((a, b) => a - b);
  const tables = await materializeSnapshotTables(db, plan, instants);
  const hash = featureDefinitionHash(spec);
  const stores = new Map(instants.map((t) => [t, new SnapshotOnlineStore(onlineSnapshotSchema.parse({ kind: 'sluice.online-feature-snapshot', featureSpecHash: hash, datasetVersion: '0'.repeat(64), asOf: new Date(t).toISOString(), tables: tables.get(t) }))]));
  const preparedS = (performance.now() - started) / 1000;

  // The model: fitted on the point-in-time features of the flights before the day, as a pipeline would.
  const matrix = (from: string, until: string) =>
    loadFeatureMatrix(db, `SELECT * FROM __features WHERE __label IS NOT NULL AND __t >= TIMESTAMP '${from}' AND __t < TIMESTAMP '${until}' ORDER BY __row`, { ...FLIGHTS_FEATURES, label: '__label' });
  const trainer = trainerSpecSchema.parse({ kind: 'gbdt', nTrees: 60, maxLeaves: 31, minSamplesLeaf: 50 });
  const model = await trainModel(trainer, { train: await matrix('2001-06-01', '2001-06-12'), validation: await matrix('2001-06-12', '2001-06-15') }, { seed: 1 });
  const session = await InferenceSession.create(model.toOnnx({ modelName: 'skew-bench', modelVersion: 1, lineage: { featureDefinitionHash: hash }, threshold: 0.3 }));
  const score = async (featureRows: readonly (readonly FeatureValue[])[]) =>
    runOnnx(session, modelInputs(featureRows, online.featureNames, FLIGHTS_FEATURES), FLIGHTS_FEATURES.numeric.length, FLIGHTS_FEATURES.categorical.length);
  const offlineScores = await score(events.map((e) => e.offline));

  const results: Record<string, ReturnType<typeof summarizeSkew> & { refreshes: number; atRefreshInstant: { events: number; differing: number }; shareDifferingByFeature: Record<string, number> }> = {};
  for (const { label, ms } of INTERVALS) {
    // Events grouped by the snapshot serving them, one batch per snapshot, as the API assembles a batch.
    const bySnapshot = new Map<number, number[]>();
    events.forEach((e, i) => {
      const at = latestRefresh(e.t, DAY, ms);
      const indices = bySnapshot.get(at);
      if (indices) indices.push(i);
      else bySnapshot.set(at, [i]);
    });
    const onlineRows = new Array<FeatureValue[]>(events.length);
    for (const [at, indices] of bySnapshot) {
      const { values } = await online.table(indices.map((i) => events[i]?.raw ?? {}), stores.get(at) as SnapshotOnlineStore);
      const width = online.featureNames.length;
      indices.forEach((index, k) => (onlineRows[index] = values.slice(k * width, (k + 1) * width)));
    }
    const onlineScores = await score(onlineRows);
    const observations: SkewObservation[] = events.map((e, i) => ({ online: onlineRows[i] as FeatureValue[], offline: e.offline, onlineScore: onlineScores[i] as number, offlineScore: offlineScores[i] as number }));
    // The guarantee the figures rest on: events exactly at a refresh instant see no difference.
    const atRefresh = summarizeSkew(observations.filter((_, i) => latestRefresh(events[i]?.t ?? 0, DAY, ms) === events[i]?.t));
    if (atRefresh.differing > 0) throw new Error(`${atRefresh.differing} of ${atRefresh.events} events at a ${label} refresh instant differ offline and online`);
    const summary = summarizeSkew(observations);
    // Which features carry the skew: only the windowed aggregates can, row-level features are computed from the event alone.
    const shareDifferingByFeature = Object.fromEntries(
      online.featureNames.map((name, j) => [name, round(observations.filter((o) => featuresDiffer([o.online[j] ?? null], [o.offline[j] ?? null])).length / observations.length, 4)]),
    );
    results[label] = { ...summary, refreshes: DAY_MS / ms, atRefreshInstant: { events: atRefresh.events, differing: atRefresh.differing }, shareDifferingByFeature };
    console.log(
      `refresh every ${label}: ${summary.events} events, ${(100 * summary.shareDiffering).toFixed(1)} % with a feature differing; |Δscore| max ${summary.maxAbsScoreDiff.toFixed(4)}, mean ${summary.meanAbsScoreDiff.toExponential(3)}` +
        ` (${atRefresh.events} events at a refresh instant: ${atRefresh.differing} differ)`,
    );
    console.log(`  share differing by feature: ${Object.entries(shareDifferingByFeature).filter(([, share]) => share > 0).map(([name, share]) => `${name} ${(100 * share).toFixed(1)} %`).join(', ')}`);
  }
  await session.release();
  console.log(
    JSON.stringify({
      bench: 'skew',
      day: new Date(DAY).toISOString().slice(0, 10),
      historyEvents: history,
      events: events.length,
      preparedSeconds: round(preparedS, 3),
      intervals: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { ...r, shareDiffering: round(r.shareDiffering), maxAbsScoreDiff: round(r.maxAbsScoreDiff), meanAbsScoreDiff: round(r.meanAbsScoreDiff) }])),
      machine: { cpus: cpus().length, loadAverage1m: round(loadavg()[0] ?? NaN, 3) },
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
