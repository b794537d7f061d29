import { Tensor } from 'onnxruntime-node';
import { MISSING_CODE, type FeatureMatrix } from '../training/feature-matrix.ts';
import { CATEGORICAL_INPUT, NUMERIC_INPUT } from '../../shared/model-graph.ts';

/**
 * Rows [start, end) of a matrix as the inputs of the sluice graph contract: `numeric` float32
 * [n, kNum] with NaN for missing, `categorical` string [n, kCat] with '' for missing. An input is
 * left out when the model has no features of its kind, as the graph leaves it out.
 */
export function featureFeeds(matrix: FeatureMatrix, start: number, end: number): Record<string, Tensor> {
  const n = end - start;
  const feeds: Record<string, Tensor> = {};
  const kNum = matrix.numeric.columns.length;
  if (kNum > 0) {
    const data = new Float32Array(n * kNum);
    matrix.numeric.columns.forEach((column, j) => {
      for (let i = 0; i < n; i++) data[i * kNum + j] = column[start + i] as number;
    });
    feeds[NUMERIC_INPUT] = new Tensor('float32', data, [n, kNum]);
  }
  const kCat = matrix.categorical.columns.length;
  if (kCat > 0) {
    const data = new Array<string>(n * kCat);
    matrix.categorical.columns.forEach(({ dictionary, codes }, j) => {
      for (let i = 0; i < n; i++) {
        const code = codes[start + i] as number;
        data[i * kCat + j] = code === MISSING_CODE ? '' : (dictionary[code] as string);
      }
    });
    feeds[CATEGORICAL_INPUT] = new Tensor('string', data, [n, kCat]);
  }
  return feeds;
}
