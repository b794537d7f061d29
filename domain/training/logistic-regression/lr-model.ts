import type { OnnxMetadata } from '../../../shared/trainers.ts';
import { assertSameFeatures, type FeatureMatrix, type FeatureNames } from '../feature-matrix.ts';
import { GraphBuilder } from '../onnx-graph.ts';
import { NUMERIC_INPUT } from '../../../shared/model-graph.ts';
import type { TrainedModel } from '../trainer.ts';
import type { LabelTask } from '../../../shared/data/feature-spec.ts';
import { untransformOutput } from '../label-transform.ts';
import { standardise, vocabularyIndices, type CategoryVocabulary, type NumericScaling } from './encoding.ts';

/** Weights of one categorical's one-hot block: a weight per vocabulary category, then "other". */
export interface CategoricalWeights {
  vocabulary: CategoryVocabulary;
  weights: Float32Array;
  other: number;
}

/**
 * A fitted logistic regression with its preprocessing. All parameters are float32, and `predict`
 * follows the exported graph step by step (impute, standardise, dot product, add the one-hot weight
 * of each categorical and the intercept, sigmoid) in float32.
 *
 * In the graph a categorical's one-hot block times its weights is a LabelEncoder from category to
 * weight (default: the "other" weight): the same sum without materialising the one-hot vector.
 */
export class LogisticRegressionModel implements TrainedModel {
  /** `linear-regression` when it predicts a number (ridge): the same graph without the sigmoid. */
  readonly kind: 'logistic-regression' | 'linear-regression';

  constructor(
    readonly features: FeatureNames,
    readonly scaling: NumericScaling,
    readonly numericWeights: Float32Array,
    readonly categorical: readonly CategoricalWeights[],
    readonly intercept: number,
    readonly summary: Record<string, unknown>,
    readonly task: LabelTask = { kind: 'binary' },
  ) {
    this.kind = task.kind === 'regression' ? 'linear-regression' : 'logistic-regression';
  }

  predict(matrix: FeatureMatrix): Float64Array {
    assertSameFeatures(this.features, matrix);
    const n = matrix.rows;
    // Accumulates the graph's Sum inputs in its order: numeric term, each categorical, intercept.
    const margin = new Float32Array(n);
    matrix.numeric.columns.forEach((column, j) => {
      const mean = this.scaling.mean[j] as number;
      const std = this.scaling.std[j] as number;
      const w = this.numericWeights[j] as number;
      for (let i = 0; i < n; i++) margin[i] = (margin[i] as number) + Math.fround(standardise(column[i] as number, mean, std) * w);
    });
    matrix.categorical.columns.forEach((column, j) => {
      const block = this.categorical[j] as CategoricalWeights;
      const indices = vocabularyIndices(column, block.vocabulary);
      const other = block.vocabulary.categories.length;
      for (let i = 0; i < n; i++) {
        const index = indices[i] as number;
        margin[i] = (margin[i] as number) + (index === other ? block.other : (block.weights[index] as number));
      }
    });
    const out = new Float64Array(n);
    const task = this.task;
    for (let i = 0; i < n; i++) {
      const m = Math.fround((margin[i] as number) + this.intercept);
      out[i] = task.kind === 'regression' ? untransformOutput(m, task.transform) : 1 / (1 + Math.exp(-m));
    }
    return out;
  }

  toOnnx(metadata: OnnxMetadata): Uint8Array {
    const graph = new GraphBuilder(this.features);
    const terms: string[] = [];
    const k = this.features.numeric.length;
    if (k > 0) {
      const mean = graph.floats('numeric_mean', [1, k], this.scaling.mean);
      const std = graph.floats('numeric_std', [1, k], this.scaling.std);
      const weights = graph.floats('numeric_weights', [k, 1], this.numericWeights);
      const missing = graph.node('IsNaN', [NUMERIC_INPUT], 'numeric_missing');
      const imputed = graph.node('Where', [missing, mean, NUMERIC_INPUT], 'numeric_imputed');
      const centred = graph.node('Sub', [imputed, mean], 'numeric_centred');
      const scaled = graph.node('Div', [centred, std], 'numeric_scaled');
      terms.push(graph.node('MatMul', [scaled, weights], 'numeric_term'));
    }
    this.categorical.forEach((block, j) => {
      terms.push(graph.categoricalLookup(j, block.vocabulary.categories, block.weights, block.other));
    });
    terms.push(graph.floats('intercept', [1], [this.intercept]));
    const margin = graph.node('Sum', terms, 'margin');
    return this.task.kind === 'binary' ? graph.toModel(margin, 'logistic-regression', metadata) : graph.toTaskModel(margin, this.kind, metadata, this.task);
  }
}
