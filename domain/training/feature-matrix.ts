import { SluiceError } from '../../shared/errors.ts';
import type { LabelTask, LabelTransform } from '../../shared/data/feature-spec.ts';

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
  /** Binary: 0 or 1. Multiclass: the class's index in `task.classes`. Regression: 0 (values are in `task.values`). */
  label: Uint8Array;
  /** What the label is when it is not binary (absent: a binary 0/1 label). */
  task?: MatrixTask;
}

/**
 * A regression label's values (as in the data; `transform` is what the spec asks trainers to fit on),
 * or a multiclass label's class names (indexed by `label`).
 */
export type MatrixTask = { kind: 'regression'; values: Float64Array; transform?: LabelTransform } | { kind: 'multiclass'; classes: readonly string[] };

/** What a model trained on this matrix predicts: the label task it carries. */
export function labelTaskOf(matrix: FeatureMatrix): LabelTask {
  const task = matrix.task;
  if (task === undefined) return { kind: 'binary' };
  if (task.kind === 'multiclass') return { kind: 'multiclass', classes: [...task.classes] };
  return task.transform ? { kind: 'regression', transform: task.transform } : { kind: 'regression' };
}

/** The matrix's label kind. */
export const matrixKind = (matrix: FeatureMatrix): 'binary' | MatrixTask['kind'] => matrix.task?.kind ?? 'binary';

/** The regression values of a matrix, or a clear error when it holds another kind. */
export function regressionValues(matrix: FeatureMatrix): Float64Array {
  if (matrix.task?.kind !== 'regression') throw new FeatureMatrixError(`expected a regression label, the matrix holds a ${matrixKind(matrix)} one`);
  return matrix.task.values;
}

/** The class names of a multiclass matrix, or a clear error when it holds another kind. */
export function matrixClasses(matrix: FeatureMatrix): readonly string[] {
  if (matrix.task?.kind !== 'multiclass') throw new FeatureMatrixError(`expected a multiclass label, the matrix holds a ${matrixKind(matrix)} one`);
  return matrix.task.classes;
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
  const task = matrix.task;
  const maxLabel = task?.kind === 'multiclass' ? task.classes.length - 1 : task?.kind === 'regression' ? 0 : 1;
  for (let i = 0; i < rows; i++) {
    if ((label[i] as number) > maxLabel) fail(`label row ${i} is ${label[i]}, expected ${maxLabel === 1 ? '0 or 1' : `0..${maxLabel}`}`);
  }
  if (task?.kind === 'multiclass' && new Set(task.classes).size !== task.classes.length) fail('the class list repeats a class');
  if (task?.kind === 'regression') {
    if (task.values.length !== rows) fail(`regression values has ${task.values.length} values for ${rows} rows`);
    for (let i = 0; i < rows; i++) {
      if (!Number.isFinite(task.values[i])) fail(`regression label row ${i} is ${task.values[i]}, expected a finite number`);
    }
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
