import { z } from 'zod';
import type { LabelKind } from './data/feature-spec.ts';

/**
 * Evaluation gates, declared in the pipeline spec. A candidate must pass every gate to be
 * registered as approvable; a failed gate is a normal pipeline outcome with a stored report.
 */

const LATENCY_METRICS = {
  latencyP50Ms: 'lower',
  latencyP95Ms: 'lower',
  latencyP99Ms: 'lower',
  throughputRowsPerSecond: 'higher',
} as const;

/**
 * Metrics a gate can name for each label kind, with the direction in which they improve. Regression:
 * `maeOverMean` is MAE / mean |label|, an error free of the label's scale. Multiclass: `macroF1` and
 * `macroAuc` (one-vs-rest ROC AUC) average the classes with equal weight; `logLoss` is the
 * multiclass cross-entropy.
 */
export const GATE_METRICS_BY_KIND = {
  binary: {
    rocAuc: 'higher',
    averagePrecision: 'higher',
    logLoss: 'lower',
    brierScore: 'lower',
    expectedCalibrationError: 'lower',
    precision: 'higher',
    recall: 'higher',
    f1: 'higher',
    ...LATENCY_METRICS,
  },
  regression: { rmse: 'lower', mae: 'lower', r2: 'higher', maeOverMean: 'lower', ...LATENCY_METRICS },
  multiclass: { logLoss: 'lower', accuracy: 'higher', macroF1: 'higher', macroAuc: 'higher', ...LATENCY_METRICS },
} as const satisfies Record<LabelKind, Record<string, 'higher' | 'lower'>>;

/** Every metric a gate can name, of any kind, with its direction (a name shared by kinds has one direction). */
export const GATE_METRICS = { ...GATE_METRICS_BY_KIND.binary, ...GATE_METRICS_BY_KIND.regression, ...GATE_METRICS_BY_KIND.multiclass } as const;
export type GateMetric = keyof typeof GATE_METRICS;
const gateMetricSchema = z.enum(Object.keys(GATE_METRICS) as [GateMetric, ...GateMetric[]], {
  error: (issue) => `unknown metric ${JSON.stringify(issue.input)}; expected one of ${Object.keys(GATE_METRICS).join(', ')}`,
});

/** Gates naming a metric the model's kind does not have, each with its path in the gate spec and a message listing the ones it has. */
export function gateMetricProblems(gates: GateSpecInput, kind: LabelKind): { path: (string | number)[]; message: string }[] {
  const allowed = GATE_METRICS_BY_KIND[kind];
  const problems: { path: (string | number)[]; message: string }[] = [];
  for (const section of ['absolute', 'vsChampion', 'slices'] as const) {
    (gates[section] ?? []).forEach((gate, i) => {
      if (!Object.hasOwn(allowed, gate.metric)) {
        problems.push({ path: [section, i, 'metric'], message: `metric "${gate.metric}" does not exist for a ${kind} model; its metrics are ${Object.keys(allowed).join(', ')}` });
      }
    });
  }
  return problems;
}

/** A bound on a metric: `min` for "at least", `max` for "at most"; exactly one. */
const boundSchema = z
  .strictObject({ metric: gateMetricSchema, min: z.number().optional(), max: z.number().optional() })
  .refine((g) => (g.min === undefined) !== (g.max === undefined), { message: 'give exactly one of min or max' });

export const gateSpecSchema = z.strictObject({
  /** e.g. `{ metric: 'rocAuc', min: 0.65 }`, `{ metric: 'latencyP99Ms', max: 5 }`. */
  absolute: z.array(boundSchema).default([]),
  /**
   * Against the current champion scored on the same test split in the same run. `maxRegression` is
   * how much worse the candidate may be (0 = must be at least as good), in the metric's units or, with
   * `relative: true`, as a fraction of the champion's value. `direction` overrides the metric's own.
   */
  vsChampion: z
    .array(
      z.strictObject({
        metric: gateMetricSchema,
        maxRegression: z.number().nonnegative().default(0),
        relative: z.boolean().default(false),
        direction: z.enum(['higher', 'lower']).optional(),
      }),
    )
    .default([]),
  /** Applied to every declared slice with at least `minRows` test rows (smaller slices are skipped, not failed). */
  slices: z.array(z.intersection(boundSchema, z.strictObject({ minRows: z.number().int().positive().default(200) }).partial())).default([]),
});
export type GateSpec = z.output<typeof gateSpecSchema>;
export type GateSpecInput = z.input<typeof gateSpecSchema>;

export type MetricValues = Partial<Record<GateMetric, number>>;

export interface EvaluationSummary {
  overall: MetricValues;
  slices: { name: string; rows: number; metrics: MetricValues }[];
  champion?: { version: number; overall: MetricValues };
}

export const gateCheckSchema = z.object({
  kind: z.enum(['absolute', 'vs-champion', 'slice']),
  metric: z.string(),
  scope: z.string(),
  value: z.number().nullable(),
  comparator: z.enum(['>=', '<=']),
  threshold: z.number().nullable(),
  verdict: z.enum(['pass', 'fail', 'skipped']),
  note: z.string().optional(),
});
export type GateCheck = z.infer<typeof gateCheckSchema>;

export const gateOutcomeSchema = z.object({ passed: z.boolean(), checks: z.array(gateCheckSchema), failed: z.array(z.string()) });
export type GateOutcome = z.infer<typeof gateOutcomeSchema>;
