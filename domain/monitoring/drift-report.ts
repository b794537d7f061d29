import type { LabelTask } from '../../shared/data/feature-spec.ts';
import type { ReferenceStats } from '../../shared/data/feature-tables.ts';
import type { DriftReport, DriftThresholds, FeatureDrift, Verdict } from '../../shared/monitoring.ts';
import { binCentres, chiSquare, jensenShannon, kolmogorovSmirnov, normalisedWasserstein, psi } from './drift-statistics.ts';

/** What DuckDB counted in a window of logged predictions. */
export interface WindowCounts {
  rows: number;
  /** Per numeric feature: non-NULL values and counts over the reference bins. */
  numeric: Record<string, { present: number; bins: number[] }>;
  /** Per categorical feature: non-NULL values and counts per category. */
  categorical: Record<string, { present: number; counts: Record<string, number> }>;
  /** The predictions' bins (`countWindow`): binary scores in SCORE_BINS equal-width bins over [0, 1], regression values over `scoreEdges`, multiclass served classes. */
  score: number[];
  /** Regression: the inner edges of the value bins. */
  scoreEdges?: number[];
  /** Multiclass: per class (in the task's order), its probability in SCORE_BINS equal-width bins over [0, 1]. */
  classProbabilities?: number[][];
}

/** How a report names and labels the prediction bins of a model's kind. */
export type PredictionBins = { name: string; labels: string[]; centres: number[] | null };

export function predictionBins(task: LabelTask, edges: readonly number[] | undefined): PredictionBins {
  switch (task.kind) {
    case 'binary':
      return { name: 'score', labels: scoreBinLabels(), centres: Array.from({ length: SCORE_BINS }, (_, i) => (i + 0.5) / SCORE_BINS) };
    case 'regression':
      return { name: 'value', labels: numericBinLabels(edges ?? []), centres: null };
    case 'multiclass':
      return { name: 'class', labels: [...task.classes], centres: null };
  }
}

export const SCORE_BINS = 10;
export const OTHER_CATEGORY = '(other)';

type NumericReference = Extract<ReferenceStats['features'][number], { kind: 'numeric' }>;
type CategoricalReference = Extract<ReferenceStats['features'][number], { kind: 'categorical' }>;

const rank: Record<Verdict, number> = { ok: 0, warn: 1, alert: 2 };
const worst = (verdicts: Verdict[]): Verdict => verdicts.reduce<Verdict>((a, b) => (rank[b] > rank[a] ? b : a), 'ok');
const fmt = (x: number) => (Math.abs(x) >= 100 || Number.isInteger(x) ? String(x) : x.toPrecision(3));

function judge(name: string, value: number, levels: { warn: number; alert: number }, reasons: string[]): Verdict {
  if (value >= levels.alert) {
    reasons.push(`${name} ${fmt(value)} >= ${levels.alert} (alert)`);
    return 'alert';
  }
  if (value >= levels.warn) {
    reasons.push(`${name} ${fmt(value)} >= ${levels.warn} (warn)`);
    return 'warn';
  }
  return 'ok';
}

export function numericBinLabels(edges: readonly number[]): string[] {
  if (edges.length === 0) return ['all'];
  return [`< ${fmt(edges[0] as number)}`, ...edges.slice(1).map((e, i) => `[${fmt(edges[i] as number)}, ${fmt(e)})`), `>= ${fmt(edges[edges.length - 1] as number)}`];
}

/**
 * Numeric feature: PSI, JS and normalised Wasserstein over the reference quantile bins. With fewer
 * than `smallSampleRows` current values the binned two-sample KS test decides instead, since PSI
 * and JS of a small sample are biased upwards.
 */
export function numericDrift(reference: NumericReference, current: { present: number; bins: number[] }, rows: number, t: DriftThresholds): FeatureDrift {
  const ref = reference.binCounts;
  const cur = ref.map((_, i) => current.bins[i] ?? 0);
  const reasons: string[] = [];
  const stats = {
    psi: psi(ref, cur, t.epsilon),
    jensenShannon: jensenShannon(ref, cur),
    wasserstein:
      reference.min === null || reference.max === null ? null : normalisedWasserstein(ref, cur, binCentres(reference.binEdges, reference.min, reference.max), reference.std ?? 0),
    chiSquare: null,
    ks: kolmogorovSmirnov(ref, cur),
  };
  let verdict: Verdict;
  if (current.present === 0) verdict = 'ok';
  else if (current.present < t.smallSampleRows) {
    verdict = stats.ks.pValue < t.ksPValue ? 'alert' : 'ok';
    if (verdict === 'alert') reasons.push(`KS D ${fmt(stats.ks.statistic)}, p ${stats.ks.pValue.toExponential(2)} < ${t.ksPValue} on ${current.present} values`);
  } else {
    verdict = worst([
      judge('PSI', stats.psi, t.psi, reasons),
      judge('JS', stats.jensenShannon, t.jensenShannon, reasons),
      stats.wasserstein === null ? 'ok' : judge('Wasserstein/std', stats.wasserstein, t.wasserstein, reasons),
    ]);
  }
  return featureDrift(reference, 'numeric', current.present, rows, { statistics: stats, reasons, verdict, histogram: { bins: numericBinLabels(reference.binEdges), reference: ref, current: cur } });
}

/** One feature's entry in the report: what was judged, plus its presence in the window against the reference's. */
function featureDrift(
  reference: { name: string; nullRate: number },
  kind: FeatureDrift['kind'],
  present: number,
  rows: number,
  judged: Pick<FeatureDrift, 'statistics' | 'reasons' | 'verdict' | 'histogram'>,
): FeatureDrift {
  return { name: reference.name, kind, rows: present, nullRate: { reference: reference.nullRate, current: rows ? (rows - present) / rows : 0 }, weight: null, ...judged };
}

/** Categorical feature: JS and PSI over the reference's top categories plus one bin for every other value; chi-square recorded. */
export function categoricalDrift(reference: CategoricalReference, current: { present: number; counts: Record<string, number> }, rows: number, t: DriftThresholds): FeatureDrift {
  const bins = [...reference.top.map((c) => c.value), OTHER_CATEGORY];
  const ref = [...reference.top.map((c) => c.count), reference.otherCount];
  const cur = reference.top.map((c) => current.counts[c.value] ?? 0);
  cur.push(current.present - cur.reduce((a, b) => a + b, 0));
  const reasons: string[] = [];
  const stats = { psi: psi(ref, cur, t.epsilon), jensenShannon: jensenShannon(ref, cur), wasserstein: null, chiSquare: chiSquare(ref, cur), ks: null };
  let verdict: Verdict = 'ok';
  if (current.present > 0) {
    verdict = worst([judge('JS', stats.jensenShannon, t.jensenShannon, reasons), current.present >= t.smallSampleRows ? judge('PSI', stats.psi, t.psi, reasons) : 'ok']);
    if (stats.chiSquare.pValue < t.chiSquarePValue) {
      reasons.push(`chi-square ${fmt(stats.chiSquare.statistic)} (df ${stats.chiSquare.degreesOfFreedom}), p ${stats.chiSquare.pValue.toExponential(2)} < ${t.chiSquarePValue}`);
      if (verdict === 'ok') verdict = 'warn';
    }
  }
  return featureDrift(reference, 'categorical', current.present, rows, { statistics: stats, reasons, verdict, histogram: { bins, reference: ref, current: cur } });
}

export function scoreBinLabels(): string[] {
  return Array.from({ length: SCORE_BINS }, (_, i) => `[${(i / SCORE_BINS).toFixed(1)}, ${((i + 1) / SCORE_BINS).toFixed(1)}${i === SCORE_BINS - 1 ? ']' : ')'}`);
}

/** The model's score distribution against a baseline window of the same version (the reference split has no scores). */
export function scoreDrift(baseline: readonly number[], current: readonly number[], t: DriftThresholds, bins: PredictionBins = predictionBins({ kind: 'binary' }, undefined)): FeatureDrift {
  const reasons: string[] = [];
  const n = current.reduce((a, b) => a + b, 0);
  // Wasserstein needs ordered bins with centres: the 0..1 score's; class shares have no order, and decile bins of a value no fixed ends.
  const wasserstein = bins.centres ? normalisedWasserstein(baseline, current, bins.centres, 1) : null;
  const ks = bins.name === 'class' ? null : kolmogorovSmirnov(baseline, current);
  const stats = { psi: psi(baseline, current, t.epsilon), jensenShannon: jensenShannon(baseline, current), wasserstein, chiSquare: null, ks };
  const verdict = n === 0 ? 'ok' : worst([judge(`${bins.name} PSI`, stats.psi, t.psi, reasons), judge(`${bins.name} JS`, stats.jensenShannon, t.jensenShannon, reasons)]);
  return { name: bins.name, kind: 'score', rows: n, nullRate: { reference: 0, current: 0 }, statistics: stats, reasons, verdict, weight: null, histogram: { bins: bins.labels, reference: [...baseline], current: [...current] } };
}

/**
 * Multiclass: each class's probability against the baseline window's, on the same ten bins of [0, 1],
 * named `P(class)`. Like the served-class shares, a signal of its own (it can make the window warn,
 * never alert): two good models can spread one class's probabilities apart without serving differently.
 */
function classProbabilityDrift(task: LabelTask | undefined, baseline: readonly (readonly number[])[] | undefined, current: number[][] | undefined, t: DriftThresholds): FeatureDrift[] | null {
  if (task?.kind !== 'multiclass' || !baseline || !current || baseline.length !== current.length) return null;
  const probabilityBins = predictionBins({ kind: 'binary' }, undefined);
  return task.classes.map((c, k) => scoreDrift(baseline[k] ?? [], current[k] ?? [], t, { ...probabilityBins, name: `P(${c})` }));
}

/**
 * Each feature's weight in the dataset verdict: its recorded importance renormalised over the
 * features the report judges (so the weights sum to 1 even when the reference lacks one), or equal
 * weights when the version recorded none or none of the judged features has any importance.
 */
export function featureWeights(names: readonly string[], importance: Readonly<Record<string, number>> | undefined): { weighting: 'importance' | 'equal'; weights: Map<string, number> } {
  const total = importance ? names.reduce((sum, n) => sum + Math.max(0, importance[n] ?? 0), 0) : 0;
  if (!importance || total <= 0) return { weighting: 'equal', weights: new Map(names.map((n) => [n, 1 / names.length])) };
  return { weighting: 'importance', weights: new Map(names.map((n) => [n, Math.max(0, importance[n] ?? 0) / total])) };
}

/**
 * The window's report: every feature of the reference statistics that the model uses, the score
 * against its baseline, and the dataset-level verdict: alert when the drifted features' weights
 * (`featureWeights`) sum to `datasetDriftShare` or more, warn when any feature warns or drifts or
 * the score moves. Score drift stays a signal of its own, never counted into the share.
 */
export function buildDriftReport(input: {
  model: string;
  version: number;
  window: { from: string; until: string };
  reference: ReferenceStats;
  featureNames: readonly string[];
  counts: WindowCounts;
  scoreBaseline?: readonly number[] | undefined;
  /** Multiclass: the baseline window's `classProbabilities`; each class's probability is then compared with it. */
  classProbabilityBaseline?: readonly (readonly number[])[] | undefined;
  /** The model's label kind, which says what the prediction bins are (binary when absent). */
  task?: LabelTask | undefined;
  thresholds: DriftThresholds;
  /** Permutation importance weights recorded at training; without them every feature weighs the same. */
  importance?: Readonly<Record<string, number>> | undefined;
  seconds: number;
}): DriftReport {
  const { counts, thresholds: t } = input;
  const used = new Set(input.featureNames);
  const features = input.reference.features
    .filter((f) => used.has(f.name))
    .map((f) =>
      f.kind === 'numeric'
        ? numericDrift(f, counts.numeric[f.name] ?? { present: 0, bins: [] }, counts.rows, t)
        : categoricalDrift(f, counts.categorical[f.name] ?? { present: 0, counts: {} }, counts.rows, t),
    );
  const judged = counts.rows >= t.minWindowRows;
  // A baseline of other bins (another kind's, or decile edges of another window) cannot be compared: shown, not judged.
  const score =
    input.scoreBaseline && input.scoreBaseline.some((c) => c > 0) && input.scoreBaseline.length === counts.score.length
      ? scoreDrift(input.scoreBaseline, counts.score, t, predictionBins(input.task ?? { kind: 'binary' }, counts.scoreEdges))
      : null;
  const classProbabilities = classProbabilityDrift(input.task, input.classProbabilityBaseline, counts.classProbabilities, t);
  const { weighting, weights } = featureWeights(features.map((f) => f.name), input.importance);
  for (const f of features) f.weight = weights.get(f.name) ?? 0;
  const drifted = judged ? features.filter((f) => f.verdict === 'alert').map((f) => f.name) : [];
  // Equal weights divide once, so a count at exactly the threshold is not lost to a float sum of thirds or tenths.
  const driftShare = weighting === 'equal' ? (features.length ? drifted.length / features.length : 0) : drifted.reduce((sum, name) => sum + (weights.get(name) ?? 0), 0);
  let verdict: Verdict = 'ok';
  if (judged) {
    if (drifted.length > 0 && driftShare >= t.datasetDriftShare) verdict = 'alert';
    else if (drifted.length > 0 || features.some((f) => f.verdict === 'warn') || (score && score.verdict !== 'ok') || classProbabilities?.some((c) => c.verdict !== 'ok')) verdict = 'warn';
  }
  return {
    kind: 'sluice.drift-report',
    model: input.model,
    version: input.version,
    window: input.window,
    rows: counts.rows,
    judged,
    thresholds: t,
    features,
    score,
    ...(classProbabilities ? { classProbabilities } : {}),
    drifted,
    weighting,
    driftShare,
    verdict,
    seconds: input.seconds,
  };
}
