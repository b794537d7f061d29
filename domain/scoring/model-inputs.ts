import type { FeatureValue } from '../features/online-features.ts';

/** A model graph's two inputs for `rows` rows (see `shared/model-graph.ts`). */
export interface ModelInputs {
  rows: number;
  /** Row-major [rows, kNum], NaN = missing; undefined when the model has no numeric features. */
  numeric: Float32Array | undefined;
  /** Row-major [rows, kCat], '' = missing; undefined when the model has no categorical features. */
  categorical: string[] | undefined;
}

/**
 * Where each of a model's inputs sits among a feature table's columns, found once per model version,
 * and the packing of table rows into the graph's inputs: the API's assembler and the skew measurement
 * both score through it, so both feed the model alike.
 */
export class ModelInputLayout {
  private readonly numericAt: number[];
  private readonly categoricalAt: number[];

  constructor(featureNames: readonly string[], model: { numeric: readonly string[]; categorical: readonly string[] }) {
    const at = (name: string) => {
      const index = featureNames.indexOf(name);
      if (index < 0) throw new RangeError(`the model reads feature "${name}", which the rows do not have`);
      return index;
    };
    this.numericAt = model.numeric.map(at);
    this.categoricalAt = model.categorical.map(at);
  }

  /** `values`: `rows` rows of `width` feature values, row-major. */
  pack(rows: number, values: ArrayLike<FeatureValue>, width: number): ModelInputs {
    const numericAt = this.numericAt;
    const categoricalAt = this.categoricalAt;
    const kNum = numericAt.length;
    const kCat = categoricalAt.length;
    const numeric = kNum > 0 ? new Float32Array(rows * kNum) : undefined;
    const categorical = kCat > 0 ? new Array<string>(rows * kCat) : undefined;
    for (let i = 0; i < rows; i++) {
      const base = i * width;
      if (numeric) {
        for (let j = 0; j < kNum; j++) {
          const value = values[base + (numericAt[j] as number)];
          numeric[i * kNum + j] = typeof value === 'number' ? value : NaN;
        }
      }
      if (categorical) {
        for (let j = 0; j < kCat; j++) {
          const value = values[base + (categoricalAt[j] as number)];
          categorical[i * kCat + j] = typeof value === 'string' ? value : '';
        }
      }
    }
    return { rows, numeric, categorical };
  }
}
