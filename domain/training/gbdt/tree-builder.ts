import { MISSING_BIN } from './binning.ts';
import { LEAF, type Tree } from './tree.ts';
import type { Scores } from './objectives.ts';

/**
 * Grows one regression tree on gradients and hessians of the log loss, leaf-wise (always splitting
 * the leaf with the largest gain, as LightGBM does) within maxLeaves and maxDepth.
 *
 * Where the time goes, and what keeps it down:
 * - A histogram holds (sum g, sum h, count) per bin of every feature. Only the smaller child's is
 *   built from its rows; the larger child's is the parent's minus it, written over the parent's.
 * - Each leaf's rows are a contiguous range of an `order` array, split stably in place (branch-free)
 *   on every split, so rows stay ascending and memory is read in one direction.
 * - The data is held twice, for two access patterns. Row-major uint8 bins serve leaves holding a
 *   large share of the rows: one cache line gives a row's whole contribution (offsets are compiled
 *   into the kernel rather than read from a uint16 slot table: half the bytes). Deep leaves are
 *   sparse, where that layout costs a cache and TLB miss per row (measured 6× slower per row at 5% of
 *   rows); for them the leaf's gradients are first gathered in order, then the uint8 columns (2 MB
 *   each for 2M rows) are swept two features per pass (one feature per pass spent 12% more there;
 *   all ten in one pass was no faster than two). Splits read the columns too.
 * - Unsampled training rows and validation rows are partitioned alongside the sampled ones (without
 *   entering histograms), so when the tree is done every row's leaf is known: cheaper than walking
 *   each row down the finished tree, which mispredicts a branch at nearly every level.
 * Moving whole rows into leaf order (instead of row ids) was tried: the copying cost more than the
 * sequential reads saved. So was growing a whole frontier per pass over all rows: no faster, and a
 * slightly worse fit than leaf-wise. Buffers are allocated once per builder and reused by every tree.
 */

export interface BinnedData {
  /** Row-major: row r, feature f at r · featureCount + f. */
  bins: Uint8Array;
  rows: number;
  featureCount: number;
  /** Per feature, the float32 upper edge of each real bin but the last (see binning.ts). */
  edges: readonly Float32Array[];
  /** Per feature, whether it is a categorical code column (bin = code + 1), split on sets of bins. */
  categorical: readonly boolean[];
}

export interface TreeGrowthParams {
  learningRate: number;
  maxDepth: number;
  maxLeaves: number;
  minSamplesLeaf: number;
  minHessianLeaf: number;
  l2: number;
  minSplitGain: number;
  /** Pseudo-count in a category's gradient ratio, and the fewest rows a category needs to be placed. */
  categoricalSmoothing: number;
}

/**
 * Categorical splits follow LightGBM's (feature_histogram.cpp), with its defaults (but smoothing, see
 * `categoricalSmoothing`): up to MAX_CATEGORIES_ONE_HOT categories, one category against the rest;
 * beyond, the node's categories are ordered by g / (h + smoothing) and the best prefix of that order
 * (from either end, at most MAX_CATEGORIES_PER_SPLIT categories) goes left. Ordering by the node's own
 * gradients is what a single global ordering of the categories cannot do: it lost 0.0027 test AUC on
 * the flights (LightGBM itself, given the earlier global target-mean ranks as a numeric feature).
 * CATEGORICAL_L2 is added to l2 for such a split's gain and its children's values, and a prefix is
 * only tried once it has grown by MIN_ROWS_PER_GROUP rows, both against fitting noise in the order.
 */
const MAX_CATEGORIES_ONE_HOT = 4;
const MAX_CATEGORIES_PER_SPLIT = 32;
const CATEGORICAL_L2 = 10;
const MIN_ROWS_PER_GROUP = 100;

interface Split {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  leftG: number;
  leftH: number;
  leftCount: number;
  /** A categorical split's bins that go left (ascending); null for a threshold split. */
  leftBins: number[] | null;
  /** The l2 of the children's values: CATEGORICAL_L2 more after a categorical set split. */
  l2: number;
}

/**
 * Row sets a tree partitions, in `sets` order: sampled training rows (the only ones histograms
 * count), unsampled training rows, validation rows.
 */
const SAMPLED = 0;
const VALIDATION = 2;
const ROW_SETS = 3;

interface RowSet {
  /** Row ids grouped by leaf; each leaf owns one contiguous range. */
  order: Uint32Array;
  /** Column-major bins of the data these rows index: columns[f][r]. */
  columns: Uint8Array[];
}

interface OpenLeaf {
  node: number;
  /** Per row set, the leaf's range of its `order`: [start, end) at 2k, 2k + 1. */
  bounds: number[];
  depth: number;
  g: number;
  h: number;
  count: number;
  /** The l2 its value is computed with (see Split). */
  l2: number;
  hist: Float64Array | null;
  split: Split | null;
}

/** (sum g, sum h, count) per bin slot. */
const STRIDE = 3;
/** Leaves with at least this share of the training rows use the row-major histogram loop. */
const DENSE_SHARE = 0.15;

export class TreeBuilder {
  private readonly sets: RowSet[];
  private readonly scratch: Uint32Array;
  /** Per feature, its first slot in a histogram; slot 0 of a feature is its missing bin. */
  private readonly offsets: Int32Array;
  /** Per feature, its slots: the missing bin plus edges + 1 real bins. */
  private readonly slots: Int32Array;
  private readonly histLength: number;
  private readonly accumulateAllFeatures: AllFeaturesKernel;
  /** A sparse leaf's gradients and hessians, gathered in leaf order. */
  private readonly orderedGradHess: Float64Array;
  /** Per split, which bins go left: a table lookup keeps the partition loop free of branches. */
  private readonly goesLeft = new Uint8Array(256);
  private readonly freeHists: Float64Array[] = [];
  private leaves: OpenLeaf[] = [];

  constructor(
    private readonly data: BinnedData,
    validation: { bins: Uint8Array; rows: number },
    private readonly params: TreeGrowthParams,
  ) {
    const trainColumns = toColumns(data.bins, data.featureCount, data.rows);
    this.sets = [
      { order: new Uint32Array(data.rows), columns: trainColumns },
      { order: new Uint32Array(data.rows), columns: trainColumns },
      { order: new Uint32Array(validation.rows), columns: toColumns(validation.bins, data.featureCount, validation.rows) },
    ];
    this.scratch = new Uint32Array(Math.max(data.rows, validation.rows));
    this.slots = Int32Array.from(data.edges, (edges) => edges.length + 2);
    this.offsets = new Int32Array(data.featureCount);
    let total = 0;
    for (let f = 0; f < data.featureCount; f++) {
      this.offsets[f] = total;
      total += this.slots[f] as number;
    }
    this.histLength = total * STRIDE;
    this.accumulateAllFeatures = allFeaturesKernel(this.offsets);
    this.orderedGradHess = new Float64Array(2 * data.rows);
  }

  /**
   * Grows a tree on the training rows `sample[0..sampleSize)` (ascending), splitting only on
   * `features`; `unsampled` lists the other training rows. `gradHess` interleaves each row's gradient
   * and hessian (2r, 2r + 1) so one cache line serves both. Afterwards `addLeafValues` adds the tree
   * to the scores of every training and validation row.
   */
  grow(sample: Uint32Array, sampleSize: number, unsampled: Uint32Array, gradHess: Float64Array, features: Int32Array): Tree {
    const p = this.params;
    const [sampled, rest, validation] = this.sets as [RowSet, RowSet, RowSet];
    sampled.order.set(sample.subarray(0, sampleSize));
    const unsampledSize = this.data.rows - sampleSize;
    rest.order.set(unsampled.subarray(0, unsampledSize));
    for (let r = 0; r < validation.order.length; r++) validation.order[r] = r;
    let g = 0;
    let h = 0;
    for (let i = 0; i < sampleSize; i++) {
      const r = sampled.order[i] as number;
      g += gradHess[2 * r] as number;
      h += gradHess[2 * r + 1] as number;
    }
    const nodes = new NodeList();
    const root: OpenLeaf = {
      node: nodes.add(),
      bounds: [0, sampleSize, 0, unsampledSize, 0, validation.order.length],
      depth: 0,
      g,
      h,
      count: sampleSize,
      l2: p.l2,
      hist: null,
      split: null,
    };
    this.leaves = [root];
    if (this.splittable(root)) {
      root.hist = this.buildHistogram(root, gradHess, features);
      root.split = this.bestSplit(root, features);
    }

    while (this.leaves.length < p.maxLeaves) {
      let best: OpenLeaf | null = null;
      for (const leaf of this.leaves) {
        if (leaf.split !== null && (best === null || leaf.split.gain > (best.split as Split).gain)) best = leaf;
      }
      if (best === null) break;
      const split = best.split as Split;
      const [left, right] = this.splitLeaf(best, split, nodes);
      const parentHist = best.hist as Float64Array;
      best.hist = null;
      best.split = null;

      const leftSplittable = this.splittable(left);
      const rightSplittable = this.splittable(right);
      // The split that reaches maxLeaves is the last: its children need no histograms.
      const last = this.leaves.length + 1 >= p.maxLeaves;
      if (!last && (leftSplittable || rightSplittable)) {
        const [small, large] = left.count <= right.count ? [left, right] : [right, left];
        small.hist = this.buildHistogram(small, gradHess, features);
        subtractInto(parentHist, small.hist, features, this.offsets, this.slots);
        large.hist = parentHist;
        if (leftSplittable) left.split = this.bestSplit(left, features);
        if (rightSplittable) right.split = this.bestSplit(right, features);
        if (left.split === null) this.release(left);
        if (right.split === null) this.release(right);
      } else {
        this.freeHists.push(parentHist);
      }
      this.leaves = this.leaves.filter((leaf) => leaf !== best).concat(left, right);
    }

    for (const leaf of this.leaves) {
      this.release(leaf);
      nodes.value[leaf.node] = Math.fround((-p.learningRate * leaf.g) / (leaf.h + leaf.l2));
    }
    return nodes.toTree();
  }

  /**
   * Adds the leaf value of the tree `grow` just built to every training and validation row's score
   * of output `output`, and multiplies their odds, where kept, by exp(leaf value).
   */
  addLeafValues(tree: Tree, trainScores: Scores, validationScores: Scores, output: number): void {
    for (const leaf of this.leaves) {
      const value = tree.value[leaf.node] as number;
      const factor = Math.exp(value);
      for (let k = 0; k < ROW_SETS; k++) {
        const order = (this.sets[k] as RowSet).order;
        const scores = k === VALIDATION ? validationScores : trainScores;
        const start = leaf.bounds[2 * k] as number;
        const end = leaf.bounds[2 * k + 1] as number;
        const odds = scores.odds?.[output];
        if (odds === undefined) addToRows(scores.margin[output] as Float64Array, order, start, end, value);
        else addToRowsAndOdds(scores.margin[output] as Float64Array, odds, order, start, end, value, factor);
      }
    }
  }

  private splittable(leaf: OpenLeaf): boolean {
    return leaf.depth < this.params.maxDepth && leaf.count >= 2 * this.params.minSamplesLeaf;
  }

  private release(leaf: OpenLeaf): void {
    if (leaf.hist !== null) this.freeHists.push(leaf.hist);
    leaf.hist = null;
  }

  private buildHistogram(leaf: OpenLeaf, gradHess: Float64Array, features: Int32Array): Float64Array {
    const hist = this.freeHists.pop() ?? new Float64Array(this.histLength);
    hist.fill(0);
    const { featureCount, rows } = this.data;
    const { order, columns } = this.sets[SAMPLED] as RowSet;
    const start = leaf.bounds[2 * SAMPLED] as number;
    const end = leaf.bounds[2 * SAMPLED + 1] as number;
    if (end - start < DENSE_SHARE * rows) {
      const ordered = this.orderedGradHess;
      gatherGradHess(order, start, end, gradHess, ordered);
      let k = 0;
      for (; k + 1 < features.length; k += 2) {
        const f = features[k] as number;
        const e = features[k + 1] as number;
        accumulateColumnPair(
          hist,
          (this.offsets[f] as number) * STRIDE,
          columns[f] as Uint8Array,
          (this.offsets[e] as number) * STRIDE,
          columns[e] as Uint8Array,
          order,
          start,
          end,
          ordered,
        );
      }
      if (k < features.length) {
        const f = features[k] as number;
        accumulateColumn(hist, (this.offsets[f] as number) * STRIDE, columns[f] as Uint8Array, order, start, end, ordered);
      }
    } else if (features.length === featureCount) {
      this.accumulateAllFeatures(hist, this.data.bins, order, start, end, gradHess);
    } else {
      accumulateSomeFeatures(hist, this.data.bins, this.offsets, featureCount, order, start, end, gradHess, features);
    }
    return hist;
  }

  private bestSplit(leaf: OpenLeaf, features: Int32Array): Split | null {
    const { minSamplesLeaf, minHessianLeaf, l2, minSplitGain } = this.params;
    const hist = leaf.hist as Float64Array;
    const { g: G, h: H, count: C } = leaf;
    const parentScore = (G * G) / (H + l2);
    let best: Split | null = null;
    let bestGain = minSplitGain;

    for (let k = 0; k < features.length; k++) {
      const f = features[k] as number;
      const o = (this.offsets[f] as number) * STRIDE;
      const slots = this.slots[f] as number;
      if (this.data.categorical[f] === true) {
        const split = this.categoricalSplit(hist, f, o, slots, leaf, parentScore, bestGain);
        if (split !== null) {
          best = split;
          bestGain = split.gain;
        }
        continue;
      }
      const gm = hist[o] as number;
      const hm = hist[o + 1] as number;
      const cm = hist[o + 2] as number;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      // Threshold after real bin t: bins 1..t left, t+1..last right, missing on either side.
      for (let t = 1; t < slots - 1; t++) {
        const s = o + t * STRIDE;
        gl += hist[s] as number;
        hl += hist[s + 1] as number;
        cl += hist[s + 2] as number;
        if (cl === 0) continue;
        if (C - cm - cl === 0) break;
        for (let missingLeft = 0; missingLeft < (cm > 0 ? 2 : 1); missingLeft++) {
          const lg = missingLeft ? gl + gm : gl;
          const lh = missingLeft ? hl + hm : hl;
          const lc = missingLeft ? cl + cm : cl;
          const rg = G - lg;
          const rh = H - lh;
          const rc = C - lc;
          if (lc < minSamplesLeaf || rc < minSamplesLeaf || lh < minHessianLeaf || rh < minHessianLeaf) continue;
          const gain = (lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            // With no missing rows here, unseen missing values follow the larger child.
            const left = cm > 0 ? missingLeft === 1 : lc >= rc;
            best = { gain, feature: f, bin: t, missingLeft: left, leftG: lg, leftH: lh, leftCount: lc, leftBins: null, l2 };
          }
        }
      }
    }
    return best;
  }

  /**
   * The best split of categorical feature `f` (histogram at `o`, `slots` bins, bin 0 missing) with a
   * gain above `bestGain`, or null. Missing and unplaced categories always go right.
   */
  private categoricalSplit(hist: Float64Array, f: number, o: number, slots: number, leaf: OpenLeaf, parentScore: number, bestGain: number): Split | null {
    const { minSamplesLeaf, minHessianLeaf, l2, categoricalSmoothing } = this.params;
    const { g: G, h: H, count: C } = leaf;
    let best: Split | null = null;
    const consider = (gain: number, lg: number, lh: number, lc: number, bins: () => number[], childL2: number) => {
      if (gain <= bestGain) return;
      bestGain = gain;
      best = { gain, feature: f, bin: 0, missingLeft: false, leftG: lg, leftH: lh, leftCount: lc, leftBins: bins(), l2: childL2 };
    };

    if (slots - 1 <= MAX_CATEGORIES_ONE_HOT) {
      for (let t = 1; t < slots; t++) {
        const s = o + t * STRIDE;
        const lg = hist[s] as number;
        const lh = hist[s + 1] as number;
        const lc = hist[s + 2] as number;
        const rh = H - lh;
        if (lc < minSamplesLeaf || C - lc < minSamplesLeaf || lh < minHessianLeaf || rh < minHessianLeaf) continue;
        const rg = G - lg;
        consider((lg * lg) / (lh + l2) + (rg * rg) / (rh + l2) - parentScore, lg, lh, lc, () => [t], l2);
      }
      return best;
    }

    // A category absent from the node is never placed, even without smoothing (its ratio would be 0 / 0).
    const minRows = Math.max(1, categoricalSmoothing);
    const placed: number[] = [];
    for (let t = 1; t < slots; t++) if ((hist[o + t * STRIDE + 2] as number) >= minRows) placed.push(t);
    const ratio = (t: number) => (hist[o + t * STRIDE] as number) / ((hist[o + t * STRIDE + 1] as number) + categoricalSmoothing);
    // Array.prototype.sort is stable: equal ratios keep ascending bin order.
    placed.sort((a, b) => ratio(a) - ratio(b));
    const used = placed.length;
    const maxCategories = Math.min(MAX_CATEGORIES_PER_SPLIT, (used + 1) >> 1);
    const catL2 = l2 + CATEGORICAL_L2;
    for (const fromEnd of [false, true]) {
      let lg = 0;
      let lh = 0;
      let lc = 0;
      let group = 0;
      for (let i = 0; i < used && i < maxCategories; i++) {
        const s = o + (placed[fromEnd ? used - 1 - i : i] as number) * STRIDE;
        lg += hist[s] as number;
        lh += hist[s + 1] as number;
        lc += hist[s + 2] as number;
        group += hist[s + 2] as number;
        if (lc < minSamplesLeaf || lh < minHessianLeaf) continue;
        const rc = C - lc;
        const rh = H - lh;
        if (rc < minSamplesLeaf || rc < MIN_ROWS_PER_GROUP || rh < minHessianLeaf) break;
        if (group < MIN_ROWS_PER_GROUP) continue;
        group = 0;
        const rg = G - lg;
        const taken = i + 1;
        const bins = () => (fromEnd ? placed.slice(used - taken) : placed.slice(0, taken)).sort((a, b) => a - b);
        consider((lg * lg) / (lh + catL2) + (rg * rg) / (rh + catL2) - parentScore, lg, lh, lc, bins, catL2);
      }
    }
    return best;
  }

  /** Partitions the leaf's rows of every row set, left child first, and records the split node. */
  private splitLeaf(leaf: OpenLeaf, split: Split, nodes: NodeList): [OpenLeaf, OpenLeaf] {
    const f = split.feature;
    const goesLeft = this.goesLeft;
    goesLeft.fill(0);
    if (split.leftBins === null) {
      goesLeft.fill(1, 1, split.bin + 1);
      goesLeft[MISSING_BIN] = split.missingLeft ? 1 : 0;
    } else {
      for (const b of split.leftBins) goesLeft[b] = 1;
    }
    const leftBounds: number[] = [];
    const rightBounds: number[] = [];
    this.sets.forEach(({ order, columns }, k) => {
      const start = leaf.bounds[2 * k] as number;
      const end = leaf.bounds[2 * k + 1] as number;
      const middle = partitionRows(order, this.scratch, columns[f] as Uint8Array, goesLeft, start, end);
      leftBounds.push(start, middle);
      rightBounds.push(middle, end);
    });

    const leftNode = nodes.add();
    const rightNode = nodes.add();
    nodes.feature[leaf.node] = f;
    nodes.bin[leaf.node] = split.bin;
    nodes.threshold[leaf.node] = split.leftBins === null ? ((this.data.edges[f] as Float32Array)[split.bin - 1] as number) : 0;
    nodes.categories[leaf.node] = split.leftBins?.map((b) => b - 1) ?? [];
    nodes.missingLeft[leaf.node] = split.missingLeft ? 1 : 0;
    nodes.left[leaf.node] = leftNode;
    nodes.right[leaf.node] = rightNode;
    const depth = leaf.depth + 1;
    const left: OpenLeaf = {
      node: leftNode,
      bounds: leftBounds,
      depth,
      g: split.leftG,
      h: split.leftH,
      count: split.leftCount,
      l2: split.l2,
      hist: null,
      split: null,
    };
    const right: OpenLeaf = {
      node: rightNode,
      bounds: rightBounds,
      depth,
      g: leaf.g - split.leftG,
      h: leaf.h - split.leftH,
      count: leaf.count - split.leftCount,
      l2: split.l2,
      hist: null,
      split: null,
    };
    return [left, right];
  }
}

function toColumns(bins: Uint8Array, featureCount: number, rows: number): Uint8Array[] {
  return Array.from({ length: featureCount }, (_, f) => {
    const column = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) column[r] = bins[r * featureCount + f] as number;
    return column;
  });
}

/** score[r] += value for the rows order[start, end); unrolled by four like partitionRows. */
function addToRows(score: Float64Array, order: Uint32Array, start: number, end: number, value: number): void {
  let i = start;
  for (; i + 3 < end; i += 4) {
    const r0 = order[i] as number;
    const r1 = order[i + 1] as number;
    const r2 = order[i + 2] as number;
    const r3 = order[i + 3] as number;
    score[r0] = (score[r0] as number) + value;
    score[r1] = (score[r1] as number) + value;
    score[r2] = (score[r2] as number) + value;
    score[r3] = (score[r3] as number) + value;
  }
  for (; i < end; i++) {
    const r = order[i] as number;
    score[r] = (score[r] as number) + value;
  }
}

/** addToRows that also multiplies odds[r] by factor, in the same pass over `order`. */
function addToRowsAndOdds(score: Float64Array, odds: Float64Array, order: Uint32Array, start: number, end: number, value: number, factor: number): void {
  let i = start;
  for (; i + 3 < end; i += 4) {
    const r0 = order[i] as number;
    const r1 = order[i + 1] as number;
    const r2 = order[i + 2] as number;
    const r3 = order[i + 3] as number;
    score[r0] = (score[r0] as number) + value;
    score[r1] = (score[r1] as number) + value;
    score[r2] = (score[r2] as number) + value;
    score[r3] = (score[r3] as number) + value;
    odds[r0] = (odds[r0] as number) * factor;
    odds[r1] = (odds[r1] as number) * factor;
    odds[r2] = (odds[r2] as number) * factor;
    odds[r3] = (odds[r3] as number) * factor;
  }
  for (; i < end; i++) {
    const r = order[i] as number;
    score[r] = (score[r] as number) + value;
    odds[r] = (odds[r] as number) * factor;
  }
}

/**
 * Stable in-place partition of order[start, end): rows whose bin `goesLeft` first. Every row is
 * written to both sides and only its side's cursor moves, so there is no unpredictable branch.
 * Four rows per iteration: V8 pays a fixed cost per loop iteration that this loop's few operations
 * do not hide (measured 10 ms → 5.5 ms for 1.6 M rows). Returns where the right side starts.
 */
function partitionRows(order: Uint32Array, scratch: Uint32Array, column: Uint8Array, goesLeft: Uint8Array, start: number, end: number): number {
  let left = start;
  let right = 0;
  let i = start;
  for (; i + 3 < end; i += 4) {
    const r0 = order[i] as number;
    const r1 = order[i + 1] as number;
    const r2 = order[i + 2] as number;
    const r3 = order[i + 3] as number;
    const l0 = goesLeft[column[r0] as number] as number;
    const l1 = goesLeft[column[r1] as number] as number;
    const l2 = goesLeft[column[r2] as number] as number;
    const l3 = goesLeft[column[r3] as number] as number;
    order[left] = r0;
    scratch[right] = r0;
    left += l0;
    right += 1 - l0;
    order[left] = r1;
    scratch[right] = r1;
    left += l1;
    right += 1 - l1;
    order[left] = r2;
    scratch[right] = r2;
    left += l2;
    right += 1 - l2;
    order[left] = r3;
    scratch[right] = r3;
    left += l3;
    right += 1 - l3;
  }
  for (; i < end; i++) {
    const r = order[i] as number;
    const isLeft = goesLeft[column[r] as number] as number;
    order[left] = r;
    scratch[right] = r;
    left += isLeft;
    right += 1 - isLeft;
  }
  order.set(scratch.subarray(0, right), left);
  return left;
}

type AllFeaturesKernel = (hist: Float64Array, bins: Uint8Array, order: Uint32Array, start: number, end: number, gradHess: Float64Array) => void;

/** Feature counts up to this get a generated kernel; larger bodies risk V8 declining to optimize them. */
const MAX_UNROLLED_FEATURES = 64;

/**
 * The hot loop: one pass over a leaf's rows, adding each row's g, h and 1 to the slot of every
 * feature (its histogram offset + its bin, read from the row-major bins). V8 runs the per-row feature
 * loop about twice as slowly as the same updates written out one after another (measured: 1.6 M rows
 * × 10 features, 65 ms looped, 33 ms written out; unrolling by 4 or 8 with a remainder loop only got
 * to 45 ms), and the feature count and offsets are known only once the data is, so the body is
 * generated for them, the offsets as constants. Only integers go into the generated source.
 */
function allFeaturesKernel(offsets: Int32Array): AllFeaturesKernel {
  const featureCount = offsets.length;
  if (featureCount > MAX_UNROLLED_FEATURES) {
    return (hist, bins, order, start, end, gradHess) => {
      for (let i = start; i < end; i++) {
        const r = order[i] as number;
        const g = gradHess[2 * r] as number;
        const h = gradHess[2 * r + 1] as number;
        const base = r * featureCount;
        for (let f = 0; f < featureCount; f++) {
          const s = ((offsets[f] as number) + (bins[base + f] as number)) * STRIDE;
          hist[s] = (hist[s] as number) + g;
          hist[s + 1] = (hist[s + 1] as number) + h;
          hist[s + 2] = (hist[s + 2] as number) + 1;
        }
      }
    };
  }
  const updates = Array.from(
    offsets,
    (offset, f) => `s = ${offset * STRIDE} + bins[base + ${f}] * ${STRIDE}; hist[s] += g; hist[s + 1] += h; hist[s + 2] += 1;`,
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
  return new Function('hist', 'bins', 'order', 'start', 'end', 'gradHess', body) as AllFeaturesKernel;
}

function accumulateSomeFeatures(
  hist: Float64Array,
  bins: Uint8Array,
  offsets: Int32Array,
  featureCount: number,
  order: Uint32Array,
  start: number,
  end: number,
  gradHess: Float64Array,
  features: Int32Array,
): void {
  const k = features.length;
  for (let i = start; i < end; i++) {
    const r = order[i] as number;
    const g = gradHess[2 * r] as number;
    const h = gradHess[2 * r + 1] as number;
    const base = r * featureCount;
    for (let j = 0; j < k; j++) {
      const f = features[j] as number;
      const s = ((offsets[f] as number) + (bins[base + f] as number)) * STRIDE;
      hist[s] = (hist[s] as number) + g;
      hist[s + 1] = (hist[s + 1] as number) + h;
      hist[s + 2] = (hist[s + 2] as number) + 1;
    }
  }
}

/** Unrolled by four like partitionRows, for the same reason. */
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
 * Unrolled by four like partitionRows; rows are still added in order, so the sums are unchanged.
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

function subtractInto(target: Float64Array, minus: Float64Array, features: Int32Array, offsets: Int32Array, slots: Int32Array): void {
  for (let j = 0; j < features.length; j++) {
    const f = features[j] as number;
    const from = (offsets[f] as number) * STRIDE;
    const to = from + (slots[f] as number) * STRIDE;
    for (let s = from; s < to; s++) target[s] = (target[s] as number) - (minus[s] as number);
  }
}

/** Node arrays that grow as the tree does, frozen into typed arrays at the end. */
class NodeList {
  readonly feature: number[] = [];
  readonly bin: number[] = [];
  readonly threshold: number[] = [];
  readonly missingLeft: number[] = [];
  readonly left: number[] = [];
  readonly right: number[] = [];
  readonly value: number[] = [];
  /** A categorical node's codes that go left, ascending; empty otherwise. */
  readonly categories: number[][] = [];

  add(): number {
    this.feature.push(LEAF);
    this.bin.push(0);
    this.threshold.push(0);
    this.missingLeft.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.value.push(0);
    this.categories.push([]);
    return this.feature.length - 1;
  }

  toTree(): Tree {
    const categoryStart = new Int32Array(this.categories.length + 1);
    this.categories.forEach((codes, n) => (categoryStart[n + 1] = (categoryStart[n] as number) + codes.length));
    return {
      feature: Int32Array.from(this.feature),
      bin: Uint8Array.from(this.bin),
      threshold: Float32Array.from(this.threshold),
      missingLeft: Uint8Array.from(this.missingLeft),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value: Float32Array.from(this.value),
      categoryStart,
      categories: Int32Array.from(this.categories.flat()),
    };
  }
}
