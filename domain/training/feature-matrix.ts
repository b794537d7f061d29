import { SluiceError } from '../../shared/errors.ts';

/**
 * The in-memory input of every trainer: column-oriented typed arrays, so a few million rows cost a
 * few bytes per cell and no per-row objects. A plain interface rather than a zod schema because it
 * never crosses a wire; `assertFeatureMatrix` checks the invariants a schema would.
 */

export interface CategoricalColumn {
  /** Distinct non-empty category strings; a code indexes this array. */
  dictionary: string[];
  /** One code per row; -1 = missing. */
  codes: Int32Array;
}

export interface FeatureMatrix {
  rows: number;
  /** NaN = missing. */
  numeric: { names: string[]; columns: Float64Array[] };
  categorical: { names: string[]; columns: CategoricalColumn[] };
  /** 0 or 1. */
  label: Uint8Array;
}

export const MISSING_CODE = -1;

export class FeatureMatrixError extends SluiceError {
  override readonly name = 'FeatureMatrixError';
  readonly kind = 'Internal';
}

export function assertFeatureMatrix(matrix: FeatureMatrix): void {
  const { rows, numeric, categorical, label } = matrix;
  const fail = (message: string): never => {
    throw new FeatureMatrixError(message);
  };
  if (!Number.isInteger(rows) || rows < 0) fail(`rows must be a non-negative integer, got ${rows}`);
  if (label.length !== rows) fail(`label has ${label.length} values for ${rows} rows`);
  if (numeric.names.length !== numeric.columns.length) fail('numeric names and columns differ in count');
  if (categorical.names.length !== categorical.columns.length) fail('categorical names and columns differ in count');
  const names = [...numeric.names, ...categorical.names];
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) fail(`feature "${duplicate}" appears twice`);
  numeric.columns.forEach((column, j) => {
    if (column.length !== rows) fail(`numeric column "${numeric.names[j]}" has ${column.length} values for ${rows} rows`);
    for (let i = 0; i < rows; i++) {
      const value = column[i] as number;
      if (value === Infinity || value === -Infinity) fail(`numeric column "${numeric.names[j]}" row ${i} is infinite`);
    }
  });
  categorical.columns.forEach(({ dictionary, codes }, j) => {
    const name = categorical.names[j];
    if (codes.length !== rows) fail(`categorical column "${name}" has ${codes.length} codes for ${rows} rows`);
    if (new Set(dictionary).size !== dictionary.length) fail(`categorical column "${name}" repeats a dictionary entry`);
    if (dictionary.includes('')) fail(`categorical column "${name}" has '' in its dictionary ('' means missing)`);
    for (let i = 0; i < rows; i++) {
      const code = codes[i] as number;
      if (code < MISSING_CODE || code >= dictionary.length) fail(`categorical column "${name}" row ${i} has code ${code}`);
    }
  });
  for (let i = 0; i < rows; i++) {
    if ((label[i] as number) > 1) fail(`label row ${i} is ${label[i]}, expected 0 or 1`);
  }
}

/** Feature names in matrix (and exported graph input) column order. */
export interface FeatureNames {
  numeric: readonly string[];
  categorical: readonly string[];
}

export function featureNames(matrix: FeatureMatrix): FeatureNames {
  return { numeric: [...matrix.numeric.names], categorical: [...matrix.categorical.names] };
}

/** Trainers fit on one matrix and score others: their features must be the same, in the same order. */
export function assertSameFeatures(expected: FeatureNames, matrix: FeatureMatrix): void {
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(expected.numeric, matrix.numeric.names) || !same(expected.categorical, matrix.categorical.names)) {
    const list = (names: readonly string[]) => `[${names.join(', ')}]`;
    throw new FeatureMatrixError(
      `feature mismatch: expected numeric ${list(expected.numeric)} categorical ${list(expected.categorical)}, ` +
        `got numeric ${list(matrix.numeric.names)} categorical ${list(matrix.categorical.names)}`,
    );
  }
}
