import type { OnnxMetadata } from '../../../shared/trainers.ts';
import { assertSameFeatures, type FeatureMatrix, type FeatureNames } from '../feature-matrix.ts';
import { GraphBuilder } from '../onnx-graph.ts';
import { NUMERIC_INPUT } from '../../../shared/model-graph.ts';
import type { TrainedModel } from '../trainer.ts';
import { softmax } from '../softmax.ts';
import { standardise, vocabularyIndices, type CategoryVocabulary, type NumericScaling } from './encoding.ts';

/** One categorical's class scores: a row of K per vocabulary category, then the "other" row. */
export interface CategoricalClassWeights {
  vocabulary: CategoryVocabulary;
  /** Row-major [categories + 1, K]; the last row is "other" (rare, unseen, missing). */
  table: Float32Array;
}

/**
 * A fitted multinomial logistic regression: the binary model's preprocessing with K class scores per
 * row in place of one margin, then softmax. Parameters are float32 and `predict` follows the exported
 * graph (MatMul of the standardised numerics by a [kNum, K] matrix, a [1, K] row per categorical,
 * the intercept row, Softmax) in float32, so the ONNX parity check holds to float rounding.
 */
export class MultinomialLogisticRegressionModel implements TrainedModel {
  readonly kind = 'logistic-regression';

  constructor(
    readonly features: FeatureNames,
    readonly classes: readonly string[],
    readonly scaling: NumericScaling,
    /** Row-major [kNum, K]. */
    readonly numericWeights: Float32Array,
    readonly categorical: readonly CategoricalClassWeights[],
    /** [K]. */
    readonly intercept: Float32Array,
    readonly summary: Record<string, unknown>,
  ) {}

  /** P(class k) per row, row-major [N, K] in `classes` order. */
  predict(matrix: FeatureMatrix): Float64Array {
    assertSameFeatures(this.features, matrix);
    const n = matrix.rows;
    const k = this.classes.length;
    const numeric = new Float32Array(n * k);
    matrix.numeric.columns.forEach((column, j) => {
      const mean = this.scaling.mean[j] as number;
      const std = this.scaling.std[j] as number;
      for (let i = 0; i < n; i++) {
        const z = standardise(column[i] as number, mean, std);
        for (let c = 0; c < k; c++) numeric[i * k + c] = (numeric[i * k + c] as number) + Math.fround(z * (this.numericWeights[j * k + c] as number));
      }
    });
    const indices = matrix.categorical.columns.map((column, j) => vocabularyIndices(column, (this.categorical[j] as CategoricalClassWeights).vocabulary));
    const out = new Float64Array(n * k);
    const logits = new Array<number>(k);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        // The graph's Sum adds its inputs in order: numeric term, each categorical, intercept.
        // Without numerics the first term is added to 0, which float32 keeps exact.
        let score = numeric[i * k + c] as number;
        this.categorical.forEach((block, j) => {
          score = Math.fround(score + (block.table[((indices[j] as Int32Array)[i] as number) * k + c] as number));
        });
        logits[c] = Math.fround(score + (this.intercept[c] as number));
      }
      out.set(softmax(logits), i * k);
    }
    return out;
  }

  toOnnx(metadata: OnnxMetadata): Uint8Array {
    const graph = new GraphBuilder(this.features);
    const k = this.classes.length;
    const terms: string[] = [];
    const kNum = this.features.numeric.length;
    if (kNum > 0) {
      const mean = graph.floats('numeric_mean', [1, kNum], this.scaling.mean);
      const std = graph.floats('numeric_std', [1, kNum], this.scaling.std);
      const weights = graph.floats('numeric_weights', [kNum, k], this.numericWeights);
      const missing = graph.node('IsNaN', [NUMERIC_INPUT], 'numeric_missing');
      const imputed = graph.node('Where', [missing, mean, NUMERIC_INPUT], 'numeric_imputed');
      const centred = graph.node('Sub', [imputed, mean], 'numeric_centred');
      const scaled = graph.node('Div', [centred, std], 'numeric_scaled');
      terms.push(graph.node('MatMul', [scaled, weights], 'numeric_term'));
    }
    this.categorical.forEach((block, j) => {
      terms.push(graph.categoricalRowLookup(j, block.vocabulary.categories, block.table, k));
    });
    terms.push(graph.floats('intercept', [1, k], this.intercept));
    const scores = graph.node('Sum', terms, 'class_scores');
    return graph.toTaskModel(scores, this.kind, metadata, { kind: 'multiclass', classes: [...this.classes] });
  }
}
