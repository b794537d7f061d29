import { z } from 'zod';
import { durationSchema, parseDurationMs } from './duration.ts';
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
  /** Fewer labelled canary predictions than this: AUC and log-loss are not compared. */
  minLabels: z.number().int().positive().default(100),
  /**
   * Largest allowed excess of the candidate's error rate (events of requests that failed with a 5xx
   * after routing, over all its events) over the champion's in the same window. Relative to the
   * champion because a failure both share (the feature store down) is not the candidate's doing and
   * rolling back would not cure it; against a champion without failures it is the candidate's own share.
   */
  maxErrorRate: z.number().min(0).max(1).default(0.01),
  maxP99LatencyMs: z.number().positive().default(250),
  /** Population stability index of the canary's scores against the champion's over the same window (champion deciles as bins). */
  maxPsi: z.number().positive().default(0.25),
  /** Largest allowed drop in ROC AUC (champion − canary). */
  maxAucDrop: z.number().min(0).default(0.02),
  /** Largest allowed rise in log-loss (canary − champion). */
  maxLogLossIncrease: z.number().min(0).default(0.05),
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
    /** Canary steps, in order; the last must be 100 (promotion). */
    steps: z.array(rolloutStepSchema).min(1).default(DEFAULT_STEPS.map((s) => ({ ...s }))),
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
  meanScore?: number;
  auc?: number;
  logLoss?: number;
}

export interface HealthFigures {
  window: { from: string; to: string };
  route: 'canary' | 'shadow';
  candidate: VersionFigures;
  champion: VersionFigures;
  /** Undefined when either side has no scores. */
  psi?: number;
  /** Score histograms over 10 equal bins of [0, 1], for reports. */
  histograms?: { candidate: number[]; champion: number[] };
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
  // Failed requests count as samples: a version that fails every request must be judged, not wait for data.
  const seen = candidate.samples + (candidate.failed ?? 0);
  if (seen < limits.minSamples) {
    return { verdict: 'insufficient-data', reasons: [`${seen} ${figures.route} predictions (needs ${limits.minSamples})`] };
  }
  const reasons: string[] = [];
  if (candidate.errorRate !== undefined && candidate.errorRate - (champion.errorRate ?? 0) > limits.maxErrorRate) {
    reasons.push(`error rate ${fmt(candidate.errorRate)} vs champion ${fmt(champion.errorRate ?? 0)} (rise > ${limits.maxErrorRate})`);
  }
  if (candidate.p99LatencyMs !== undefined && candidate.p99LatencyMs > limits.maxP99LatencyMs) reasons.push(`p99 latency ${fmt(candidate.p99LatencyMs)} ms > ${limits.maxP99LatencyMs} ms`);
  if (psi !== undefined && psi > limits.maxPsi) reasons.push(`PSI ${fmt(psi)} > ${limits.maxPsi}`);
  if (candidate.labelled >= limits.minLabels && champion.labelled >= limits.minLabels) {
    if (candidate.auc !== undefined && champion.auc !== undefined && champion.auc - candidate.auc > limits.maxAucDrop) {
      reasons.push(`AUC ${fmt(candidate.auc)} vs champion ${fmt(champion.auc)} (drop > ${limits.maxAucDrop})`);
    }
    if (candidate.logLoss !== undefined && champion.logLoss !== undefined && candidate.logLoss - champion.logLoss > limits.maxLogLossIncrease) {
      reasons.push(`log-loss ${fmt(candidate.logLoss)} vs champion ${fmt(champion.logLoss)} (rise > ${limits.maxLogLossIncrease})`);
    }
  }
  return reasons.length ? { verdict: 'breach', reasons } : { verdict: 'healthy', reasons: [] };
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
  /** One entry per judgement (a step with too few samples is judged again after each extension). */
  checks: { at: string; figures: HealthFigures; verdict: Verdict; reasons: string[] }[];
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
  current?: RolloutRecord & { plan: RolloutPlan; stepIndex: number; paused: boolean; pausedPhase?: 'shadow' | 'canary' };
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
