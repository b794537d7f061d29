import { z } from 'zod';
import { durationSchema, parseDurationMs } from './duration.ts';
import type { LabelKind } from './data/feature-spec.ts';
import { actorSchema, modelNameSchema } from './registry.ts';
import type { ModelRoutesConfig } from './serving-config.ts';

/**
 * Canary rollouts: the plan a rollout follows, the health figures each step is judged on, and what
 * the `modelDeployment` workflow (one per model, id `deploy-<model>`) exposes to the CLI, the HTTP
 * admin route and the Temporal UI.
 */

export const deploymentWorkflowId = (model: string) => `deploy-${model}`;

const percent = z.number().gt(0, 'expected a percentage above 0').max(100, 'expected a percentage of at most 100');

/** Limits a step is judged against; a figure that cannot be computed (no labels yet) is not judged. */
export const healthThresholdsSchema = z.strictObject({
  /** Fewer canary (or shadow) predictions, served or failed, than this in the window: keep baking, the step is not judged. */
  minSamples: z.number().int().positive().default(200),
  /** Fewer labelled canary predictions than this: the labelled figures (AUC, log-loss, RMSE, MAE, accuracy) are not compared. */
  minLabels: z.number().int().positive().default(100),
  /**
   * Largest allowed excess of the candidate's error rate (events of requests that failed with a 5xx
   * after routing, over all its events) over the champion's in the same window. Relative to the
   * champion because a failure both share (the feature store down) is not the candidate's doing and
   * rolling back would not cure it; against a champion without failures it is the candidate's own share.
   */
  maxErrorRate: z.number().min(0).max(1).default(0.01),
  maxP99LatencyMs: z.number().positive().default(250),
  /**
   * Population stability index of the canary's predictions against the champion's over the same
   * window: binary scores and regression values binned on the champion's deciles; multiclass the
   * predicted-class shares (each class's probability is reported beside it; see maxClassProbabilityPsi).
   */
  maxPsi: z.number().positive().default(0.25),
  /** Binary: largest allowed drop in ROC AUC (champion − canary). */
  maxAucDrop: z.number().min(0).default(0.02),
  /** Binary and multiclass: largest allowed rise in log-loss (canary − champion). */
  maxLogLossIncrease: z.number().min(0).default(0.05),
  /**
   * Regression: largest allowed rise of the canary's RMSE over the champion's, as a fraction of the
   * champion's (0.1: at most 10% higher). Relative because the errors are in label units, which
   * differ per model; 10% is what a canary's few hundred labels can tell from noise on a heavy-tailed label.
   */
  maxRmseIncrease: z.number().min(0).default(0.1),
  /** Regression: largest allowed rise of the canary's MAE over the champion's, as a fraction of the champion's. */
  maxMaeIncrease: z.number().min(0).default(0.1),
  /** Multiclass: largest allowed drop in accuracy (champion − canary), as the binary AUC drop. */
  maxAccuracyDrop: z.number().min(0).default(0.02),
  /**
   * Multiclass: largest allowed PSI of any one class's probability (canary against champion, on the
   * champion's deciles). Not judged unless set: it is always reported, but in the end-to-end test a
   * better candidate (accuracy 0.845 against 0.783 on the same labelled traffic) had a worst-class PSI
   * of 0.39 on ~300 predictions each, with the predicted-class shares' PSI at 0.19: two models trained
   * apart spread one class's probabilities differently without serving differently. `maxPsi` judges the
   * predicted-class shares, which are what callers act on.
   */
  maxClassProbabilityPsi: z.number().positive().optional(),
  /**
   * How often a canary step is checked while it bakes, over its window so far, or `false` for only
   * at the end. Only the serving figures are judged then (error rate and p99 latency, by the limits
   * above once the window has `minSamples`): a candidate failing its requests is rolled back within
   * a check instead of keeping its share for the whole bake. PSI and the labelled figures need the
   * whole window and are judged at its end.
   */
  checkEvery: z
    .union([durationSchema.refine((text) => (parseDurationMs(text) ?? 0) >= 1000, 'expected at least 1 second'), z.literal(false)])
    .default('1 minute'),
});
export type HealthThresholds = z.output<typeof healthThresholdsSchema>;

export const rolloutStepSchema = z.strictObject({
  /** Share of requests the candidate takes in this step; 100 means "promote". */
  percent,
  /** How long the step runs before it is judged. */
  bake: durationSchema.default('30 minutes'),
});

export const DEFAULT_STEPS = [
  { percent: 5, bake: '30 minutes' },
  { percent: 25, bake: '30 minutes' },
  { percent: 50, bake: '1 hour' },
  { percent: 100, bake: '0 seconds' },
] as const;

export const rolloutPlanSchema = z
  .strictObject({
    /** Optional first phase: the candidate scores `percent` of requests off the request path; a report compares it. */
    shadow: z.strictObject({ percent: percent.default(100), duration: durationSchema.default('1 hour') }).optional(),
    // The order rule is checked below, where JSON Schema cannot follow; the description carries it into the API document.
    steps: z
      .array(rolloutStepSchema)
      .min(1)
      .default(DEFAULT_STEPS.map((s) => ({ ...s })))
      .describe('Canary steps, in order: each percentage above the one before, the last 100 (promotion)'),
    health: healthThresholdsSchema.default(healthThresholdsSchema.parse({})),
    /** Times a step may bake again (each for its own bake time) while it has too few samples. */
    maxExtensions: z.number().int().min(0).max(100).default(3),
    /** What happens when a step still has too few samples after every extension. */
    onInsufficientData: z.enum(['rollback', 'pause']).default('pause'),
  })
  .superRefine((plan, ctx) => {
    const percents = plan.steps.map((s) => s.percent);
    if (percents[percents.length - 1] !== 100) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'the last step must be 100 (promotion)' });
    for (let i = 1; i < percents.length; i++) {
      if ((percents[i] ?? 0) <= (percents[i - 1] ?? 0)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'percent'], message: 'step percentages must increase' });
    }
  });
export type RolloutPlan = z.output<typeof rolloutPlanSchema>;
export type RolloutPlanInput = z.input<typeof rolloutPlanSchema>;

export const startRolloutInputSchema = z.strictObject({
  version: z.number().int().positive(),
  plan: rolloutPlanSchema.default(rolloutPlanSchema.parse({})),
  by: actorSchema,
  reason: z.string().default(''),
});
export type StartRolloutInput = z.input<typeof startRolloutInputSchema>;

/** What a person may do to a running deployment besides starting a rollout. */
export const DEPLOYMENT_ACTIONS = ['promote', 'pause', 'resume', 'rollback'] as const;
export type DeploymentAction = (typeof DEPLOYMENT_ACTIONS)[number];

export const controlInputSchema = z.strictObject({ by: actorSchema, reason: z.string().default('') });
export type ControlInput = z.input<typeof controlInputSchema>;

/** One version's figures over a window (from the prediction log joined to feedback labels). */
export interface VersionFigures {
  version: number;
  /** Predictions served (events), from the prediction log. */
  samples: number;
  labelled: number;
  /** Events of requests that failed after this version was chosen; undefined where failures are not recorded (shadow scoring). */
  failed?: number;
  /** failed / (samples + failed); undefined when `failed` is, or there was no traffic. */
  errorRate?: number;
  p99LatencyMs?: number;
  /** Mean of the headline number: binary P(label), regression the predicted value, multiclass the predicted class's probability. */
  meanScore?: number;
  /** Binary, on labelled predictions with both labels present. */
  auc?: number;
  /** Binary and multiclass, on labelled predictions. */
  logLoss?: number;
  /** Regression, on labelled predictions, in label units. */
  rmse?: number;
  mae?: number;
  /** Multiclass, on labelled predictions: share whose served class was the label. */
  accuracy?: number;
}

export interface HealthFigures {
  window: { from: string; to: string };
  route: 'canary' | 'shadow';
  /** The candidate's label kind; figures measured before kinds existed lack it and are binary. */
  task?: LabelKind;
  candidate: VersionFigures;
  champion: VersionFigures;
  /**
   * Prediction drift of the candidate against the champion: binary score and regression value PSI
   * over the champion's deciles, multiclass PSI of the predicted-class shares. Undefined when either
   * side has no predictions, or the two versions predict different things (kinds or classes differ).
   */
  psi?: number;
  /** Multiclass: the class whose probability drifted most, with that PSI (champion deciles as bins). */
  worstClassPsi?: { class: string; psi: number };
  /**
   * For reports: binary scores over 10 equal bins of [0, 1] (no `bins`); regression values over the
   * champion's deciles and multiclass predicted classes, each bin labelled in `bins`.
   */
  histograms?: { candidate: number[]; champion: number[]; bins?: string[] };
}

export type Verdict = 'healthy' | 'breach' | 'insufficient-data';

export interface Judgement {
  verdict: Verdict;
  /** One line per breached limit, or why the step could not be judged. */
  reasons: string[];
}

/** Judges a step's figures against the plan's limits; pure, so the workflow can call it. */
export function judgeHealth(figures: HealthFigures, limits: HealthThresholds): Judgement {
  const { candidate, champion, psi } = figures;
  const tooFew = tooFewSamples(figures, limits);
  if (tooFew) return tooFew;
  const reasons = servingBreaches(figures, limits);
  if (psi !== undefined && psi > limits.maxPsi) reasons.push(`${PSI_NAME[figures.task ?? 'binary']} ${fmt(psi)} > ${limits.maxPsi}`);
  if (figures.worstClassPsi && limits.maxClassProbabilityPsi !== undefined && figures.worstClassPsi.psi > limits.maxClassProbabilityPsi) {
    reasons.push(`probability PSI of class ${JSON.stringify(figures.worstClassPsi.class)} ${fmt(figures.worstClassPsi.psi)} > ${limits.maxClassProbabilityPsi}`);
  }
  // Each figure is compared where both versions have it: a version of another kind has none of the candidate's.
  if (candidate.labelled >= limits.minLabels && champion.labelled >= limits.minLabels) {
    if (candidate.auc !== undefined && champion.auc !== undefined && champion.auc - candidate.auc > limits.maxAucDrop) {
      reasons.push(`AUC ${fmt(candidate.auc)} vs champion ${fmt(champion.auc)} (drop > ${limits.maxAucDrop})`);
    }
    if (candidate.logLoss !== undefined && champion.logLoss !== undefined && candidate.logLoss - champion.logLoss > limits.maxLogLossIncrease) {
      reasons.push(`log-loss ${fmt(candidate.logLoss)} vs champion ${fmt(champion.logLoss)} (rise > ${limits.maxLogLossIncrease})`);
    }
    if (candidate.accuracy !== undefined && champion.accuracy !== undefined && champion.accuracy - candidate.accuracy > limits.maxAccuracyDrop) {
      reasons.push(`accuracy ${fmt(candidate.accuracy)} vs champion ${fmt(champion.accuracy)} (drop > ${limits.maxAccuracyDrop})`);
    }
    for (const [name, key, limit] of [['RMSE', 'rmse', limits.maxRmseIncrease], ['MAE', 'mae', limits.maxMaeIncrease]] as const) {
      const c = candidate[key];
      const p = champion[key];
      if (c !== undefined && p !== undefined && c > p * (1 + limit)) {
        reasons.push(`${name} ${fmt(c)} vs champion ${fmt(p)} (rise ${p > 0 ? `${fmtPercent((c - p) / p)}` : 'from 0'} > ${fmtPercent(limit)})`);
      }
    }
  }
  return reasons.length ? { verdict: 'breach', reasons } : { verdict: 'healthy', reasons: [] };
}

/**
 * Judges a canary step while it bakes, on the figures that are clear within minutes: error rate and
 * p99 latency, by the same limits and sample minimum as `judgeHealth`. `healthy` means only that
 * nothing is clearly wrong yet; the end of the bake judges everything.
 */
export function judgeServing(figures: HealthFigures, limits: HealthThresholds): Judgement {
  const tooFew = tooFewSamples(figures, limits);
  if (tooFew) return tooFew;
  const reasons = servingBreaches(figures, limits);
  return reasons.length ? { verdict: 'breach', reasons } : { verdict: 'healthy', reasons: [] };
}

function tooFewSamples(figures: HealthFigures, limits: HealthThresholds): Judgement | undefined {
  // Failed requests count as samples: a version that fails every request must be judged, not wait for data.
  const seen = figures.candidate.samples + (figures.candidate.failed ?? 0);
  return seen < limits.minSamples ? { verdict: 'insufficient-data', reasons: [`${seen} ${figures.route} predictions (needs ${limits.minSamples})`] } : undefined;
}

/** The candidate's error rate (its rise over the champion's) and p99 latency against their limits. */
function servingBreaches({ candidate, champion }: HealthFigures, limits: HealthThresholds): string[] {
  const reasons: string[] = [];
  if (candidate.errorRate !== undefined && candidate.errorRate - (champion.errorRate ?? 0) > limits.maxErrorRate) {
    reasons.push(`error rate ${fmt(candidate.errorRate)} vs champion ${fmt(champion.errorRate ?? 0)} (rise > ${limits.maxErrorRate})`);
  }
  if (candidate.p99LatencyMs !== undefined && candidate.p99LatencyMs > limits.maxP99LatencyMs) reasons.push(`p99 latency ${fmt(candidate.p99LatencyMs)} ms > ${limits.maxP99LatencyMs} ms`);
  return reasons;
}

/** Binary reasons keep the wording they always had. */
const PSI_NAME: Record<LabelKind, string> = { binary: 'PSI', regression: 'value PSI', multiclass: 'predicted-class PSI' };

const fmtPercent = (x: number) => `${(100 * x).toFixed(1)}%`;

/** One line of a check's figures for people (CLI, Temporal UI details): the candidate's kind's figures beside the champion's. */
export function describeFigures(figures: HealthFigures): string {
  const { candidate: c, champion: p } = figures;
  const pair = (name: string, a: number | undefined, b: number | undefined) => `${name} ${a?.toFixed(3) ?? 'n/a'} vs ${b?.toFixed(3) ?? 'n/a'}`;
  const labelled: Record<LabelKind, string[]> = {
    binary: [pair('auc', c.auc, p.auc)],
    regression: [pair('rmse', c.rmse, p.rmse), pair('mae', c.mae, p.mae)],
    multiclass: [pair('log-loss', c.logLoss, p.logLoss), pair('accuracy', c.accuracy, p.accuracy)],
  };
  const kind = figures.task ?? 'binary';
  const drift = [`psi ${figures.psi?.toFixed(3) ?? 'n/a'}`, ...(figures.worstClassPsi ? [`worst class psi ${figures.worstClassPsi.psi.toFixed(3)} (${figures.worstClassPsi.class})`] : [])];
  return [`${c.samples} samples`, ...drift, `p99 ${c.p99LatencyMs?.toFixed(1) ?? 'n/a'} ms`, ...labelled[kind]].join(', ');
}

// One decimal for large figures (latencies), so a value just past its limit never prints as the limit.
const fmt = (n: number) => n.toFixed(Math.abs(n) >= 100 ? 1 : 4);

/** Milliseconds of a plan duration (validated by the schema). */
export const planMs = (duration: string) => parseDurationMs(duration) ?? 0;

export const DEPLOYMENT_PHASES = ['idle', 'shadow', 'canary', 'paused', 'promoting', 'rolling-back'] as const;
export type DeploymentPhase = (typeof DEPLOYMENT_PHASES)[number];

export interface StepRecord {
  kind: 'shadow' | 'canary' | 'promote';
  percent: number;
  startedAt: string;
  endedAt?: string;
  /**
   * One entry per judgement (a step with too few samples is judged again after each extension).
   * Checks while the step bakes (`early`) are kept only when they breach: one a minute would crowd
   * out the rest and swell the state a continued run carries.
   */
  checks: { at: string; figures: HealthFigures; verdict: Verdict; reasons: string[]; early?: true }[];
  reportKey?: string;
}

/** `failed`: the rollout could not start (e.g. the registry refused to make the version canary); nothing was routed. */
export type RolloutOutcome = 'promoted' | 'rolled-back' | 'failed';

/**
 * One rollout, or (no `plan`, no steps) the rollback of a promoted champion: then `version` is the
 * champion that was rolled back and `champion` the previous one, serving again.
 */
export interface RolloutRecord {
  version: number;
  /** The champion the candidate was compared with (undefined for a model's first version). */
  champion?: number;
  by: string;
  reason: string;
  plan?: RolloutPlan;
  startedAt: string;
  steps: StepRecord[];
  /** Manual actions and automatic decisions, in order. */
  events: { at: string; action: string; by: string; reason: string }[];
  outcome?: { kind: RolloutOutcome; at: string; by: string; reason: string };
}

/**
 * The current step's bake: the window it judges from, when it ends, and how often it was extended.
 * Kept in the state so that a run continued as new in the middle of a bake (checks while baking
 * grow the history) bakes on to the same end over the same window.
 */
export interface BakeUnderWay {
  windowFrom: string;
  until: string;
  extensions: number;
}

export interface DeploymentState {
  model: string;
  phase: DeploymentPhase;
  champion?: number;
  /**
   * The champion the current one replaced (archived at that promotion): what `rollback` with no
   * rollout in progress restores. Undefined for a first version, and after such a rollback.
   */
  previousChampion?: number;
  /** The model's routes as this workflow last wrote them (undefined: none written yet). */
  routes?: ModelRoutesConfig;
  /** The rollout in progress, if any. */
  current?: RolloutRecord & { plan: RolloutPlan; stepIndex: number; paused: boolean; pausedPhase?: 'shadow' | 'canary'; bake?: BakeUnderWay };
  /** Finished rollouts, newest last (the oldest are dropped past `historyLimit`). */
  history: RolloutRecord[];
}

export const deploymentInputSchema = z.strictObject({
  model: modelNameSchema,
  /** A rollout to start at once (signal-with-start and update-with-start can carry it instead). */
  start: z.unknown().optional(),
  /** Carried across continue-as-new. */
  state: z.custom<DeploymentState>().optional(),
  ignoredSignals: z.array(z.strictObject({ signal: z.string(), input: z.unknown(), reason: z.string(), at: z.string() })).optional(),
  /** Continue as new once the history has this many events (tests lower it). */
  maxHistoryEvents: z.number().int().positive().default(5000),
  historyLimit: z.number().int().positive().default(50),
});
export type DeploymentInput = z.input<typeof deploymentInputSchema>;
