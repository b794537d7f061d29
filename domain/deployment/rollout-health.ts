import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { HealthFigures, VersionFigures } from '../../shared/deployment.ts';
import { feedbackKeys, hourPartition, predictionFailureKeys } from '../../shared/api/prediction-log.ts';
import { logLoss, rocAuc } from '../evaluation/metrics.ts';
import { openDuckDb } from '../duckdb/duckdb-session.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { stageLogHours } from '../prediction-log/stage-log.ts';

const HOUR_MS = 3_600_000;
const PSI_BINS = 10;
const PSI_EPSILON = 1e-4;

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

function heartbeat(detail: string): void {
  try {
    Context.current().heartbeat(detail);
  } catch {
    // Called outside an activity (unit use): nothing to heartbeat to.
  }
}

/** Every UTC hour partition touching [fromMs, toMs]. */
function hoursBetween(fromMs: number, toMs: number): string[] {
  const hours: string[] = [];
  for (let t = Math.floor(fromMs / HOUR_MS) * HOUR_MS; t <= toMs; t += HOUR_MS) hours.push(hourPartition(t));
  return hours;
}

/** Counts of scores in 10 equal bins of [0, 1]. */
export function scoreHistogram(scores: ArrayLike<number>): number[] {
  const bins = new Array<number>(PSI_BINS).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    const b = Math.min(PSI_BINS - 1, Math.max(0, Math.floor(s * PSI_BINS)));
    bins[b] = (bins[b] ?? 0) + 1;
  }
  return bins;
}

/**
 * Population stability index of `actual` against `expected`, over the deciles of `expected` (so each
 * bin holds a tenth of the champion's scores, however concentrated they are); undefined if either is empty.
 */
export function populationStabilityIndex(expected: number[], actual: number[]): number | undefined {
  if (expected.length === 0 || actual.length === 0) return undefined;
  const sorted = [...expected].sort((a, b) => a - b);
  const edges = Array.from({ length: PSI_BINS - 1 }, (_, k) => quantile(sorted, (k + 1) / PSI_BINS) as number);
  const binOf = (x: number) => {
    let b = 0;
    while (b < edges.length && x > (edges[b] as number)) b++;
    return b;
  };
  const count = (xs: number[]) => {
    const bins = new Array<number>(PSI_BINS).fill(0);
    for (const x of xs) bins[binOf(x)] = (bins[binOf(x)] ?? 0) + 1;
    return bins;
  };
  const e = count(expected);
  const a = count(actual);
  let psi = 0;
  for (let i = 0; i < PSI_BINS; i++) {
    const p = Math.max((e[i] ?? 0) / expected.length, PSI_EPSILON);
    const q = Math.max((a[i] ?? 0) / actual.length, PSI_EPSILON);
    psi += (q - p) * Math.log(q / p);
  }
  return psi;
}

function quantile(sorted: number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/**
 * One version's figures from its served rows and the events of its failed requests; `failed`
 * undefined means failures are not known for it, so it has no error rate.
 */
export function figuresOf(version: number, rows: { score: number; latency: number | null; label: number | null }[], failed: number | undefined): VersionFigures {
  const latencies = rows.map((r) => r.latency).filter((l): l is number => l !== null).sort((a, b) => a - b);
  const labelled = rows.filter((r): r is { score: number; latency: number | null; label: number } => r.label !== null);
  const figures: VersionFigures = { version, samples: rows.length, labelled: labelled.length };
  if (failed !== undefined) {
    figures.failed = failed;
    if (rows.length + failed > 0) figures.errorRate = failed / (rows.length + failed);
  }
  const p99 = quantile(latencies, 0.99);
  if (p99 !== undefined) figures.p99LatencyMs = p99;
  if (rows.length) figures.meanScore = rows.reduce((s, r) => s + r.score, 0) / rows.length;
  const labels = labelled.map((r) => r.label);
  const scores = labelled.map((r) => r.score);
  const positives = labels.filter((l) => l === 1).length;
  if (positives > 0 && positives < labels.length) {
    figures.auc = rocAuc(labels, scores);
    figures.logLoss = logLoss(labels, scores);
  }
  return figures;
}

/**
 * Stages the model's prediction-log Parquet files of the window's hours (compacted or not) and the feedback labels of the window's hours into
 * `dir`, loads them into DuckDB, and computes each version's figures: the candidate's rows on its
 * route (`canary` or `shadow`), the champion's on `primary`. Labels join by request id and event index.
 * Failed requests come from the failure log (`prediction-failures/`), counted in events; shadow
 * scoring records its own failures there on the `shadow` route.
 */
export async function measureRolloutHealth(
  deps: { store: ArtifactStore; bucket: string; dir: string; now: Date },
  input: { model: string; candidate: number; champion: number; route: 'canary' | 'shadow'; from: string; to: string },
): Promise<HealthFigures> {
  const { store, bucket, dir } = deps;
  const fromMs = Date.parse(input.from);
  const toMs = Date.parse(input.to);
  using session = await openDuckDb({ tempDirectory: join(dir, 'spill') });
  const { db } = session;
  await db.run(`CREATE TABLE log (request_id VARCHAR, event_index INTEGER, at_ms BIGINT, model_version INTEGER, route VARCHAR, score DOUBLE, latency_ms DOUBLE)`);
  await db.run(`CREATE TABLE feedback (request_id VARCHAR, event_index INTEGER, label BOOLEAN)`);
  await db.run(`CREATE TABLE failures (model_version INTEGER, route VARCHAR, events INTEGER)`);

  let n = 0;
  // Each row once whether its hour is compacted or not; only the two versions' files are fetched.
  const logPaths = await stageLogHours(
    { store, bucket, db, dir },
    { model: input.model, hours: hoursBetween(fromMs, toMs), versions: [input.candidate, input.champion] },
    (staged) => heartbeat(`staged ${staged} log files`),
  );
  for (const path of logPaths) {
    await db.run(`INSERT INTO log SELECT request_id, event_index, epoch_ms(predicted_at), model_version, route, score, latency_ms
      FROM read_parquet(${literal(path)})
      WHERE epoch_ms(predicted_at) BETWEEN ${fromMs} AND ${toMs} AND model_version IN (${input.candidate}, ${input.champion})`);
  }
  for (const hour of hoursBetween(fromMs, toMs)) {
    for (const object of await store.list(bucket, `${predictionFailureKeys.prefix(input.model)}hour=${hour}/`)) {
      if (!object.key.endsWith('.parquet')) continue;
      const path = join(dir, `failures-${n++}.parquet`);
      await store.getFile(bucket, object.key, path);
      await db.run(`INSERT INTO failures SELECT model_version, route, events FROM read_parquet(${literal(path)})
        WHERE epoch_ms(failed_at) BETWEEN ${fromMs} AND ${toMs} AND model_version IN (${input.candidate}, ${input.champion})`);
    }
  }
  // Labels arrive after the predictions they are for: read every hour from the window's start until now.
  for (const hour of hoursBetween(fromMs, Math.max(toMs, deps.now.getTime()))) {
    for (const object of await store.list(bucket, `${feedbackKeys.prefix}hour=${hour}/`)) {
      if (!object.key.endsWith('.jsonl')) continue;
      const path = join(dir, `feedback-${n++}.jsonl`);
      await store.getFile(bucket, object.key, path);
      await db.run(`INSERT INTO feedback SELECT request_id, event_index, label FROM read_json(${literal(path)}, format = 'newline_delimited',
        columns = {request_id: 'VARCHAR', event_index: 'INTEGER', label: 'BOOLEAN', observed_at: 'VARCHAR', received_at: 'VARCHAR', received_from: 'VARCHAR', feedback_request_id: 'VARCHAR'})`);
    }
  }

  const reader = await db.runAndReadAll(`
    SELECT l.model_version, l.score, l.latency_ms, CASE WHEN f.label IS NULL THEN NULL WHEN f.label THEN 1 ELSE 0 END AS label
    FROM log l LEFT JOIN (SELECT request_id, event_index, last(label) AS label FROM feedback GROUP BY request_id, event_index) f
      ON f.request_id = l.request_id AND f.event_index = l.event_index
    WHERE (l.model_version = ${input.candidate} AND l.route = ${literal(input.route)})
       OR (l.model_version = ${input.champion} AND l.route = 'primary')`);
  const candidateRows: { score: number; latency: number | null; label: number | null }[] = [];
  const championRows: typeof candidateRows = [];
  for (const [version, score, latency, label] of reader.getRows()) {
    const row = { score: Number(score), latency: latency === null ? null : Number(latency), label: label === null ? null : Number(label) };
    (Number(version) === input.candidate ? candidateRows : championRows).push(row);
  }
  const failedEvents = await db.runAndReadAll(`
    SELECT coalesce(sum(events) FILTER (WHERE model_version = ${input.candidate} AND route = ${literal(input.route)}), 0),
           coalesce(sum(events) FILTER (WHERE model_version = ${input.champion} AND route = 'primary'), 0)
    FROM failures`);
  const [candidateFailed, championFailed] = (failedEvents.getRows()[0] ?? [0, 0]).map(Number);
  const histograms = { candidate: scoreHistogram(candidateRows.map((r) => r.score)), champion: scoreHistogram(championRows.map((r) => r.score)) };
  const psi = populationStabilityIndex(championRows.map((r) => r.score), candidateRows.map((r) => r.score));
  return {
    window: { from: input.from, to: input.to },
    route: input.route,
    candidate: figuresOf(input.candidate, candidateRows, candidateFailed),
    champion: figuresOf(input.champion, championRows, championFailed),
    ...(psi !== undefined && { psi }),
    histograms,
  };
}
