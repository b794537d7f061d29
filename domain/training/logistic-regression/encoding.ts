import type { CategoricalColumn, FeatureMatrix } from '../feature-matrix.ts';

/**
 * How logistic regression sees a row: standardised numerics (missing → the training mean, i.e. 0)
 * and one one-hot block per categorical (frequent categories get a column each; rare, unseen and
 * missing ones share an "other" column). Means and deviations are float32 because the exported graph
 * computes in float32 and `predict` must match it.
 */

export interface NumericScaling {
  mean: Float32Array;
  std: Float32Array;
}

export interface CategoryVocabulary {
  /** Categories with their own column, most frequent first. */
  categories: string[];
}

export function fitNumericScaling(matrix: FeatureMatrix): NumericScaling {
  const k = matrix.numeric.columns.length;
  const mean = new Float32Array(k);
  const std = new Float32Array(k);
  matrix.numeric.columns.forEach((column, j) => {
    let n = 0;
    let sum = 0;
    for (let i = 0; i < column.length; i++) {
      const x = Math.fround(column[i] as number);
      if (!Number.isNaN(x)) {
        n++;
        sum += x;
      }
    }
    const mu = n > 0 ? sum / n : 0;
    let squares = 0;
    for (let i = 0; i < column.length; i++) {
      const x = Math.fround(column[i] as number);
      if (!Number.isNaN(x)) squares += (x - mu) * (x - mu);
    }
    const sd = Math.fround(n > 0 ? Math.sqrt(squares / n) : 0);
    mean[j] = mu;
    // A constant column carries no signal; dividing by 1 keeps it harmless instead of infinite.
    std[j] = sd > 0 && Number.isFinite(sd) ? sd : 1;
  });
  return { mean, std };
}

export function fitVocabulary(column: CategoricalColumn, minCount: number, maxCategories: number): CategoryVocabulary {
  const counts = new Float64Array(column.dictionary.length);
  for (let i = 0; i < column.codes.length; i++) {
    const code = column.codes[i] as number;
    if (code >= 0) counts[code] = (counts[code] as number) + 1;
  }
  const frequent = column.dictionary
    .map((name, code) => ({ name, count: counts[code] as number }))
    .filter((c) => c.count >= minCount)
    .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .slice(0, maxCategories);
  return { categories: frequent.map((c) => c.name) };
}

/** z = (x - mean) / std in float32, as the graph's Where/Sub/Div nodes compute it. */
export function standardise(x: number, mean: number, std: number): number {
  const value = Math.fround(x);
  const imputed = Number.isNaN(value) ? mean : value;
  return Math.fround(Math.fround(imputed - mean) / std);
}

/**
 * Per row, the index within the categorical's block: 0..K-1 for a vocabulary category, K for
 * other/missing. Looked up by string so any matrix's dictionary works.
 */
export function vocabularyIndices(column: CategoricalColumn, vocabulary: CategoryVocabulary): Int32Array {
  const other = vocabulary.categories.length;
  const indexOf = new Map(vocabulary.categories.map((name, i) => [name, i]));
  const byCode = Int32Array.from(column.dictionary, (name) => indexOf.get(name) ?? other);
  const out = new Int32Array(column.codes.length);
  for (let i = 0; i < out.length; i++) {
    const code = column.codes[i] as number;
    out[i] = code >= 0 ? (byCode[code] as number) : other;
  }
  return out;
}
