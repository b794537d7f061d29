/**
 * The graph contract every exported model keeps, whatever trained it, because the prediction API
 * feeds and reads models through it:
 *   input  `numeric`      float32 [N, kNum]  in feature-name order, NaN = missing (absent if kNum = 0)
 *   input  `categorical`  string  [N, kCat]  in feature-name order, '' = missing  (absent if kCat = 0)
 * and one output by label kind:
 *   binary      `probability`    float32 [N, 1]  P(label = 1)
 *   regression  `value`          float32 [N, 1]  the prediction in the label's units (any training
 *                                                transform already undone inside the graph)
 *   multiclass  `probabilities`  float32 [N, K]  P(class k), columns in the order of `sluice.classes`
 * plus the `sluice.*` metadata_props; a non-binary model also carries `sluice.label_kind`,
 * `sluice.classes` (multiclass: a JSON array) and `sluice.label_transform` (regression with a
 * transform: the spec's JSON, for the record: the graph has inverted it already). Trainers add only the nodes that turn inputs into a margin
 * (`domain/training/onnx-graph.ts` builds the rest).
 */

export const NUMERIC_INPUT = 'numeric';
export const CATEGORICAL_INPUT = 'categorical';
export const PROBABILITY_OUTPUT = 'probability';
export const VALUE_OUTPUT = 'value';
export const PROBABILITIES_OUTPUT = 'probabilities';

/** The output a model of each label kind has, and its width per row (multiclass: the class count). */
export const OUTPUT_OF_KIND = { binary: PROBABILITY_OUTPUT, regression: VALUE_OUTPUT, multiclass: PROBABILITIES_OUTPUT } as const;

/** The `metadata_props` keys every sluice model carries. */
export const MetadataKey = {
  modelName: 'sluice.model_name',
  modelVersion: 'sluice.model_version',
  featureNames: 'sluice.feature_names',
  trainer: 'sluice.trainer',
  lineage: 'sluice.lineage',
  threshold: 'sluice.threshold',
  labelKind: 'sluice.label_kind',
  classes: 'sluice.classes',
  labelTransform: 'sluice.label_transform',
} as const;
