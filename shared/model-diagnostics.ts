import { z } from 'zod';

/**
 * What training records about a model for its monitoring: how well its scores are calibrated (and
 * the map that calibrates them, when they need one) and how much it relies on each feature. Both
 * are optional in a manifest: versions registered before they existed, and external trainers, load
 * without them, and the monitor then falls back to raw scores and equal feature weights.
 */

/**
 * A monotone map from raw score to calibrated probability: isotonic regression's fitted blocks,
 * each at its mean raw score, linearly interpolated between them and flat beyond the outer ones.
 */
export const calibrationMapSchema = z.strictObject({
  method: z.literal('isotonic'),
  /** Mean raw score of each block, strictly increasing. */
  scores: z.array(z.number().min(0).max(1)).min(1),
  /** Fitted probability of each block, non-decreasing. */
  probabilities: z.array(z.number().min(0).max(1)).min(1),
});
export type CalibrationMap = z.infer<typeof calibrationMapSchema>;

export const reliabilityBinSchema = z.strictObject({
  from: z.number(),
  to: z.number(),
  rows: z.number().int().nonnegative(),
  meanScore: z.number().nullable(),
  positiveRate: z.number().nullable(),
});
export type ReliabilityBin = z.infer<typeof reliabilityBinSchema>;

export const calibrationCheckSchema = z.strictObject({
  split: z.string(),
  rows: z.number().int().positive(),
  /** Expected calibration error of the raw scores over the reliability bins. */
  expectedCalibrationError: z.number().min(0).max(1),
  /** The error sampling noise alone gives perfectly calibrated scores of these values (`calibrationNoiseFloor`). */
  noiseFloor: z.number().min(0).max(1),
  /** The same error after isotonic calibration, each half of the split calibrated by a map fitted on the other half. */
  crossFittedCalibratedError: z.number().min(0).max(1),
  bins: z.array(reliabilityBinSchema),
  /** Fitted on the whole split when the raw error is beyond twice the noise floor and calibrating lowers the cross-fitted error; null otherwise. */
  map: calibrationMapSchema.nullable(),
});
export type CalibrationCheck = z.infer<typeof calibrationCheckSchema>;

export const featureImportanceSchema = z.strictObject({
  method: z.literal('permutation-log-loss'),
  split: z.string(),
  rows: z.number().int().positive(),
  repeats: z.number().int().positive(),
  /** Mean rise of the split's log loss when the feature's column is shuffled (negative rises count as 0). */
  logLossIncrease: z.record(z.string(), z.number()),
  /** The rises normalised to sum 1 (equal when no feature matters): the weights of importance-weighted drift. */
  weights: z.record(z.string(), z.number().min(0).max(1)),
});
export type FeatureImportance = z.infer<typeof featureImportanceSchema>;

export const modelDiagnosticsSchema = z.strictObject({
  calibration: calibrationCheckSchema,
  featureImportance: featureImportanceSchema,
});
export type ModelDiagnostics = z.infer<typeof modelDiagnosticsSchema>;
