import type { FeatureMatrix } from '../feature-matrix.ts';
import { standardise, vocabularyIndices, type CategoryVocabulary, type NumericScaling } from './encoding.ts';

/**
 * The encoded design matrix, kept sparse by construction: every row has the intercept, one value per
 * numeric feature and exactly one active one-hot column per categorical. Weight layout:
 *   [0] intercept | [1..kNum] numeric | then per categorical its vocabulary columns and "other".
 */
export interface Design {
  rows: number;
  dimension: number;
  /** Standardised value per numeric feature and row. */
  numeric: Float64Array[];
  /** Weight index of the active one-hot column per categorical and row. */
  active: Int32Array[];
}

/** First weight index of each categorical's block. */
export function blockStarts(numericCount: number, vocabularies: readonly CategoryVocabulary[]): number[] {
  const starts: number[] = [];
  let next = 1 + numericCount;
  for (const vocabulary of vocabularies) {
    starts.push(next);
    next += vocabulary.categories.length + 1;
  }
  return starts;
}

export function buildDesign(matrix: FeatureMatrix, scaling: NumericScaling, vocabularies: readonly CategoryVocabulary[]): Design {
  const numericCount = matrix.numeric.columns.length;
  const starts = blockStarts(numericCount, vocabularies);
  const numeric = matrix.numeric.columns.map((column, j) => {
    const mean = scaling.mean[j] as number;
    const std = scaling.std[j] as number;
    const z = new Float64Array(matrix.rows);
    for (let i = 0; i < matrix.rows; i++) z[i] = standardise(column[i] as number, mean, std);
    return z;
  });
  const active = matrix.categorical.columns.map((column, j) => {
    const indices = vocabularyIndices(column, vocabularies[j] as CategoryVocabulary);
    const start = starts[j] as number;
    for (let i = 0; i < indices.length; i++) indices[i] = (indices[i] as number) + start;
    return indices;
  });
  const last = vocabularies.at(-1);
  const dimension = last === undefined ? 1 + numericCount : (starts.at(-1) as number) + last.categories.length + 1;
  return { rows: matrix.rows, dimension, numeric, active };
}

/** margin_i = w · x_i for every row. */
export function margins(design: Design, weights: Float64Array, out: Float64Array): void {
  out.fill(weights[0] as number);
  design.numeric.forEach((z, j) => {
    const w = weights[1 + j] as number;
    for (let i = 0; i < design.rows; i++) out[i] = (out[i] as number) + w * (z[i] as number);
  });
  for (const indices of design.active) {
    for (let i = 0; i < design.rows; i++) out[i] = (out[i] as number) + (weights[indices[i] as number] as number);
  }
}
