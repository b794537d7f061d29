/**
 * Quantile binning of float32 feature values into uint8 bins. Bin 0 holds missing values (NaN); a
 * value x ≠ NaN goes to bin 1 + (number of edges < x). Edges are float32 values chosen so that, for
 * every float32 x, `bin(x) ≤ b  ⇔  x ≤ edges[b-1]`: a split on bins therefore is exactly the split
 * `x <= threshold` that the exported tree and `predict` evaluate.
 */

export const MISSING_BIN = 0;
/** Edges come from at most this many evenly spaced rows (as LightGBM's bin_construct_sample_cnt). */
const EDGE_SAMPLE_ROWS = 200_000;

/**
 * Up to `maxBins` - 1 edges from the training values of one feature: one bin per distinct value when
 * they fit, otherwise bins holding roughly equal numbers of rows (a value is never split across bins).
 * Beyond EDGE_SAMPLE_ROWS rows the quantiles come from an evenly spaced sample, which is as good for
 * choosing 255 cut points and saves sorting millions of values per feature.
 */
export function fitBinEdges(values: Float32Array, maxBins: number): Float32Array {
  const step = values.length / EDGE_SAMPLE_ROWS;
  const sample = step <= 1 ? values.slice() : Float32Array.from({ length: EDGE_SAMPLE_ROWS }, (_, i) => values[Math.floor(i * step)] as number);
  // A typed-array sort is numeric and puts NaN last.
  const sorted = sample.sort();
  let n = sorted.length;
  while (n > 0 && Number.isNaN(sorted[n - 1])) n--;
  if (n === 0) return new Float32Array(0);

  // Distinct values and where each run ends.
  const distinct: number[] = [];
  const runEnd: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = sorted[i] as number;
    if (i + 1 === n || (sorted[i + 1] as number) !== v) {
      distinct.push(v);
      runEnd.push(i + 1);
    }
  }

  const edges: number[] = [];
  const cutAfter = (k: number) => edges.push(edgeBetween(distinct[k] as number, distinct[k + 1] as number));
  if (distinct.length <= maxBins) {
    for (let k = 0; k + 1 < distinct.length; k++) cutAfter(k);
  } else {
    // Greedy: close a bin once it holds its fair share of the rows still unbinned.
    let binStart = 0;
    for (let k = 0; k + 1 < distinct.length && edges.length < maxBins - 1; k++) {
      const binsLeft = maxBins - edges.length;
      const target = (n - binStart) / binsLeft;
      if ((runEnd[k] as number) - binStart >= target) {
        cutAfter(k);
        binStart = runEnd[k] as number;
      }
    }
  }
  return Float32Array.from(edges);
}

/**
 * Edges for a categorical code column holding codes 0..categories-1: one bin per code, so code c is
 * in bin c + 1 and a set of bins is a set of categories. Built from the code count rather than from
 * the values, since a rare category may be missing from the edge sample.
 */
export function categoryEdges(categories: number): Float32Array {
  return Float32Array.from({ length: Math.max(0, categories - 1) }, (_, c) => c + 0.5);
}

/** A float32 t with lower ≤ t < upper, preferring the midpoint so unseen values split evenly. */
function edgeBetween(lower: number, upper: number): number {
  const mid = Math.fround(lower + (upper - lower) / 2);
  return mid >= lower && mid < upper ? mid : lower;
}

/** Bin of one float32 value: binary search for the first edge ≥ x. */
export function binOf(x: number, edges: Float32Array): number {
  if (Number.isNaN(x)) return MISSING_BIN;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/** Row-major bins (row r, feature f at r·F + f), so one row's bins share a cache line. */
export function binRows(columns: readonly Float32Array[], edges: readonly Float32Array[], rows: number): Uint8Array {
  const featureCount = columns.length;
  const bins = new Uint8Array(rows * featureCount);
  columns.forEach((column, f) => binColumn(column, edges[f] as Float32Array, bins, featureCount, f, rows));
  return bins;
}

/** Edges are searched in a table of this many entries, padded with +Infinity (maxBins ≤ 255). */
const SEARCH_TABLE = 256;

/**
 * `binOf` for a whole column, as a fixed eight-step binary search over the edges padded to 256: every
 * step is a select rather than an unpredictable branch, so binning millions of rows costs about half
 * as much. A padding entry is never below x, so the result still counts the edges below x.
 */
function binColumn(column: Float32Array, edges: Float32Array, bins: Uint8Array, featureCount: number, f: number, rows: number): void {
  const table = new Float64Array(SEARCH_TABLE).fill(Infinity);
  table.set(edges);
  for (let r = 0; r < rows; r++) {
    const x = column[r] as number;
    let lo = 0;
    lo += (table[lo + 127] as number) < x ? 128 : 0;
    lo += (table[lo + 63] as number) < x ? 64 : 0;
    lo += (table[lo + 31] as number) < x ? 32 : 0;
    lo += (table[lo + 15] as number) < x ? 16 : 0;
    lo += (table[lo + 7] as number) < x ? 8 : 0;
    lo += (table[lo + 3] as number) < x ? 4 : 0;
    lo += (table[lo + 1] as number) < x ? 2 : 0;
    lo += (table[lo] as number) < x ? 1 : 0;
    // NaN is below no edge; it goes to the missing bin.
    bins[r * featureCount + f] = x === x ? lo + 1 : MISSING_BIN;
  }
}
