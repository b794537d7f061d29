/**
 * Histograms of a leaf's rows: (sum g, sum h, count) per bin of each feature.
 *
 * A large leaf's rows are cut into blocks, each summed from zero on its own and the blocks then added
 * in order; the tree builder and its helper threads (tree-helpers.ts) take the blocks between them.
 * How many blocks a leaf has depends on its row count only, never on the thread count, so every sum
 * is added in the same order on any number of threads and the trees are the same bit for bit.
 * (Dividing the features between threads keeps that too, but each thread then pays the whole per-row
 * cost: on the flights tables, 30 trees, two threads cut histogram time from 6.8-8.2 s to 5.6-6.0 s
 * that way, to 4.5-4.9 s by blocks.)
 *
 * Two layouts, for two access patterns. Row-major uint8 bins serve leaves holding a large share of
 * the rows: one cache line gives a row's whole contribution. Deep leaves are sparse, where that layout
 * costs a cache and TLB miss per row (measured 6× slower per row at 5% of rows); for them the leaf's
 * gradients are first gathered in order, then the uint8 columns (2 MB each for 2M rows) are swept two
 * features per pass (one feature per pass spent 12% more there; all ten in one pass was no faster).
 */

/** (sum g, sum h, count) per bin slot. */
export const STRIDE = 3;
/** Leaves with at least this share of the training rows use the row-major loop. */
const DENSE_SHARE = 0.15;
/** A leaf has one block per this many rows, at least one and at most MAX_BLOCKS. */
const BLOCK_ROWS = 4096;
/** Blocks per leaf at most: as many threads as can share a leaf's histogram. */
export const MAX_BLOCKS = 4;

/** How many blocks a leaf of `rows` rows is summed in. */
export const histogramBlocks = (rows: number) => Math.max(1, Math.min(MAX_BLOCKS, Math.floor(rows / BLOCK_ROWS)));

/** Where block b of `blocks` of the rows [start, end) starts (b = blocks gives end). */
export const blockStart = (start: number, end: number, blocks: number, b: number) => start + Math.floor((b * (end - start)) / blocks);

/** Whether a leaf of `rows` of the `trainRows` training rows is summed from the row-major bins. */
export const isDense = (rows: number, trainRows: number) => rows >= DENSE_SHARE * trainRows;
/** Feature counts up to this get a generated row-major kernel; larger bodies risk V8 declining to optimize them. */
const MAX_UNROLLED_FEATURES = 64;
/** Generated kernels kept, by feature set (a new set per tree when trees sample features). */
const MAX_KERNELS = 32;

/** The sampled training rows' bins and leaf order, as the builder and its helpers share them. */
export interface HistogramSource {
  /** Row-major: row r, feature f at r · featureCount + f. */
  bins: Uint8Array;
  rows: number;
  featureCount: number;
  /** Column-major: columns[f][r]. */
  columns: readonly Uint8Array[];
  /** Row ids grouped by leaf; each leaf owns one contiguous range. */
  order: Uint32Array;
  /** Per feature, its first slot in a histogram; slot 0 of a feature is its missing bin. */
  offsets: Int32Array;
}

type RowMajorKernel = (hist: Float64Array, bins: Uint8Array, order: Uint32Array, start: number, end: number, gradHess: Float64Array) => void;

/** Builds the histograms of some features over a leaf's rows; one per thread (it owns a gather buffer). */
export class HistogramAccumulator {
  /** A sparse leaf's gradients and hessians, gathered in leaf order. */
  private readonly ordered: Float64Array;
  private readonly kernels = new Map<string, RowMajorKernel>();

  constructor(private readonly source: HistogramSource) {
    this.ordered = new Float64Array(2 * source.rows);
  }

  /**
   * Adds the rows order[start, end) to `hist`'s slots of `features` (zeroed by the caller), from the
   * row-major bins if `dense` (isDense), else from the columns. `gradHess` interleaves each row's
   * gradient and hessian (2r, 2r + 1) so one cache line serves both. Either way rows are added in
   * order, so the sums are the same.
   */
  accumulate(hist: Float64Array, features: Int32Array, start: number, end: number, dense: boolean, gradHess: Float64Array): void {
    const { order, columns, offsets } = this.source;
    if (dense) {
      this.kernel(features)(hist, this.source.bins, order, start, end, gradHess);
      return;
    }
    const ordered = this.ordered;
    gatherGradHess(order, start, end, gradHess, ordered);
    let k = 0;
    for (; k + 1 < features.length; k += 2) {
      const f = features[k] as number;
      const e = features[k + 1] as number;
      accumulateColumnPair(
        hist,
        (offsets[f] as number) * STRIDE,
        columns[f] as Uint8Array,
        (offsets[e] as number) * STRIDE,
        columns[e] as Uint8Array,
        order,
        start,
        end,
        ordered,
      );
    }
    if (k < features.length) {
      const f = features[k] as number;
      accumulateColumn(hist, (offsets[f] as number) * STRIDE, columns[f] as Uint8Array, order, start, end, ordered);
    }
  }

  private kernel(features: Int32Array): RowMajorKernel {
    const key = features.join(',');
    let kernel = this.kernels.get(key);
    if (kernel === undefined) {
      if (this.kernels.size >= MAX_KERNELS) this.kernels.clear();
      kernel = rowMajorKernel(this.source.offsets, features, this.source.featureCount);
      this.kernels.set(key, kernel);
    }
    return kernel;
  }
}

/**
 * The hot loop: one pass over a leaf's rows, adding each row's g, h and 1 to the slot of every
 * feature of `features` (its histogram offset + its bin, read from the row-major bins). V8 runs the
 * per-row feature loop about twice as slowly as the same updates written out one after another
 * (measured: 1.6 M rows × 10 features, 65 ms looped, 33 ms written out; unrolling by 4 or 8 with a
 * remainder loop only got to 45 ms), and the features and offsets are known only once the data is, so
 * the body is generated for them, the offsets as constants. Only integers go into the generated source.
 */
function rowMajorKernel(offsets: Int32Array, features: Int32Array, featureCount: number): RowMajorKernel {
  if (features.length > MAX_UNROLLED_FEATURES) {
    return (hist, bins, order, start, end, gradHess) => {
      for (let i = start; i < end; i++) {
        const r = order[i] as number;
        const g = gradHess[2 * r] as number;
        const h = gradHess[2 * r + 1] as number;
        const base = r * featureCount;
        for (let j = 0; j < features.length; j++) {
          const f = features[j] as number;
          const s = ((offsets[f] as number) + (bins[base + f] as number)) * STRIDE;
          hist[s] = (hist[s] as number) + g;
          hist[s + 1] = (hist[s + 1] as number) + h;
          hist[s + 2] = (hist[s + 2] as number) + 1;
        }
      }
    };
  }
  const updates = Array.from(
    features,
    (f) => `s = ${(offsets[f] as number) * STRIDE} + bins[base + ${f}] * ${STRIDE}; hist[s] += g; hist[s + 1] += h; hist[s + 2] += 1;`,
  );
  const body = `for (let i = start; i < end; i++) {
    const r = order[i];
    const g = gradHess[2 * r];
    const h = gradHess[2 * r + 1];
    const base = r * ${featureCount};
    let s;
    ${updates.join('\n    ')}
  }`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from integers only, see above
  return new Function('hist', 'bins', 'order', 'start', 'end', 'gradHess', body) as RowMajorKernel;
}

/** Unrolled by four: V8 pays a fixed cost per loop iteration that these few operations do not hide. */
function gatherGradHess(order: Uint32Array, start: number, end: number, gradHess: Float64Array, ordered: Float64Array): void {
  let i = start;
  let k = 0;
  for (; i + 3 < end; i += 4, k += 8) {
    const r0 = 2 * (order[i] as number);
    const r1 = 2 * (order[i + 1] as number);
    const r2 = 2 * (order[i + 2] as number);
    const r3 = 2 * (order[i + 3] as number);
    ordered[k] = gradHess[r0] as number;
    ordered[k + 1] = gradHess[r0 + 1] as number;
    ordered[k + 2] = gradHess[r1] as number;
    ordered[k + 3] = gradHess[r1 + 1] as number;
    ordered[k + 4] = gradHess[r2] as number;
    ordered[k + 5] = gradHess[r2 + 1] as number;
    ordered[k + 6] = gradHess[r3] as number;
    ordered[k + 7] = gradHess[r3 + 1] as number;
  }
  for (; i < end; i++, k += 2) {
    const r = 2 * (order[i] as number);
    ordered[k] = gradHess[r] as number;
    ordered[k + 1] = gradHess[r + 1] as number;
  }
}

/**
 * One feature's histogram (starting at `base`) from its column, with gradients already in leaf order.
 * Unrolled by four like gatherGradHess; rows are still added in order, so the sums are unchanged.
 */
function accumulateColumn(
  hist: Float64Array,
  base: number,
  column: Uint8Array,
  order: Uint32Array,
  start: number,
  end: number,
  ordered: Float64Array,
): void {
  let i = start;
  let k = 0;
  for (; i + 3 < end; i += 4, k += 8) {
    const s0 = base + (column[order[i] as number] as number) * STRIDE;
    const s1 = base + (column[order[i + 1] as number] as number) * STRIDE;
    const s2 = base + (column[order[i + 2] as number] as number) * STRIDE;
    const s3 = base + (column[order[i + 3] as number] as number) * STRIDE;
    hist[s0] = (hist[s0] as number) + (ordered[k] as number);
    hist[s0 + 1] = (hist[s0 + 1] as number) + (ordered[k + 1] as number);
    hist[s0 + 2] = (hist[s0 + 2] as number) + 1;
    hist[s1] = (hist[s1] as number) + (ordered[k + 2] as number);
    hist[s1 + 1] = (hist[s1 + 1] as number) + (ordered[k + 3] as number);
    hist[s1 + 2] = (hist[s1 + 2] as number) + 1;
    hist[s2] = (hist[s2] as number) + (ordered[k + 4] as number);
    hist[s2 + 1] = (hist[s2 + 1] as number) + (ordered[k + 5] as number);
    hist[s2 + 2] = (hist[s2 + 2] as number) + 1;
    hist[s3] = (hist[s3] as number) + (ordered[k + 6] as number);
    hist[s3 + 1] = (hist[s3 + 1] as number) + (ordered[k + 7] as number);
    hist[s3 + 2] = (hist[s3 + 2] as number) + 1;
  }
  for (; i < end; i++, k += 2) {
    const s = base + (column[order[i] as number] as number) * STRIDE;
    hist[s] = (hist[s] as number) + (ordered[k] as number);
    hist[s + 1] = (hist[s + 1] as number) + (ordered[k + 1] as number);
    hist[s + 2] = (hist[s + 2] as number) + 1;
  }
}

/**
 * accumulateColumn for two features in one pass over the leaf's rows: each row's id and gradients
 * are read once for both, and V8's per-iteration cost is paid half as often.
 */
function accumulateColumnPair(
  hist: Float64Array,
  baseA: number,
  columnA: Uint8Array,
  baseB: number,
  columnB: Uint8Array,
  order: Uint32Array,
  start: number,
  end: number,
  ordered: Float64Array,
): void {
  let i = start;
  let k = 0;
  for (; i + 1 < end; i += 2, k += 4) {
    const r0 = order[i] as number;
    const r1 = order[i + 1] as number;
    const g0 = ordered[k] as number;
    const h0 = ordered[k + 1] as number;
    const g1 = ordered[k + 2] as number;
    const h1 = ordered[k + 3] as number;
    const a0 = baseA + (columnA[r0] as number) * STRIDE;
    const b0 = baseB + (columnB[r0] as number) * STRIDE;
    const a1 = baseA + (columnA[r1] as number) * STRIDE;
    const b1 = baseB + (columnB[r1] as number) * STRIDE;
    hist[a0] = (hist[a0] as number) + g0;
    hist[a0 + 1] = (hist[a0 + 1] as number) + h0;
    hist[a0 + 2] = (hist[a0 + 2] as number) + 1;
    hist[b0] = (hist[b0] as number) + g0;
    hist[b0 + 1] = (hist[b0 + 1] as number) + h0;
    hist[b0 + 2] = (hist[b0 + 2] as number) + 1;
    hist[a1] = (hist[a1] as number) + g1;
    hist[a1 + 1] = (hist[a1 + 1] as number) + h1;
    hist[a1 + 2] = (hist[a1 + 2] as number) + 1;
    hist[b1] = (hist[b1] as number) + g1;
    hist[b1 + 1] = (hist[b1 + 1] as number) + h1;
    hist[b1 + 2] = (hist[b1 + 2] as number) + 1;
  }
  for (; i < end; i++, k += 2) {
    const r = order[i] as number;
    const a = baseA + (columnA[r] as number) * STRIDE;
    const b = baseB + (columnB[r] as number) * STRIDE;
    hist[a] = (hist[a] as number) + (ordered[k] as number);
    hist[a + 1] = (hist[a + 1] as number) + (ordered[k + 1] as number);
    hist[a + 2] = (hist[a + 2] as number) + 1;
    hist[b] = (hist[b] as number) + (ordered[k] as number);
    hist[b + 1] = (hist[b + 1] as number) + (ordered[k + 1] as number);
    hist[b + 2] = (hist[b + 2] as number) + 1;
  }
}

/** target −= minus over the features' slots: the larger child's histogram from its parent's and the smaller child's. */
export function subtractInto(target: Float64Array, minus: Float64Array, features: Int32Array, offsets: Int32Array, slots: Int32Array): void {
  for (let j = 0; j < features.length; j++) {
    const f = features[j] as number;
    const from = (offsets[f] as number) * STRIDE;
    const to = from + (slots[f] as number) * STRIDE;
    for (let s = from; s < to; s++) target[s] = (target[s] as number) - (minus[s] as number);
  }
}

/** target += source over the features' slots: a block's histogram added to the leaf's. */
export function addFeatures(target: Float64Array, source: Float64Array, features: Int32Array, offsets: Int32Array, slots: Int32Array): void {
  for (let j = 0; j < features.length; j++) {
    const f = features[j] as number;
    const from = (offsets[f] as number) * STRIDE;
    const to = from + (slots[f] as number) * STRIDE;
    for (let s = from; s < to; s++) target[s] = (target[s] as number) + (source[s] as number);
  }
}

/** Zeroes the features' slots. */
export function clearFeatures(hist: Float64Array, features: Int32Array, offsets: Int32Array, slots: Int32Array): void {
  for (let j = 0; j < features.length; j++) {
    const f = features[j] as number;
    const from = (offsets[f] as number) * STRIDE;
    hist.fill(0, from, from + (slots[f] as number) * STRIDE);
  }
}
