import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import type { HealthFigures, VersionFigures } from '../../shared/deployment.ts';
import { feedbackKeys, hourPartition, predictionFailureKeys } from '../../shared/api/prediction-log.ts';
import { logLoss, rocAuc } from '../evaluation/metrics.ts';
import { multiclassMetrics, regressionMetrics } from '../evaluation/task-metrics.ts';
import { psi as sharesPsi } from '../monitoring/drift-statistics.ts';
import { type FeedbackLabel, labelNumber, labelSql } from '../monitoring/feedback-labels.ts';
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

/** One served prediction with its label (null until one arrives), as `figuresOf` reads it. */
export interface ServedRow {
  /** The headline number: binary P(label), regression the predicted value, multiclass the predicted class's probability. */
  score: number;
  latency: number | null;
  /** Binary 1/0, regression the value, multiclass the class's index in the task's classes. */
  label: number | null;
  /** Multiclass: the probabilities in the task's class order. */
  probabilities?: readonly number[];
}

const argmax = (xs: readonly number[]) => xs.reduce((best, x, i) => (x > (xs[best] as number) ? i : best), 0);

/**
 * One version's figures from its served rows and the events of its failed requests; `failed`
 * undefined means failures are not known for it, so it has no error rate. The labelled figures are
 * the task's: AUC and log-loss (binary), RMSE and MAE (regression), log-loss and accuracy (multiclass).
 */
export function figuresOf(version: number, rows: readonly ServedRow[], failed: number | undefined, task: LabelTask): VersionFigures {
  const latencies = rows.map((r) => r.latency).filter((l): l is number => l !== null).sort((a, b) => a - b);
  const labelled = rows.filter((r): r is ServedRow & { label: number } => r.label !== null);
  const figures: VersionFigures = { version, samples: rows.length, labelled: labelled.length };
  if (failed !== undefined) {
    figures.failed = failed;
    if (rows.length + failed > 0) figures.errorRate = failed / (rows.length + failed);
  }
  const p99 = quantile(latencies, 0.99);
  if (p99 !== undefined) figures.p99LatencyMs = p99;
  if (rows.length) figures.meanScore = rows.reduce((s, r) => s + r.score, 0) / rows.length;
  if (labelled.length === 0) return figures;
  const labels = labelled.map((r) => r.label);
  switch (task.kind) {
    case 'binary': {
      const scores = labelled.map((r) => r.score);
      const positives = labels.filter((l) => l === 1).length;
      if (positives > 0 && positives < labels.length) {
        figures.auc = rocAuc(labels, scores);
        figures.logLoss = logLoss(labels, scores);
      }
      break;
    }
    case 'regression': {
      const metrics = regressionMetrics(labels, labelled.map((r) => r.score));
      figures.rmse = metrics.rmse;
      figures.mae = metrics.mae;
      break;
    }
    case 'multiclass': {
      const metrics = multiclassMetrics(labels, labelled.flatMap((r) => r.probabilities ?? []), task.classes);
      figures.logLoss = metrics.logLoss;
      figures.accuracy = metrics.accuracy;
      break;
    }
  }
  return figures;
}

/** Whether two versions predict the same thing, so their predictions can be compared (same kind; for multiclass the same classes in the same order). */
function comparable(a: LabelTask, b: LabelTask): boolean {
  if (a.kind === 'multiclass' && b.kind === 'multiclass') return a.classes.length === b.classes.length && a.classes.every((c, i) => c === b.classes[i]);
  return a.kind === b.kind;
}

/** Counts of values over the inner edges `edges` (bin b holds edges[b-1] < x <= edges[b]), with readable bin labels. */
function binOver(edges: readonly number[], xs: readonly number[]): number[] {
  const bins = new Array<number>(edges.length + 1).fill(0);
  for (const x of xs) {
    let b = 0;
    while (b < edges.length && x > (edges[b] as number)) b++;
    bins[b] = (bins[b] ?? 0) + 1;
  }
  return bins;
}

const fmtEdge = (x: number) => (Math.abs(x) >= 100 || Number.isInteger(x) ? String(x) : x.toPrecision(3));

/**
 * The candidate's prediction drift against the champion's, per kind: binary the score PSI on the
 * champion's deciles with 0..1 histograms (as always); regression the value PSI on the champion's
 * deciles, histograms over those deciles; multiclass the PSI of the predicted-class shares,
 * histograms per class, and each class's probability PSI on the champion's deciles (the worst kept).
 */
export function predictionDrift(task: LabelTask, champion: readonly ServedRow[], candidate: readonly ServedRow[]): Pick<HealthFigures, 'psi' | 'worstClassPsi' | 'histograms'> {
  const scores = (rows: readonly ServedRow[]) => rows.map((r) => r.score);
  switch (task.kind) {
    case 'binary': {
      const psi = populationStabilityIndex(scores(champion), scores(candidate));
      return { ...(psi !== undefined && { psi }), histograms: { candidate: scoreHistogram(scores(candidate)), champion: scoreHistogram(scores(champion)) } };
    }
    case 'regression': {
      const psi = populationStabilityIndex(scores(champion), scores(candidate));
      const edges = decileEdges(scores(champion));
      const bins = edges.length ? [`<= ${fmtEdge(edges[0] as number)}`, ...edges.slice(1).map((e, i) => `(${fmtEdge(edges[i] as number)}, ${fmtEdge(e)}]`), `> ${fmtEdge(edges.at(-1) as number)}`] : ['all'];
      return { ...(psi !== undefined && { psi }), histograms: { candidate: binOver(edges, scores(candidate)), champion: binOver(edges, scores(champion)), bins } };
    }
    case 'multiclass': {
      const classCounts = (rows: readonly ServedRow[]) => {
        const counts = new Array<number>(task.classes.length).fill(0);
        for (const r of rows) if (r.probabilities) counts[argmax(r.probabilities)]! += 1;
        return counts;
      };
      const histograms = { candidate: classCounts(candidate), champion: classCounts(champion), bins: [...task.classes] };
      if (champion.length === 0 || candidate.length === 0) return { histograms };
      let worstClassPsi: { class: string; psi: number } | undefined;
      task.classes.forEach((name, c) => {
        const of = (rows: readonly ServedRow[]) => rows.map((r) => r.probabilities?.[c] ?? 0);
        const psi = populationStabilityIndex(of(champion), of(candidate)) as number;
        if (!worstClassPsi || psi > worstClassPsi.psi) worstClassPsi = { class: name, psi };
      });
      return { psi: sharesPsi(histograms.champion, histograms.candidate, PSI_EPSILON), ...(worstClassPsi && { worstClassPsi }), histograms };
    }
  }
}

function decileEdges(values: readonly number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  return Array.from({ length: PSI_BINS - 1 }, (_, k) => quantile(sorted, (k + 1) / PSI_BINS) as number);
}

/** The SQL of a version's headline number and (multiclass) probabilities from its log file's columns (prediction log contract per kind). */
function predictionColumns(task: LabelTask): { score: string; probabilities: string } {
  switch (task.kind) {
    case 'binary':
      return { score: 'score', probabilities: 'NULL::DOUBLE[]' };
    case 'regression':
      return { score: 'value', probabilities: 'NULL::DOUBLE[]' };
    case 'multiclass':
      return { score: 'score', probabilities: `[${task.classes.map((c) => `struct_extract(probabilities, ${literal(c)})`).join(', ')}]::DOUBLE[]` };
  }
}

/**
 * Stages the model's prediction-log Parquet files of the window's hours (compacted or not) and the feedback labels of the window's hours into
 * `dir`, loads them into DuckDB, and computes each version's figures: the candidate's rows on its
 * route (`canary` or `shadow`), the champion's on `primary`. Each version's rows and labels are read
 * as its own task says (`tasks`, from the versions' manifests). Labels join by request id and event
 * index. Failed requests come from the failure log (`prediction-failures/`), counted in events; shadow
 * scoring records its own failures there on the `shadow` route.
 */
export async function measureRolloutHealth(
  deps: { store: ArtifactStore; bucket: string; dir: string; now: Date },
  input: { model: string; candidate: number; champion: number; route: 'canary' | 'shadow'; from: string; to: string; tasks: { candidate: LabelTask; champion: LabelTask } },
): Promise<HealthFigures> {
  const { store, bucket, dir } = deps;
  const fromMs = Date.parse(input.from);
  const toMs = Date.parse(input.to);
  using session = await openDuckDb({ tempDirectory: join(dir, 'spill') });
  const { db } = session;
  await db.run(`CREATE TABLE log (request_id VARCHAR, event_index INTEGER, at_ms BIGINT, model_version INTEGER, route VARCHAR, score DOUBLE, latency_ms DOUBLE, probabilities DOUBLE[])`);
  await db.run(`CREATE TABLE feedback (request_id VARCHAR, event_index INTEGER, label JSON, model VARCHAR)`);
  await db.run(`CREATE TABLE failures (model_version INTEGER, route VARCHAR, events INTEGER)`);

  let n = 0;
  const sides = [
    { version: input.candidate, task: input.tasks.candidate, route: input.route },
    { version: input.champion, task: input.tasks.champion, route: 'primary' },
  ] as const;
  for (const side of sides) {
    // Each row once whether its hour is compacted or not; one version's files at a time, since each version's columns are its kind's.
    const logPaths = await stageLogHours(
      { store, bucket, db, dir },
      { model: input.model, hours: hoursBetween(fromMs, toMs), versions: [side.version] },
      (staged) => heartbeat(`staged ${staged} log files of v${side.version}`),
    );
    const columns = predictionColumns(side.task);
    for (const path of logPaths) {
      await db.run(`INSERT INTO log SELECT request_id, event_index, epoch_ms(predicted_at), model_version, route, ${columns.score}, latency_ms, ${columns.probabilities}
        FROM read_parquet(${literal(path)})
        WHERE epoch_ms(predicted_at) BETWEEN ${fromMs} AND ${toMs} AND model_version = ${side.version}`);
    }
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
      await db.run(`INSERT INTO feedback SELECT request_id, event_index, label, model FROM read_json(${literal(path)}, format = 'newline_delimited',
        columns = {request_id: 'VARCHAR', event_index: 'INTEGER', label: 'JSON', model: 'VARCHAR'})
        WHERE model IS NULL OR model = ${literal(input.model)}`);
    }
  }

  const rowsOf = async (side: (typeof sides)[number]): Promise<ServedRow[]> => {
    const reader = await db.runAndReadAll(`
      SELECT l.score, l.latency_ms, f.label, l.probabilities
      FROM log l LEFT JOIN (SELECT request_id, event_index, last(label) AS label
          FROM (SELECT request_id, event_index, ${labelSql(side.task.kind, 'label')} AS label FROM feedback) WHERE label IS NOT NULL GROUP BY request_id, event_index) f
        ON f.request_id = l.request_id AND f.event_index = l.event_index
      WHERE l.model_version = ${side.version} AND l.route = ${literal(side.route)}`);
    return reader.getRowsJS().map(([score, latency, label, probabilities]) => {
      const row: ServedRow = {
        score: Number(score),
        latency: latency === null ? null : Number(latency),
        label: label === null || label === undefined ? null : labelNumber(side.task, label as FeedbackLabel),
      };
      if (Array.isArray(probabilities)) row.probabilities = probabilities.map(Number);
      return row;
    });
  };
  const candidateRows = await rowsOf(sides[0]);
  const championRows = await rowsOf(sides[1]);
  const failedEvents = await db.runAndReadAll(`
    SELECT coalesce(sum(events) FILTER (WHERE model_version = ${input.candidate} AND route = ${literal(input.route)}), 0),
           coalesce(sum(events) FILTER (WHERE model_version = ${input.champion} AND route = 'primary'), 0)
    FROM failures`);
  const [candidateFailed, championFailed] = (failedEvents.getRows()[0] ?? [0, 0]).map(Number);
  const { candidate: candidateTask, champion: championTask } = input.tasks;
  return {
    window: { from: input.from, to: input.to },
    route: input.route,
    task: candidateTask.kind,
    candidate: figuresOf(input.candidate, candidateRows, candidateFailed, candidateTask),
    champion: figuresOf(input.champion, championRows, championFailed, championTask),
    ...(comparable(candidateTask, championTask) && predictionDrift(candidateTask, championRows, candidateRows)),
  };
}
