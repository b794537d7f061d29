import type { CategoricalColumn, FeatureMatrix } from '../feature-matrix.ts';

/**
 * Turns a FeatureMatrix into the float32 columns the trees split on: numeric features as they are
 * (rounded to float32, NaN kept), then one column per categorical holding the category's rank by
 * smoothed training target mean. Ranking makes "≤ threshold" splits group categories with similar
 * delay rates, which arbitrary dictionary codes would not.
 */

export interface CategoryRanking {
  /** Categories seen in training, lowest smoothed target mean first; rank = index. */
  categories: string[];
  /**
   * Rank of unseen and missing categories: a half-integer placed where the prior mean falls among the
   * seen categories, since with no rows of its own a category's smoothed mean is the prior.
   */
  unseenRank: number;
}

/**
 * Ranks by the smoothed mean of `target`: the 0/1 label for a binary model, the (transformed) value
 * for regression, and for multiclass the indicator of one class (one ranking per class and feature).
 */
export function rankCategories(column: CategoricalColumn, label: ArrayLike<number>, smoothing: number): CategoryRanking {
  const size = column.dictionary.length;
  const count = new Float64Array(size);
  const positive = new Float64Array(size);
  let total = 0;
  let totalPositive = 0;
  for (let i = 0; i < label.length; i++) {
    const code = column.codes[i] as number;
    const y = label[i] as number;
    total++;
    totalPositive += y;
    if (code >= 0) {
      count[code] = (count[code] as number) + 1;
      positive[code] = (positive[code] as number) + y;
    }
  }
  const prior = total > 0 ? totalPositive / total : 0;
  const seen: { name: string; mean: number }[] = [];
  column.dictionary.forEach((name, code) => {
    const n = count[code] as number;
    if (n > 0) seen.push({ name, mean: ((positive[code] as number) + prior * smoothing) / (n + smoothing) });
  });
  // Ties broken by name so the ranking does not depend on dictionary order.
  seen.sort((a, b) => a.mean - b.mean || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const below = seen.filter((c) => c.mean < prior).length;
  return { categories: seen.map((c) => c.name), unseenRank: below - 0.5 };
}

/** Rank of every row's category, looked up by string so any matrix's dictionary works. */
function rankColumn(column: CategoricalColumn, ranking: CategoryRanking, rows: number): Float32Array {
  const rankOf = new Map(ranking.categories.map((name, rank) => [name, rank]));
  const byCode = Float32Array.from(column.dictionary, (name) => rankOf.get(name) ?? ranking.unseenRank);
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const code = column.codes[i] as number;
    out[i] = code >= 0 ? (byCode[code] as number) : ranking.unseenRank;
  }
  return out;
}

/**
 * Feature order: numeric columns, then one rank column per ranking — the order of the exported
 * Concat. Ranking i reads categorical column `sources[i]` (by default i: one ranking per categorical).
 */
export function treeFeatureColumns(matrix: FeatureMatrix, rankings: readonly CategoryRanking[], sources?: readonly number[]): Float32Array[] {
  return [
    ...matrix.numeric.columns.map((column) => Float32Array.from(column)),
    ...rankings.map((ranking, i) => rankColumn(matrix.categorical.columns[sources?.[i] ?? i] as CategoricalColumn, ranking, matrix.rows)),
  ];
}
