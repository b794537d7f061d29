/**
 * The graph contract every exported model keeps, whatever trained it, because the prediction API
 * feeds and reads models through it:
 *   input  `numeric`      float32 [N, kNum]  in feature-name order, NaN = missing (absent if kNum = 0)
 *   input  `categorical`  string  [N, kCat]  in feature-name order, '' = missing  (absent if kCat = 0)
 *   output `probability`  float32 [N, 1]     P(label = 1)
 * plus the `sluice.*` metadata_props. Trainers add only the nodes that turn inputs into a margin
 * (`domain/training/onnx-graph.ts` builds the rest).
 */

export const NUMERIC_INPUT = 'numeric';
export const CATEGORICAL_INPUT = 'categorical';
export const PROBABILITY_OUTPUT = 'probability';

/** The `metadata_props` keys every sluice model carries. */
export const MetadataKey = {
  modelName: 'sluice.model_name',
  modelVersion: 'sluice.model_version',
  featureNames: 'sluice.feature_names',
  trainer: 'sluice.trainer',
  lineage: 'sluice.lineage',
  threshold: 'sluice.threshold',
} as const;
