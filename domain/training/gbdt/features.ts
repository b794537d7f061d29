import type { CategoricalColumn, FeatureMatrix } from '../feature-matrix.ts';

/**
 * Turns a FeatureMatrix into the float32 columns the trees split on: numeric features as they are
 * (rounded to float32, NaN kept), then one column per categorical holding the category's code, NaN
 * for a missing category or one the code table leaves out. Trees split a code column on sets of
 * codes (tree-builder.ts), so the order of the codes carries no meaning.
 */

export interface CategoryCodes {
  /** Categories given a code, code = index: the training categories, most frequent first. */
  categories: string[];
}

/**
 * Codes for the categories seen in training, at most `maxCategories` of them (one histogram bin
 * each): when there are more, the rarest share the missing bin, as LightGBM does with the
 * categories beyond its `max_bin`. Most frequent first, ties broken by name, so the codes do not
 * depend on dictionary order.
 */
export function categoryCodes(column: CategoricalColumn, maxCategories: number): CategoryCodes {
  const count = new Float64Array(column.dictionary.length);
  for (let i = 0; i < column.codes.length; i++) {
    const code = column.codes[i] as number;
    if (code >= 0) count[code] = (count[code] as number) + 1;
  }
  const seen: { name: string; n: number }[] = [];
  column.dictionary.forEach((name, code) => {
    const n = count[code] as number;
    if (n > 0) seen.push({ name, n });
  });
  seen.sort((a, b) => b.n - a.n || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { categories: seen.slice(0, maxCategories).map((c) => c.name) };
}

/** Code of every row's category, looked up by string so any matrix's dictionary works. */
function codeColumn(column: CategoricalColumn, codes: CategoryCodes, rows: number): Float32Array {
  const codeOf = new Map(codes.categories.map((name, code) => [name, code]));
  const byDictionary = Float32Array.from(column.dictionary, (name) => codeOf.get(name) ?? NaN);
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const code = column.codes[i] as number;
    out[i] = code >= 0 ? (byDictionary[code] as number) : NaN;
  }
  return out;
}

/** Feature order: numeric columns, then one code column per categorical — the order of the exported Concat. */
export function treeFeatureColumns(matrix: FeatureMatrix, codes: readonly CategoryCodes[]): Float32Array[] {
  return [
    ...matrix.numeric.columns.map((column) => Float32Array.from(column)),
    ...codes.map((c, j) => codeColumn(matrix.categorical.columns[j] as CategoricalColumn, c, matrix.rows)),
  ];
}
