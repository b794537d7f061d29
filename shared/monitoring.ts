import { z } from 'zod';
import { durationSchema } from './duration.ts';

/**
 * Drift and performance monitoring of a deployed model: thresholds (with their documented defaults),
 * the per-window drift report written to the reports bucket, and the monitor workflow's input.
 */

/**
 * Thresholds of the drift verdicts. Defaults follow common practice: PSI < 0.1 is stable, 0.1–0.25 a
 * moderate shift (warn), > 0.25 a major one (alert); Jensen–Shannon distance (base 2, in [0, 1]) 0.1 /
 * 0.2; Wasserstein distance normalised by the reference standard deviation 0.1 / 0.25. A feature is
 * "drifted" when any of its statistics reaches alert; the dataset drifts when the drifted features
 * carry at least `datasetDriftShare` of the model's reliance (their permutation importances recorded
 * at training, summing to 1; equal shares for versions that recorded none), so one drifted top
 * feature can trip a window and a drifted feature the model hardly uses cannot. Below `minWindowRows` rows the window is not judged.
 * Below `smallSampleRows` rows PSI and JS are too noisy to trust, and the two-sample KS test (on the
 * reference bins) decides numeric features instead, alerting below `ksPValue`.
 */
export const driftThresholdsSchema = z.strictObject({
  psi: z.strictObject({ warn: z.number().positive().default(0.1), alert: z.number().positive().default(0.25) }).prefault({}),
  jensenShannon: z.strictObject({ warn: z.number().positive().default(0.1), alert: z.number().positive().default(0.2) }).prefault({}),
  wasserstein: z.strictObject({ warn: z.number().positive().default(0.1), alert: z.number().positive().default(0.25) }).prefault({}),
  /** p-value of the chi-square test on categorical counts below which a categorical feature warns (recorded, not alerting: large windows make every difference significant). */
  chiSquarePValue: z.number().min(0).max(1).default(0.001),
  ksPValue: z.number().min(0).max(1).default(0.01),
  smallSampleRows: z.number().int().nonnegative().default(1000),
  minWindowRows: z.number().int().positive().default(500),
  datasetDriftShare: z.number().min(0).max(1).default(0.3),
  /** Added to every bin share before PSI and JS, so an empty bin does not make them infinite. */
  epsilon: z.number().positive().default(1e-4),
});
export type DriftThresholds = z.output<typeof driftThresholdsSchema>;
export type DriftThresholdsInput = z.input<typeof driftThresholdsSchema>;

export const VERDICTS = ['ok', 'warn', 'alert'] as const;
export const verdictSchema = z.enum(VERDICTS);
export type Verdict = z.infer<typeof verdictSchema>;

export const histogramSchema = z.strictObject({
  /** One label per bin: `< 3.5`, `[3.5, 7)`, `>= 12`, or a category. */
  bins: z.array(z.string()),
  reference: z.array(z.number()),
  current: z.array(z.number()),
});
export type Histogram = z.infer<typeof histogramSchema>;

export const featureDriftSchema = z.strictObject({
  name: z.string(),
  kind: z.enum(['numeric', 'categorical', 'score']),
  rows: z.number().int(),
  nullRate: z.strictObject({ reference: z.number(), current: z.number() }),
  statistics: z.strictObject({
    psi: z.number(),
    jensenShannon: z.number(),
    wasserstein: z.number().nullable(),
    chiSquare: z.strictObject({ statistic: z.number(), degreesOfFreedom: z.number().int(), pValue: z.number() }).nullable(),
    ks: z.strictObject({ statistic: z.number(), pValue: z.number() }).nullable(),
  }),
  /** Which statistics reached warn or alert, e.g. `psi 0.31 >= 0.25`. */
  reasons: z.array(z.string()),
  verdict: verdictSchema,
  /** The feature's share of the model's reliance (the report's `weighting`), counted into `driftShare` when it drifts; null for the score. */
  weight: z.number().min(0).max(1).nullable(),
  histogram: histogramSchema,
});
export type FeatureDrift = z.infer<typeof featureDriftSchema>;

export const driftReportSchema = z.strictObject({
  kind: z.literal('sluice.drift-report'),
  model: z.string(),
  version: z.number().int().positive(),
  window: z.strictObject({ from: z.iso.datetime(), until: z.iso.datetime() }),
  rows: z.number().int(),
  /** False when the window had fewer than `minWindowRows` rows: no verdict then. */
  judged: z.boolean(),
  thresholds: driftThresholdsSchema,
  features: z.array(featureDriftSchema),
  score: featureDriftSchema.nullable(),
  /** Multiclass, once a baseline window is recorded: each class's probability against the baseline's (`P(class)`); a signal like `score`. */
  classProbabilities: z.array(featureDriftSchema).optional(),
  drifted: z.array(z.string()),
  /**
   * `importance`: each feature weighs its permutation importance recorded at training; `equal`: the
   * version recorded none (older manifests, external trainers), so every feature weighs the same.
   */
  weighting: z.enum(['importance', 'equal']),
  /** Sum of the drifted features' weights: the dataset drifts when it reaches `datasetDriftShare`. */
  driftShare: z.number(),
  verdict: verdictSchema,
  seconds: z.number(),
});
export type DriftReport = z.infer<typeof driftReportSchema>;

/** What an activity returns to the workflow: the verdict and where the full report lies. */
export const driftSummarySchema = z.strictObject({
  model: z.string(),
  version: z.number().int().positive(),
  window: z.strictObject({ from: z.iso.datetime(), until: z.iso.datetime() }),
  rows: z.number().int(),
  judged: z.boolean(),
  verdict: verdictSchema,
  driftShare: z.number(),
  drifted: z.array(z.string()),
  top: z.array(z.strictObject({ name: z.string(), psi: z.number(), jensenShannon: z.number(), verdict: verdictSchema })),
  /** Multiclass with a baseline: the class whose probability moved most (largest PSI against the baseline window). */
  worstClassProbability: z.strictObject({ class: z.string(), psi: z.number(), verdict: verdictSchema }).optional(),
  reportKey: z.string(),
  htmlKey: z.string(),
});
export type DriftSummary = z.infer<typeof driftSummarySchema>;

/**
 * Realized performance on the labelled predictions of a window, the figures of the model's kind:
 * binary ROC AUC and log loss (`positives` counted); regression RMSE and MAE in label units;
 * multiclass log loss and accuracy. Figures of another kind are absent (summaries written before
 * kinds existed are binary).
 */
export const performanceSummarySchema = z.strictObject({
  labelled: z.number().int(),
  positives: z.number().int(),
  rocAuc: z.number().nullable(),
  logLoss: z.number().nullable(),
  rmse: z.number().nullable().optional(),
  mae: z.number().nullable().optional(),
  accuracy: z.number().nullable().optional(),
});
export type PerformanceSummary = z.infer<typeof performanceSummarySchema>;

/** The windows one pass judges realized performance for, as of the pass's instant. */
export const realizedPerformanceInputSchema = z.strictObject({
  model: z.string(),
  version: z.number().int().positive(),
  asOf: z.iso.datetime(),
  labelHorizonMs: z.number().int().nonnegative(),
  windows: z.array(z.strictObject({ from: z.iso.datetime(), until: z.iso.datetime() })).min(1),
});
export type RealizedPerformanceInput = z.input<typeof realizedPerformanceInputSchema>;

/** A version's evaluated test figures: those of its kind are numbers, the others null or absent (baselines recorded before kinds existed have only the binary ones). */
export interface PerformanceFigures {
  rocAuc: number | null;
  logLoss: number | null;
  rmse?: number | null;
  mae?: number | null;
  accuracy?: number | null;
}

export interface RealizedPerformance {
  baseline: PerformanceFigures;
  /** Per window, in the order asked: predictions served, labels joined (received before `labelsBefore`) and their figures. */
  windows: (PerformanceSummary & { from: string; until: string; labelsBefore: string; served: number })[];
  /** Feedback hour partitions listed for this pass. */
  feedbackHours: number;
}

/** What the window's scores alone say about its performance (CBPE, `domain/monitoring/performance-estimate.ts`): expected values, not counts. */
export const performanceEstimateSchema = z.strictObject({
  method: z.literal('cbpe'),
  rows: z.number().int().nonnegative(),
  /** Whether the version's calibration map was applied to the scores first. */
  calibrated: z.boolean(),
  threshold: z.number(),
  expectedPositives: z.number(),
  confusion: z.strictObject({ truePositives: z.number(), falsePositives: z.number(), trueNegatives: z.number(), falseNegatives: z.number() }),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  rocAuc: z.number().nullable(),
});
export type PerformanceEstimate = z.infer<typeof performanceEstimateSchema>;

/** A window's estimate beside the version's evaluated test ROC AUC, which an estimated drop is measured from. */
export const windowEstimateSchema = performanceEstimateSchema.extend({ referenceRocAuc: z.number().nullable() });
export type WindowEstimate = z.infer<typeof windowEstimateSchema>;

/** Keys in the reports bucket for drift reports, one per (model, version, window). */
export const monitoringKeys = {
  prefix: (model: string) => `monitoring/model=${model}/`,
  report: (model: string, version: number, fromIso: string, untilIso: string) => `monitoring/model=${model}/version=${version}/window=${fromIso}_${untilIso}/drift.json`,
  html: (model: string, version: number, fromIso: string, untilIso: string) => `monitoring/model=${model}/version=${version}/window=${fromIso}_${untilIso}/drift.html`,
} as const;

export const driftWindowInputSchema = z.strictObject({
  model: z.string(),
  version: z.number().int().positive(),
  from: z.iso.datetime(),
  until: z.iso.datetime(),
  thresholds: driftThresholdsSchema.prefault({}),
  /** Prediction counts of an earlier window of the same version (binary SCORE_BINS score bins, regression value bins, multiclass classes); without it the prediction is shown, not judged. */
  scoreBaseline: z.array(z.number().int().nonnegative()).optional(),
  /** Regression: the inner edges of the baseline's value bins (its window's deciles); without them this window's deciles become the bins. */
  scoreEdges: z.array(z.number()).optional(),
  /** Multiclass: the baseline window's per-class probability bins; without them the classes' probabilities are not judged. */
  classProbabilityBaseline: z.array(z.array(z.number().int().nonnegative())).optional(),
});
export type DriftWindowInput = z.input<typeof driftWindowInputSchema>;

/**
 * One `driftMonitor` run, started by a Temporal Schedule every `interval`: it judges the window
 * [now − window, now) of the model's champion, and re-judges the realized performance of earlier
 * windows as their labels arrive, until `labelHorizon`. A retraining starts when `consecutive.k` of
 * the last `consecutive.n` judged windows alerted, or `consecutive.k` of the last `consecutive.n`
 * windows with `performance.minLabelled` labels breached the version's own evaluated test figures
 * (ROC AUC down more than `maxAucDrop`, log loss up more than `maxLogLossIncrease`: the canary's
 * limits and defaults) or the optional floor `minRocAuc`; and no retraining ran within `cooldown`,
 * and the training slot is free.
 */
export const driftMonitorInputSchema = z.strictObject({
  model: z.string(),
  window: durationSchema.default('1h').describe('Length of the judged window'),
  /** Windows end on multiples of this (the schedule's interval), so a retried run judges the same window. */
  align: durationSchema.default('1h'),
  thresholds: driftThresholdsSchema.prefault({}),
  consecutive: z.strictObject({ k: z.number().int().positive().default(2), n: z.number().int().positive().default(3) }).prefault({}),
  cooldown: durationSchema.default('24h'),
  /** Judge this instant instead of the run's start time (replays, backfills, tests). */
  asOf: z.iso.datetime().optional(),
  performance: z
    .strictObject({
      minRocAuc: z.number().min(0).max(1).optional(),
      minLabelled: z.number().int().positive().default(200),
      /** Largest allowed drop of a window's ROC AUC below the version's evaluated test ROC AUC (as the canary's `maxAucDrop`). */
      maxAucDrop: z.number().min(0).default(0.02),
      /** Largest allowed rise of a window's log loss above the version's evaluated test log loss (as the canary's `maxLogLossIncrease`). */
      maxLogLossIncrease: z.number().min(0).default(0.05),
      /** Regression: largest allowed rise of a window's RMSE above the version's test RMSE, as a fraction of it (as the canary's `maxRmseIncrease`). */
      maxRmseIncrease: z.number().min(0).default(0.1),
      /** Regression: the same for MAE (as the canary's `maxMaeIncrease`). */
      maxMaeIncrease: z.number().min(0).default(0.1),
      /** Multiclass: largest allowed drop of a window's accuracy below the version's test accuracy (as the canary's `maxAccuracyDrop`). */
      maxAccuracyDrop: z.number().min(0).default(0.02),
      /** Binary only: trip on the estimated (CBPE) ROC AUC falling this far below the version's test AUC; off unless set, until the estimate's error is measured on real traffic. */
      estimatedMaxAucDrop: z.number().positive().max(1).optional(),
    })
    .prefault({}),
  /**
   * How long after a window ends its feedback labels still count: the window's performance is
   * re-judged on later passes as labels arrive (see `windowsToRejudge`) and labels received after the
   * horizon are never joined. A churn model whose truth takes a month says `30d`.
   */
  labelHorizon: durationSchema.default('7d'),
  /** The pipeline spec retraining runs with; its dataset source is re-read, so it trains on the newest data. Without it the monitor only reports. */
  retrainSpec: z.record(z.string(), z.unknown()).optional(),
});
export type DriftMonitorInput = z.input<typeof driftMonitorInputSchema>;

export const PERFORMANCE_VERDICTS = ['ok', 'breach', 'insufficient-labels'] as const;
export type PerformanceVerdict = (typeof PERFORMANCE_VERDICTS)[number];

/**
 * One judged window. The fields after `rocAuc` came with realized performance; states written before
 * lack them, and such windows are never re-judged.
 */
export const monitoredWindowSchema = z.strictObject({
  until: z.iso.datetime(),
  version: z.number().int(),
  verdict: verdictSchema,
  /** Realized ROC AUC on the labels joined so far (null below two classes). */
  rocAuc: z.number().nullable(),
  /** Binary: the ROC AUC the window's scores alone imply (CBPE), known before any label arrives. */
  estimatedRocAuc: z.number().nullable().optional(),
  from: z.iso.datetime().optional(),
  logLoss: z.number().nullable().optional(),
  /** Regression models' realized RMSE and MAE, multiclass models' accuracy (log loss above); absent for binary ones. */
  rmse: z.number().nullable().optional(),
  mae: z.number().nullable().optional(),
  accuracy: z.number().nullable().optional(),
  /** Predictions served in the window and how many of them have a label so far: the labels' completeness. */
  served: z.number().int().nonnegative().optional(),
  labelled: z.number().int().nonnegative().optional(),
  performance: z.enum(PERFORMANCE_VERDICTS).optional(),
  /** Why `performance` is `breach`, e.g. `ROC AUC 0.648 vs baseline 0.716 (drop 0.068 > 0.02)`. */
  performanceReasons: z.array(z.string()).optional(),
  /** Labels received before this instant are counted; it stops at `until` + the label horizon. */
  labelsAsOf: z.iso.datetime().optional(),
  /** The horizon has passed: the figures are final and the window is not re-judged again. */
  labelsFinal: z.boolean().optional(),
});
export type MonitoredWindow = z.infer<typeof monitoredWindowSchema>;

/** What the monitor remembers between windows, stored in the reports bucket. */
export const monitorStateSchema = z.strictObject({
  model: z.string(),
  /** Newest last: one entry per judged window. */
  windows: z.array(monitoredWindowSchema),
  /** The version's first judged window's prediction counts; `edges`: regression value bins (that window's deciles). */
  scoreBaseline: z.strictObject({ version: z.number().int(), counts: z.array(z.number().int()), edges: z.array(z.number()).optional(), classProbabilities: z.array(z.array(z.number().int())).optional() }).nullable(),
  lastRetrain: z.strictObject({ at: z.iso.datetime(), workflowId: z.string() }).nullable(),
});
export type MonitorState = z.infer<typeof monitorStateSchema>;

export const monitorStateKey = (model: string) => `monitoring/model=${model}/state.json`;

/** A window of logged predictions ends here: `interval` boundaries, so a retried or late run judges the same window. */
export function windowEnding(nowMs: number, windowMs: number, alignMs: number): { from: string; until: string } {
  const until = Math.floor(nowMs / alignMs) * alignMs;
  return { from: new Date(until - windowMs).toISOString(), until: new Date(until).toISOString() };
}

/** The version's own evaluated test figures (its manifest's metrics), the baseline realized performance is judged against. */
export type PerformanceBaseline = RealizedPerformance['baseline'];

export type PerformanceLimits = Pick<
  z.output<typeof driftMonitorInputSchema>['performance'],
  'minLabelled' | 'maxAucDrop' | 'maxLogLossIncrease' | 'minRocAuc' | 'maxRmseIncrease' | 'maxMaeIncrease' | 'maxAccuracyDrop'
>;

/** A window's realized figures as the judge reads them. */
export type WindowFigures = { labelled: number } & PerformanceFigures;

const fmt3 = (x: number) => x.toFixed(3);

/**
 * Realized performance of one window against the version's baseline: with fewer than `minLabelled`
 * labels nothing is judged; otherwise an AUC drop or log-loss rise beyond its limit, or an AUC under
 * the optional absolute floor, is a breach, each named with its figures.
 */
export function judgeWindowPerformance(figures: WindowFigures, baseline: PerformanceBaseline, limits: PerformanceLimits): { performance: PerformanceVerdict; performanceReasons: string[] } {
  if (figures.labelled < limits.minLabelled) return { performance: 'insufficient-labels', performanceReasons: [] };
  const reasons: string[] = [];
  const { rocAuc, logLoss } = figures;
  if (rocAuc !== null && baseline.rocAuc !== null && baseline.rocAuc - rocAuc > limits.maxAucDrop) {
    reasons.push(`ROC AUC ${fmt3(rocAuc)} vs baseline ${fmt3(baseline.rocAuc)} (drop ${fmt3(baseline.rocAuc - rocAuc)} > ${limits.maxAucDrop})`);
  }
  if (logLoss !== null && baseline.logLoss !== null && logLoss - baseline.logLoss > limits.maxLogLossIncrease) {
    reasons.push(`log loss ${fmt3(logLoss)} vs baseline ${fmt3(baseline.logLoss)} (rise ${fmt3(logLoss - baseline.logLoss)} > ${limits.maxLogLossIncrease})`);
  }
  if (rocAuc !== null && limits.minRocAuc !== undefined && rocAuc < limits.minRocAuc) reasons.push(`ROC AUC ${fmt3(rocAuc)} < floor ${limits.minRocAuc}`);
  const { accuracy } = figures;
  if (accuracy != null && baseline.accuracy != null && baseline.accuracy - accuracy > limits.maxAccuracyDrop) {
    reasons.push(`accuracy ${fmt3(accuracy)} vs baseline ${fmt3(baseline.accuracy)} (drop ${fmt3(baseline.accuracy - accuracy)} > ${limits.maxAccuracyDrop})`);
  }
  for (const [name, key, limit] of [['RMSE', 'rmse', limits.maxRmseIncrease], ['MAE', 'mae', limits.maxMaeIncrease]] as const) {
    const value = figures[key];
    const base = baseline[key];
    if (value != null && base != null && value > base * (1 + limit)) {
      reasons.push(`${name} ${fmt3(value)} vs baseline ${fmt3(base)} (rise ${base > 0 ? `${((100 * (value - base)) / base).toFixed(1)}%` : 'from 0'} > ${(100 * limit).toFixed(1)}%)`);
    }
  }
  return { performance: reasons.length ? 'breach' : 'ok', performanceReasons: reasons };
}

/** Number of doublings of `align` an age has passed: 0 under one interval, then 1, 2, 3 at 1, 2, 4 intervals... */
const maturity = (ageMs: number, alignMs: number) => (ageMs < alignMs ? 0 : Math.floor(Math.log2(ageMs / alignMs)) + 1);

/**
 * The earlier windows of `version` whose realized performance this pass re-judges: a window is
 * re-judged each time its age doubles (1, 2, 4, ... intervals after its end) and once more when its
 * label horizon has passed, which makes its figures final. So a window is read about
 * log2(horizon / interval) + 2 times in all: with hourly windows and a 30-day horizon, 11 times, and
 * a pass re-judges at most those ~11 windows whose age crossed a doubling, however old the model.
 * Windows recorded before realized performance existed (no `from`) are not re-judged.
 */
export function windowsToRejudge(windows: readonly MonitoredWindow[], version: number, nowMs: number, horizonMs: number, alignMs: number): MonitoredWindow[] {
  return windows.filter((w) => {
    if (w.version !== version || w.from === undefined || w.labelsAsOf === undefined || w.labelsFinal) return false;
    const until = Date.parse(w.until);
    const age = nowMs - until;
    return age >= horizonMs || maturity(age, alignMs) > maturity(Date.parse(w.labelsAsOf) - until, alignMs);
  });
}

/** Labels of a window ending at `until` count when received before this instant: now, or the horizon once it has passed. */
export function labelsCutoffMs(until: string, horizonMs: number, nowMs: number): number {
  return Math.min(Date.parse(until) + horizonMs, nowMs);
}

/** A window's record with the realized figures of this pass and their verdict against the baseline. */
export function withRealizedPerformance(
  window: MonitoredWindow,
  figures: WindowFigures & { served: number },
  baseline: PerformanceBaseline,
  limits: PerformanceLimits,
  nowMs: number,
  horizonMs: number,
): MonitoredWindow {
  const cutoff = labelsCutoffMs(window.until, horizonMs, nowMs);
  return {
    ...window,
    rocAuc: figures.rocAuc,
    logLoss: figures.logLoss,
    ...(figures.rmse !== undefined && { rmse: figures.rmse }),
    ...(figures.mae !== undefined && { mae: figures.mae }),
    ...(figures.accuracy !== undefined && { accuracy: figures.accuracy }),
    served: figures.served,
    labelled: figures.labelled,
    ...judgeWindowPerformance(figures, baseline, limits),
    labelsAsOf: new Date(cutoff).toISOString(),
    labelsFinal: nowMs >= Date.parse(window.until) + horizonMs,
  };
}

/** One line for people (CLI, timeline): a window's realized figures and how complete its labels are. */
export function describeRealized(w: MonitoredWindow): string {
  const n = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(4));
  // A window records the figures of its model's kind: RMSE and MAE (regression), accuracy beside log loss (multiclass), else ROC AUC.
  const figures =
    w.rmse !== undefined || w.mae !== undefined
      ? `RMSE ${n(w.rmse)}, MAE ${n(w.mae)}`
      : w.accuracy !== undefined
        ? `log loss ${n(w.logLoss)}, accuracy ${n(w.accuracy)}`
        : `ROC AUC ${w.rocAuc === null ? 'n/a' : w.rocAuc.toFixed(4)}${w.logLoss === undefined || w.logLoss === null ? '' : `, log loss ${w.logLoss.toFixed(4)}`}`;
  if (w.served === undefined || w.labelled === undefined) return figures;
  const share = w.served > 0 ? ` (${((100 * w.labelled) / w.served).toFixed(1)}%)` : '';
  const maturity = w.labelsFinal ? 'final' : `maturing, labels as of ${w.labelsAsOf ?? '?'}`;
  const verdict = w.performance === 'breach' ? `; breach: ${(w.performanceReasons ?? []).join(', ')}` : w.performance === 'insufficient-labels' ? '; too few labels to judge' : '';
  return `${figures}; labels ${w.labelled}/${w.served}${share}, ${maturity}${verdict}`;
}

export interface MonitorDecision {
  /** Alerting windows among the last `n` judged windows of the version. */
  alerts: number;
  /** Breaching windows among the last `n` windows of the version with at least `minLabelled` labels. */
  performanceBreaches: number;
  performanceBreached: boolean;
  /** The estimated ROC AUC fell more than `estimatedMaxAucDrop` below the version's test AUC. */
  estimateBreached: boolean;
  tripped: boolean;
  coolingDown: boolean;
  retrain: boolean;
  reason: string;
}

/**
 * K-of-N drift alerts, K-of-N realized-performance breaches, cooldown after the last retraining: pure,
 * so the workflow and tests share it. Performance is counted over the version's last `n` windows that
 * have enough labels (their newest figures, so a window re-judged as its labels mature counts once),
 * because one window's AUC on a few hundred labels is noisy; a breach of the absolute floor counts
 * the same way.
 */
export function decideRetraining(
  state: MonitorState,
  version: number,
  nowMs: number,
  input: { consecutive: { k: number; n: number }; cooldownMs: number; estimatedMaxAucDrop?: number | undefined },
  estimate?: { rocAuc: number | null; referenceRocAuc: number | null } | null,
): MonitorDecision {
  const ofVersion = state.windows.filter((w) => w.version === version);
  const recent = ofVersion.slice(-input.consecutive.n);
  const alerts = recent.filter((w) => w.verdict === 'alert').length;
  const labelled = ofVersion.filter((w) => w.performance === 'ok' || w.performance === 'breach').slice(-input.consecutive.n);
  const breaching = labelled.filter((w) => w.performance === 'breach');
  const performanceBreached = breaching.length >= input.consecutive.k;
  const estimatedDrop = estimate?.rocAuc != null && estimate.referenceRocAuc !== null ? estimate.referenceRocAuc - estimate.rocAuc : null;
  const estimateBreached = input.estimatedMaxAucDrop !== undefined && estimatedDrop !== null && estimatedDrop > input.estimatedMaxAucDrop;
  const drifting = alerts >= input.consecutive.k;
  const tripped = drifting || performanceBreached || estimateBreached;
  const coolingDown = state.lastRetrain !== null && nowMs - Date.parse(state.lastRetrain.at) < input.cooldownMs;
  const latestBreach = breaching.at(-1);
  const reasons = [
    ...(drifting ? [`${alerts} of the last ${recent.length} windows alerted (needs ${input.consecutive.k} of ${input.consecutive.n})`] : []),
    ...(performanceBreached && latestBreach
      ? [
          `${breaching.length} of the last ${labelled.length} labelled windows breached performance (needs ${input.consecutive.k} of ${input.consecutive.n}); window ending ${latestBreach.until}: ${(latestBreach.performanceReasons ?? []).join(', ')} on ${latestBreach.labelled ?? '?'} labels`,
        ]
      : []),
    ...(estimateBreached ? [`estimated ROC AUC ${estimate?.rocAuc?.toFixed(4)} is ${estimatedDrop?.toFixed(4)} below the test AUC ${estimate?.referenceRocAuc?.toFixed(4)} (max drop ${input.estimatedMaxAucDrop})`] : []),
  ];
  if (tripped && coolingDown) reasons.push(`cooling down since the retraining at ${state.lastRetrain?.at}`);
  return { alerts, performanceBreaches: breaching.length, performanceBreached, estimateBreached, tripped, coolingDown, retrain: tripped && !coolingDown, reason: reasons.join('; ') || 'no threshold tripped' };
}
