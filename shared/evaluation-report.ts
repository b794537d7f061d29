import { z } from 'zod';
import { gateOutcomeSchema, gateSpecSchema } from './gates.ts';
import { reliabilityBinSchema } from './model-diagnostics.ts';

/**
 * The evaluation report a training run stores (`evaluationKeys.report`) and the gate report beside
 * it, as readers (the console, scripts) parse them. The metrics records are the domain's; here they
 * are read as loose records of numbers. The curve points came later than the metrics: every curve
 * field is optional, so reports written before them still parse and the console shows "no curve".
 */

/** One vertex of the ROC curve: the rates when rows scoring ≥ `threshold` are predicted positive. */
export const rocPointSchema = z.strictObject({ fpr: z.number().min(0).max(1), tpr: z.number().min(0).max(1), threshold: z.number() });
export type RocPoint = z.infer<typeof rocPointSchema>;

/** One vertex of the precision–recall curve at `threshold`. */
export const prPointSchema = z.strictObject({ recall: z.number().min(0).max(1), precision: z.number().min(0).max(1), threshold: z.number() });
export type PrPoint = z.infer<typeof prPointSchema>;

/** Row counts of scores in equal-width bins over [0, 1] (`edges` has one more entry than each count list), by label. */
export const scoreHistogramSchema = z.strictObject({
  edges: z.array(z.number()).min(2),
  positives: z.array(z.number().int().nonnegative()),
  negatives: z.array(z.number().int().nonnegative()),
});
export type ScoreHistogram = z.infer<typeof scoreHistogramSchema>;

/**
 * What a binary model's charts need, downsampled so a report stays small whatever the test split:
 * ROC and PR vertices (a few hundred; the trapezoid area of `roc` is the ROC AUC within ~0.002),
 * the reliability bins the ECE is computed on, and the score histogram by label.
 */
export const binaryCurvesSchema = z.strictObject({
  kind: z.literal('binary'),
  roc: z.array(rocPointSchema).min(2),
  pr: z.array(prPointSchema).min(1),
  reliability: z.array(reliabilityBinSchema),
  scoreHistogram: scoreHistogramSchema,
});
export type BinaryCurves = z.infer<typeof binaryCurvesSchema>;

/** A regression model's predicted-vs-actual plot and residual plot read this systematic sample of test rows. */
export const regressionCurvesSchema = z.strictObject({
  kind: z.literal('regression'),
  /** Rows the sample was drawn from (the test split). */
  rows: z.number().int().positive(),
  sample: z.array(z.strictObject({ predicted: z.number(), actual: z.number() })),
});
export type RegressionCurves = z.infer<typeof regressionCurvesSchema>;

export const evaluationCurvesSchema = z.discriminatedUnion('kind', [binaryCurvesSchema, regressionCurvesSchema]);
export type EvaluationCurves = z.infer<typeof evaluationCurvesSchema>;

/** A metrics record as stored: the numbers a table shows, and nested records (confusion, per-class) read by the page that needs them. */
const metricsRecordSchema = z.record(z.string(), z.unknown());

/** The champion scored on the same test split in the same run (otherwise the report says why it was `skipped`). */
export const scoredChampionSchema = z.looseObject({ version: z.number().int().positive(), overall: metricsRecordSchema, curves: evaluationCurvesSchema.optional() });

export const evaluationReportSchema = z.looseObject({
  runId: z.string(),
  modelName: z.string(),
  /** Absent on binary reports (written before other kinds existed). */
  labelKind: z.enum(['binary', 'regression', 'multiclass']).optional(),
  datasetVersion: z.string(),
  featureDefinitionHash: z.string(),
  testRows: z.number().int(),
  threshold: z.number().optional(),
  overall: metricsRecordSchema,
  slices: z.array(z.looseObject({ slice: z.string(), value: z.string(), rows: z.number().int(), metrics: metricsRecordSchema.optional(), note: z.string().optional() })),
  champion: z.union([scoredChampionSchema, z.looseObject({ skipped: z.string() })]),
  curves: evaluationCurvesSchema.optional(),
});
export type EvaluationReport = z.infer<typeof evaluationReportSchema>;

export const gateReportSchema = z.looseObject({ runId: z.string(), gates: gateSpecSchema, outcome: gateOutcomeSchema });
export type GateReport = z.infer<typeof gateReportSchema>;
