import type { DuckDBConnection } from '@duckdb/node-api';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import type { ReferenceStats } from '../../shared/data/feature-tables.ts';
import type { PerformanceSummary } from '../../shared/monitoring.ts';
import { binHistogramSql, readBinHistogram } from '../features/bin-histogram.ts';
import { quoteString } from '../features/expression/expression-sql.ts';
import { SCORE_BINS, type WindowCounts } from './drift-report.ts';
import { feedbackLabelsSql } from './feedback-labels.ts';
import type { ScoreCount } from './performance-estimate.ts';

/**
 * Counts a window of logged predictions of one model version over the reference bins, in one pass
 * of DuckDB over the staged Parquet files: per numeric feature its reference bins' counts, per
 * categorical feature a histogram of values, and the score in SCORE_BINS equal-width bins.
 */

const field = (name: string) => `features[${quoteString(name)}]`;
const int = (v: unknown) => Number(v ?? 0);

export function windowRelation(paths: readonly string[], filter: { version: number; from: string; until: string }): string {
  const files = `[${paths.map(quoteString).join(', ')}]`;
  return `(SELECT * FROM read_parquet(${files}, hive_partitioning = false) WHERE model_version = ${Math.trunc(filter.version)}
    AND predicted_at >= ${quoteString(filter.from)}::TIMESTAMPTZ AND predicted_at < ${quoteString(filter.until)}::TIMESTAMPTZ)`;
}

/** Inner edges of the deciles of a regression window's values: the bins of its prediction drift when no baseline window fixed them. */
async function valueDeciles(db: DuckDBConnection, relation: string): Promise<number[]> {
  const row = (await db.runAndReadAll(`SELECT quantile_disc(value::DOUBLE, [${Array.from({ length: SCORE_BINS - 1 }, (_, k) => (k + 1) / SCORE_BINS).join(', ')}]) AS q FROM ${relation}`)).getRowObjectsJS()[0];
  const q = row?.q as unknown[] | null | undefined;
  return q ? [...new Set(q.map(Number))] : [];
}

/**
 * The prediction the window's drift reads, per kind: binary scores in SCORE_BINS equal bins of
 * [0, 1]; regression values over `scoreEdges` (the baseline window's deciles, or this window's own
 * when there is no baseline yet, returned for the next windows); multiclass the served class, one
 * bin per class in the task's order.
 */
function predictionSql(task: LabelTask, edges: readonly number[]): string {
  switch (task.kind) {
    case 'binary':
      return `histogram(least(greatest(floor(score * ${SCORE_BINS}), 0), ${SCORE_BINS - 1})::INTEGER)`;
    case 'regression':
      return binHistogramSql('value', edges);
    case 'multiclass':
      return `histogram(class)`;
  }
}

export async function countWindow(
  db: DuckDBConnection,
  paths: readonly string[],
  filter: { version: number; from: string; until: string },
  reference: ReferenceStats,
  featureNames: readonly string[],
  prediction: { task: LabelTask; scoreEdges?: readonly number[] | undefined } = { task: { kind: 'binary' } },
): Promise<WindowCounts> {
  const used = new Set(featureNames);
  const features = reference.features.filter((f) => used.has(f.name));
  const { task } = prediction;
  const bins = task.kind === 'multiclass' ? task.classes.length : SCORE_BINS;
  const counts: WindowCounts = { rows: 0, numeric: {}, categorical: {}, score: new Array<number>(bins).fill(0) };
  if (paths.length === 0) return counts;
  const edges = task.kind === 'regression' ? (prediction.scoreEdges ?? (await valueDeciles(db, windowRelation(paths, filter)))) : [];
  if (task.kind === 'regression') {
    counts.scoreEdges = [...edges];
    counts.score = new Array<number>(edges.length + 1).fill(0);
  }

  const columns = [`count(*) AS rows`, `${predictionSql(task, edges)} AS score`];
  if (task.kind === 'multiclass') {
    task.classes.forEach((c, k) => columns.push(`histogram(least(greatest(floor(struct_extract(probabilities, ${quoteString(c)}) * ${SCORE_BINS}), 0), ${SCORE_BINS - 1})::INTEGER) AS p${k}`));
  }
  features.forEach((f, i) => {
    const x = field(f.name);
    columns.push(`count(${x}) AS n${i}`);
    if (f.kind === 'numeric') {
      columns.push(`${binHistogramSql(x, f.binEdges)} AS h${i}`);
    } else {
      columns.push(`histogram(${x}::VARCHAR) AS h${i}`);
    }
  });
  const row = (await db.runAndReadAll(`SELECT ${columns.join(', ')} FROM ${windowRelation(paths, filter)}`)).getRowObjectsJS()[0] ?? {};
  counts.rows = int(row.rows);
  const entries = (value: unknown) => (value as { key: unknown; value: unknown }[] | null) ?? [];
  if (task.kind === 'regression') counts.score = readBinHistogram(row.score, edges);
  else if (task.kind === 'multiclass') for (const { key, value } of entries(row.score)) counts.score[task.classes.indexOf(String(key))] = int(value);
  else for (const { key, value } of entries(row.score)) counts.score[Number(key)] = int(value);
  if (task.kind === 'multiclass') {
    counts.classProbabilities = task.classes.map((_, k) => {
      const bins = new Array<number>(SCORE_BINS).fill(0);
      for (const { key, value } of entries(row[`p${k}`])) bins[Number(key)] = int(value);
      return bins;
    });
  }
  features.forEach((f, i) => {
    const present = int(row[`n${i}`]);
    if (f.kind === 'numeric') {
      counts.numeric[f.name] = { present, bins: readBinHistogram(row[`h${i}`], f.binEdges) };
    } else {
      const found: Record<string, number> = {};
      for (const { key, value } of entries(row[`h${i}`])) found[String(key)] = int(value);
      counts.categorical[f.name] = { present, counts: found };
    }
  });
  return counts;
}

/** The window's distinct scores with their counts: what the performance estimate reads, exact at any window size for the cost of one group per distinct score. */
export async function windowScoreCounts(db: DuckDBConnection, paths: readonly string[], filter: { version: number; from: string; until: string }): Promise<ScoreCount[]> {
  if (paths.length === 0) return [];
  const result = await db.runAndReadAll(`SELECT score::DOUBLE AS score, count(*) AS n FROM ${windowRelation(paths, filter)} WHERE score IS NOT NULL GROUP BY ALL`);
  return result.getRowObjectsJS().map((row) => ({ score: Number(row.score), count: int(row.n) }));
}

type Performance = PerformanceSummary;

const NO_LABELS: Performance = { labelled: 0, positives: 0, rocAuc: null, logLoss: null };

/** The figures of `task` of a window's predictions joined to a relation of labels already cast for its kind (`feedbackLabelsSql`). */
async function joinedPerformance(db: DuckDBConnection, window: string, labels: string, task: LabelTask): Promise<Performance> {
  const latest = `labels AS (SELECT request_id, event_index, last(label) AS label FROM ${labels} GROUP BY ALL)`;
  const first = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJS()[0] ?? {};
  switch (task.kind) {
    case 'binary': {
      // AUC with tied scores sharing their average rank.
      const row = await first(`
        WITH ${latest},
        joined AS (SELECT p.score::DOUBLE AS score, l.label FROM ${window} p JOIN labels l USING (request_id, event_index)),
        ranked AS (SELECT score, label, rank() OVER (ORDER BY score) + (count(*) OVER (PARTITION BY score) - 1) / 2.0 AS r FROM joined)
        SELECT count(*) AS labelled, count(*) FILTER (WHERE label) AS positives,
          sum(r) FILTER (WHERE label) AS positive_ranks,
          avg(-CASE WHEN label THEN ln(greatest(score, 1e-15)) ELSE ln(greatest(1 - score, 1e-15)) END) AS log_loss
        FROM ranked`);
      const labelled = int(row.labelled);
      const positives = int(row.positives);
      const negatives = labelled - positives;
      const rocAuc = positives > 0 && negatives > 0 ? (Number(row.positive_ranks) - (positives * (positives + 1)) / 2) / (positives * negatives) : null;
      return { labelled, positives, rocAuc, logLoss: labelled ? Number(row.log_loss) : null };
    }
    case 'regression': {
      const row = await first(`
        WITH ${latest}
        SELECT count(*) AS labelled, sqrt(avg((p.value - l.label) ** 2)) AS rmse, avg(abs(p.value - l.label)) AS mae
        FROM ${window} p JOIN labels l USING (request_id, event_index)`);
      const labelled = int(row.labelled);
      return { ...NO_LABELS, labelled, rmse: labelled ? Number(row.rmse) : null, mae: labelled ? Number(row.mae) : null };
    }
    case 'multiclass': {
      // The label's probability from the struct of one field per class; a label outside the classes has no position and is not counted.
      const probabilities = `[${task.classes.map((c) => `struct_extract(p.probabilities, ${quoteString(c)})`).join(', ')}]`;
      const classes = `[${task.classes.map(quoteString).join(', ')}]`;
      const row = await first(`
        WITH ${latest},
        joined AS (SELECT ${probabilities}[list_position(${classes}, l.label)]::DOUBLE AS p_label, p.class = l.label AS correct
          FROM ${window} p JOIN labels l USING (request_id, event_index) WHERE list_position(${classes}, l.label) IS NOT NULL)
        SELECT count(*) AS labelled, avg(-ln(least(greatest(p_label, 1e-15), 1 - 1e-15))) AS log_loss, avg(correct::INTEGER) AS accuracy FROM joined`);
      const labelled = int(row.labelled);
      return { ...NO_LABELS, labelled, logLoss: labelled ? Number(row.log_loss) : null, accuracy: labelled ? Number(row.accuracy) : null };
    }
  }
}

/** The task's figures of the labelled predictions in the window. */
export async function windowPerformance(
  db: DuckDBConnection,
  paths: readonly string[],
  feedbackPaths: readonly string[],
  filter: { model: string; version: number; from: string; until: string },
  task: LabelTask,
): Promise<Performance> {
  if (paths.length === 0 || feedbackPaths.length === 0) return NO_LABELS;
  return joinedPerformance(db, windowRelation(paths, filter), feedbackLabelsSql(feedbackPaths, task.kind, filter.model), task);
}

/**
 * Realized performance of several windows of one version in one session: the feedback files are
 * parsed once (labels cast for the version's kind), and each window joins only the labels received
 * before its own cutoff (`labelsBefore`: now, or its label horizon). A label without `received_at`
 * (written before the feedback API recorded it) counts by the hour partition it was read from.
 */
export async function realizedWindowsPerformance(
  db: DuckDBConnection,
  paths: readonly string[],
  feedbackPaths: readonly string[],
  target: { model: string; version: number; task: LabelTask },
  windows: readonly { from: string; until: string; labelsBefore: string }[],
): Promise<(Performance & { served: number })[]> {
  if (feedbackPaths.length > 0) {
    await db.run(`CREATE OR REPLACE TEMP TABLE feedback_labels AS SELECT request_id, event_index, label, TRY_CAST(received_at AS TIMESTAMPTZ) AS received_at
      FROM ${feedbackLabelsSql(feedbackPaths, target.task.kind, target.model)}`);
  }
  const results: (Performance & { served: number })[] = [];
  for (const w of windows) {
    if (paths.length === 0) {
      results.push({ served: 0, ...NO_LABELS });
      continue;
    }
    const relation = windowRelation(paths, { version: target.version, from: w.from, until: w.until });
    const served = int((await db.runAndReadAll(`SELECT count(*) AS n FROM ${relation}`)).getRowObjectsJS()[0]?.n);
    const labels = `(SELECT * FROM feedback_labels WHERE received_at IS NULL OR received_at < ${quoteString(w.labelsBefore)}::TIMESTAMPTZ)`;
    results.push({ served, ...(feedbackPaths.length === 0 ? NO_LABELS : await joinedPerformance(db, relation, labels, target.task)) });
  }
  return results;
}
