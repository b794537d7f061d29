import { z } from 'zod';

/**
 * Evaluation gates, declared in the pipeline spec. A candidate must pass every gate to be
 * registered as approvable; a failed gate is a normal pipeline outcome with a stored report.
 */

/** Metrics a gate can name, with the direction in which they improve. */
export const GATE_METRICS = {
  rocAuc: 'higher',
  averagePrecision: 'higher',
  logLoss: 'lower',
  brierScore: 'lower',
  expectedCalibrationError: 'lower',
  precision: 'higher',
  recall: 'higher',
  f1: 'higher',
  latencyP50Ms: 'lower',
  latencyP95Ms: 'lower',
  latencyP99Ms: 'lower',
  throughputRowsPerSecond: 'higher',
} as const satisfies Record<string, 'higher' | 'lower'>;
export type GateMetric = keyof typeof GATE_METRICS;
const gateMetricSchema = z.enum(Object.keys(GATE_METRICS) as [GateMetric, ...GateMetric[]], {
  error: (issue) => `unknown metric ${JSON.stringify(issue.input)}; expected one of ${Object.keys(GATE_METRICS).join(', ')}`,
});

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
