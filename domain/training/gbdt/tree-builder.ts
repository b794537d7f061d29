import { MISSING_BIN } from './binning.ts';
import { addFeatures, blockStart, clearFeatures, HistogramAccumulator, histogramBlocks, isDense, MAX_BLOCKS, STRIDE, subtractInto } from './histograms.ts';
import type { GbdtObjective, ObjectiveInputs, Scores } from './objectives.ts';
import { fillBernoulliPairs, type Prng } from '../prng.ts';
import { addLeafValue, joinPartitionedBlocks, listByMask, lossPartStart, partitionRows, type PartitionedBlock } from './row-kernels.ts';
import { LEAF, type Tree } from './tree.ts';
import { LEAF_RANGE, TreeHelper, type PartitionPiece } from './tree-helpers.ts';

/**
 * Grows one regression tree on gradients and hessians of the log loss, leaf-wise (always splitting
 * the leaf with the largest gain, as LightGBM does) within maxLeaves and maxDepth.
 *
 * Where the time goes, and what keeps it down:
 * - A histogram holds (sum g, sum h, count) per bin of every feature (histograms.ts). Only the
 *   smaller child's is built from its rows; the larger child's is the parent's minus it, written over
 *   the parent's.
 * - Each leaf's rows are a contiguous range of an `order` array, split stably in place (branch-free)
 *   on every split, so rows stay ascending and memory is read in one direction.
 * - The data is held twice, row-major and by column, for the two histogram loops; splits read the
 *   columns.
 * - With `threads` > 1, helper threads (tree-helpers.ts) sum some of a leaf's row blocks into its
 *   histogram, and partition the unsampled and validation rows, while this thread does the rest.
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

export interface TreeBuilderOptions {
  /** Boosting outputs (one per class for softmax): each gets its own shared gradient buffer. */
  outputs: number;
  /** Threads building each tree, this one included; trees do not depend on it. */
  threads: number;
  /**
   * The scores `addLeafValues` adds each tree to, in SharedArrayBuffers when threads > 1 (helpers
   * add to them too; see sharedScores).
   */
  scores: { train: Scores; validation: Scores };
  /** The objective computeGradients and meanLoss use, and what helpers build their copy from. */
  objective: { instance: GbdtObjective; inputs: ObjectiveInputs };
}

/** A loss is summed in this many parts, whatever the thread count (lossPartStart). */
const LOSS_PARTS = 4;

/** Scores of `rows` rows starting at `base` per output, with odds if asked for, in shared memory so helper threads can add to them. */
export function sharedScores(rows: number, baseScores: readonly number[], withOdds: boolean): Scores {
  return {
    margin: baseScores.map((base) => sharedFloat64(rows).fill(base)),
    odds: withOdds ? baseScores.map((base) => sharedFloat64(rows).fill(Math.exp(base))) : null,
  };
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

/** Sampled rows of a leaf below this many are partitioned by this thread alone. */
const MIN_SHARED_PARTITION = 16_384;

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

export class TreeBuilder {
  private readonly sets: RowSet[];
  private readonly scratch: Uint32Array;
  /** Per feature, its first slot in a histogram; slot 0 of a feature is its missing bin. */
  private readonly offsets: Int32Array;
  /** Per feature, its slots: the missing bin plus edges + 1 real bins. */
  private readonly slots: Int32Array;
  private readonly histLength: number;
  private readonly histograms: HistogramAccumulator;
  /** Per output, each training row's gradient and hessian, interleaved (2r, 2r + 1) so one cache line serves both. */
  private readonly gradHess: Float64Array[];
  /** Per split, which bins go left: a table lookup keeps the partition loop free of branches. */
  private readonly goesLeft = sharedUint8(256);
  private readonly helpers: TreeHelper[];
  /** The histograms of a leaf's row blocks 1..MAX_BLOCKS - 1, histLength each (block 0's is the leaf's). */
  private readonly blockHists: Float64Array;
  private readonly freeHists: Float64Array[] = [];
  /** Per row set, the scores its rows' leaf values go to. */
  private readonly setScores: Scores[];
  /** The rows drawn for the next tree (drawSample), ascending, and the others. */
  readonly sample: Uint32Array;
  readonly unsampled: Uint32Array;
  private readonly inSample: Uint8Array;
  private readonly objective: GbdtObjective;
  private readonly lossSums = sharedFloat64(LOSS_PARTS);
  private readonly outputs: number;
  private leaves: OpenLeaf[] = [];

  constructor(
    private readonly data: BinnedData,
    validation: { bins: Uint8Array; rows: number },
    private readonly params: TreeGrowthParams,
    options: TreeBuilderOptions,
  ) {
    const trainColumns = toColumns(data.bins, data.featureCount, data.rows);
    this.sets = [
      { order: sharedUint32(data.rows), columns: trainColumns },
      { order: sharedUint32(data.rows), columns: trainColumns },
      { order: sharedUint32(validation.rows), columns: toColumns(validation.bins, data.featureCount, validation.rows) },
    ];
    this.scratch = sharedUint32(Math.max(data.rows, validation.rows));
    this.slots = Int32Array.from(data.edges, (edges) => edges.length + 2);
    this.offsets = new Int32Array(data.featureCount);
    let total = 0;
    for (let f = 0; f < data.featureCount; f++) {
      this.offsets[f] = total;
      total += this.slots[f] as number;
    }
    this.histLength = total * STRIDE;
    this.gradHess = Array.from({ length: options.outputs }, () => sharedFloat64(2 * data.rows));
    const bins = data.bins.buffer instanceof SharedArrayBuffer ? data.bins : sharedUint8(data.bins.length);
    if (bins !== data.bins) bins.set(data.bins);
    const sampled = this.sets[SAMPLED] as RowSet;
    const source = { bins, rows: data.rows, featureCount: data.featureCount, columns: sampled.columns, order: sampled.order, offsets: this.offsets };
    this.histograms = new HistogramAccumulator(source);
    this.blockHists = sharedFloat64((MAX_BLOCKS - 1) * this.histLength);
    this.objective = options.objective.instance;
    this.outputs = options.outputs;
    this.sample = sharedUint32(data.rows);
    this.unsampled = sharedUint32(data.rows);
    this.inSample = sharedUint8(data.rows);
    this.setScores = this.sets.map((_, k) => (k === VALIDATION ? options.scores.validation : options.scores.train));
    const helperData = {
      ...source,
      trainRows: data.rows,
      slots: this.slots,
      sets: this.sets,
      gradHess: this.gradHess,
      goesLeft: this.goesLeft,
      sampledScratch: this.scratch,
      blockHists: this.blockHists,
      histLength: this.histLength,
      setScores: this.setScores,
      objective: options.objective.inputs,
      lossSums: this.lossSums,
      inSample: this.inSample,
      sample: this.sample,
      unsampled: this.unsampled,
    };
    const helperCount = Math.max(0, Math.min(options.threads, MAX_BLOCKS) - 1);
    this.helpers = Array.from({ length: helperCount }, () => TreeHelper.start(helperData, ROW_SETS * params.maxLeaves));
  }

  /** Output k's gradient buffer, for the objective to fill before `grow(..., k, ...)`. */
  gradients(k: number): Float64Array {
    return this.gradHess[k] as Float64Array;
  }

  /** Threads building each tree, this one included. */
  get threads(): number {
    return this.helpers.length + 1;
  }

  /** Stops the helper threads. */
  async close(): Promise<void> {
    await Promise.all(this.helpers.map((helper) => helper.stop()));
  }

  /**
   * Draws each training row with probability `rate` for the next tree, by prng.fillBernoulli's
   * draws (the threads each draw a run of them from the generator's state stepped ahead, so the
   * sample is the one-thread sample), into `sample` (ascending) and `unsampled`; returns the count.
   */
  drawSample(prng: Prng, rate: number): number {
    const rows = this.data.rows;
    if (rate >= 1) return listByMask(this.inSample.fill(1), 0, rows, this.sample, 0, this.unsampled, 0);
    const pairs = rows >>> 1;
    const state = prng.state;
    const threads = this.threads;
    const firstPair = (t: number) => Math.floor((t * pairs) / threads);
    this.helpers.forEach((helper, i) => helper.postSample(state, Math.round(rate * 65536), firstPair(i + 1), firstPair(i + 2)));
    fillBernoulliPairs(state, rate, this.inSample, 0, firstPair(1));
    let drawn = listByMask(this.inSample, 0, 2 * firstPair(1), this.sample, 0, this.unsampled, 0);
    let rest = 2 * firstPair(1) - drawn;
    prng.skip(pairs);
    this.helpers.forEach((helper, i) => {
      helper.await();
      const from = 2 * firstPair(i + 1);
      const length = 2 * firstPair(i + 2) - from;
      this.sample.copyWithin(drawn, from, from + helper.drawn);
      this.unsampled.copyWithin(rest, from, from + length - helper.drawn);
      drawn += helper.drawn;
      rest += length - helper.drawn;
    });
    if (rows % 2 === 1) {
      prng.fillBernoulliLast(rate, this.inSample);
      drawn += listByMask(this.inSample, rows - 1, rows, this.sample, drawn, this.unsampled, rest);
    }
    return drawn;
  }

  /** Fills every output's gradients for the rows drawn (drawSample), the rows shared among the threads. */
  computeGradients(sampleSize: number): void {
    const threads = this.threads;
    const runStart = (t: number) => Math.floor((t * sampleSize) / threads);
    for (let k = 0; k < this.outputs; k++) {
      this.helpers.forEach((helper, i) => helper.postGradients(k, runStart(i + 1), runStart(i + 2)));
      this.objective.gradients(k, this.sample, runStart(1), this.setScores[SAMPLED] as Scores, this.gradHess[k] as Float64Array);
      for (const helper of this.helpers) helper.await();
    }
  }

  /** The mean loss over every `stride`-th row of `which`, its LOSS_PARTS parts shared among the threads. */
  meanLoss(which: 'train' | 'validation', stride: number): number {
    const set = which === 'train' ? SAMPLED : VALIDATION;
    const rows = which === 'train' ? this.data.rows : (this.sets[VALIDATION] as RowSet).order.length;
    const scores = this.setScores[set] as Scores;
    const firstPart = (t: number) => Math.ceil((t * LOSS_PARTS) / this.threads);
    const busy = this.helpers.filter((helper, i) => {
      const [from, to] = [firstPart(i + 1), firstPart(i + 2)];
      if (from < to) helper.postLoss(which, LOSS_PARTS, from, to, rows, stride);
      return from < to;
    });
    for (let p = 0; p < firstPart(1); p++) {
      this.lossSums[p] = this.objective.lossSum(which, scores, lossPartStart(rows, stride, LOSS_PARTS, p), lossPartStart(rows, stride, LOSS_PARTS, p + 1), stride);
    }
    for (const helper of busy) helper.await();
    let sum = 0;
    for (let p = 0; p < LOSS_PARTS; p++) sum += this.lossSums[p] as number;
    const points = Math.ceil(rows / stride);
    return points === 0 ? NaN : sum / points;
  }

  /**
   * Grows a tree on the training rows `sample[0..sampleSize)` drawn by drawSample, splitting only on
   * `features`, on the gradients in `gradients(output)`.
   * Afterwards `addLeafValues` adds the tree to the scores of every training and validation row.
   */
  grow(sampleSize: number, output: number, features: Int32Array): Tree {
    const p = this.params;
    const gradHess = this.gradHess[output] as Float64Array;
    const [sampled, rest, validation] = this.sets as [RowSet, RowSet, RowSet];
    sampled.order.set(this.sample.subarray(0, sampleSize));
    const unsampledSize = this.data.rows - sampleSize;
    rest.order.set(this.unsampled.subarray(0, unsampledSize));
    for (let r = 0; r < validation.order.length; r++) validation.order[r] = r;
    const nodes = new NodeList();
    const root: OpenLeaf = {
      node: nodes.add(),
      bounds: [0, sampleSize, 0, unsampledSize, 0, validation.order.length],
      depth: 0,
      g: 0,
      h: 0,
      count: sampleSize,
      l2: p.l2,
      hist: null,
      split: null,
    };
    this.leaves = [root];
    if (this.splittable(root)) {
      root.hist = this.buildHistogram(root, output, features);
      // Every row is in one bin of each feature: the first feature's bins hold the sums, without another pass over the rows.
      const f = features[0] as number;
      for (let s = (this.offsets[f] as number) * STRIDE, end = s + (this.slots[f] as number) * STRIDE; s < end; s += STRIDE) {
        root.g += root.hist[s] as number;
        root.h += root.hist[s + 1] as number;
      }
      root.split = this.bestSplit(root, features);
    } else {
      for (let i = 0; i < sampleSize; i++) {
        const r = sampled.order[i] as number;
        root.g += gradHess[2 * r] as number;
        root.h += gradHess[2 * r + 1] as number;
      }
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
        small.hist = this.buildHistogram(small, output, features);
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
   * of output `output` (options.scores), and multiplies their odds, where kept, by exp(leaf value).
   * Each row gets one addition, so sharing the rows among threads changes no result.
   */
  addLeafValues(tree: Tree, output: number): void {
    // Every leaf's rows in every row set, LEAF_RANGE numbers each, cut into runs of about equal rows: one per thread.
    const ranges: number[] = [];
    const sizes: number[] = [];
    for (let k = 0; k < ROW_SETS; k++) {
      for (const leaf of this.leaves) {
        const start = leaf.bounds[2 * k] as number;
        const end = leaf.bounds[2 * k + 1] as number;
        const value = tree.value[leaf.node] as number;
        if (end > start) ranges.push(k, start, end, value, Math.exp(value));
        if (end > start) sizes.push(end - start);
      }
    }
    const rows = sizes.reduce((sum, size) => sum + size, 0);
    const runs: number[][] = Array.from({ length: this.threads }, () => []);
    let before = 0;
    sizes.forEach((size, i) => {
      const thread = Math.min(this.threads - 1, Math.floor(((before + size / 2) * this.threads) / rows));
      (runs[thread] as number[]).push(...ranges.slice(i * LEAF_RANGE, (i + 1) * LEAF_RANGE));
      before += size;
    });
    this.helpers.forEach((helper, i) => {
      const run = runs[i + 1] as number[];
      helper.leafRanges.set(run);
      helper.postAddLeafValues(output, run.length / LEAF_RANGE);
    });
    const own = runs[0] as number[];
    for (let i = 0; i < own.length; i += LEAF_RANGE) {
      const k = own[i] as number;
      addLeafValue(this.setScores[k] as Scores, output, (this.sets[k] as RowSet).order, own[i + 1] as number, own[i + 2] as number, own[i + 3] as number, own[i + 4] as number);
    }
    for (const helper of this.helpers) helper.await();
  }

  private splittable(leaf: OpenLeaf): boolean {
    return leaf.depth < this.params.maxDepth && leaf.count >= 2 * this.params.minSamplesLeaf;
  }

  private release(leaf: OpenLeaf): void {
    if (leaf.hist !== null) this.freeHists.push(leaf.hist);
    leaf.hist = null;
  }

  /** The leaf's histogram, summed block by block (histograms.ts), the blocks shared among the threads. */
  private buildHistogram(leaf: OpenLeaf, output: number, features: Int32Array): Float64Array {
    const hist = this.freeHists.pop() ?? new Float64Array(this.histLength);
    hist.fill(0);
    const start = leaf.bounds[2 * SAMPLED] as number;
    const end = leaf.bounds[2 * SAMPLED + 1] as number;
    const blocks = histogramBlocks(end - start);
    const dense = isDense(end - start, this.data.rows);
    const gradHess = this.gradHess[output] as Float64Array;
    // Thread t sums the blocks b with floor(b · threads / blocks) = t: a run, and block 0 is this thread's.
    const threads = this.threads;
    const firstBlock = (t: number) => Math.ceil((t * blocks) / threads);
    const busy = this.helpers.filter((helper, i) => {
      const fromBlock = firstBlock(i + 1);
      const toBlock = firstBlock(i + 2);
      if (fromBlock < toBlock) helper.postHistogram({ features, start, end, blocks, fromBlock, toBlock, dense, output });
      return fromBlock < toBlock;
    });
    for (let b = 0; b < firstBlock(1); b++) {
      const target = b === 0 ? hist : this.blockHist(b);
      if (b > 0) clearFeatures(target, features, this.offsets, this.slots);
      this.histograms.accumulate(target, features, blockStart(start, end, blocks, b), blockStart(start, end, blocks, b + 1), dense, gradHess);
    }
    for (const helper of busy) helper.await();
    for (let b = 1; b < blocks; b++) addFeatures(hist, this.blockHist(b), features, this.offsets, this.slots);
    return hist;
  }

  private blockHist(b: number): Float64Array {
    return this.blockHists.subarray((b - 1) * this.histLength, b * this.histLength);
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

  /**
   * Partitions the leaf's rows of every row set on feature `f` by `goesLeft`; returns, per row set,
   * where the right child's rows start. With helpers, this thread takes the first share of the sampled
   * rows; the helpers take the rest of them in blocks, and the other row sets whole, round robin. The
   * sampled blocks are joined afterwards, so the result is the one-thread partition.
   */
  private partition(bounds: readonly number[], f: number): number[] {
    const goesLeft = this.goesLeft;
    const range = (k: number) => [bounds[2 * k] as number, bounds[2 * k + 1] as number] as const;
    const helpers = this.helpers;
    if (helpers.length === 0) {
      return this.sets.map(({ order, columns }, k) => partitionRows(order, this.scratch, columns[f] as Uint8Array, goesLeft, ...range(k)));
    }
    const [start, end] = range(SAMPLED);
    const rows = this.sets.reduce((sum, _, k) => sum + range(k)[1] - range(k)[0], 0);
    const own = end - start < MIN_SHARED_PARTITION ? end - start : Math.min(end - start, Math.ceil(rows / this.threads));
    const pieces: PartitionPiece[][] = helpers.map((_, i) => {
      const from = start + own + Math.floor((i * (end - start - own)) / helpers.length);
      const to = start + own + Math.floor(((i + 1) * (end - start - own)) / helpers.length);
      return from < to ? [{ set: SAMPLED, start: from, end: to }] : [];
    });
    for (let k = 1; k < ROW_SETS; k++) pieces[(k - 1) % helpers.length]?.push({ set: k, start: range(k)[0], end: range(k)[1] });
    helpers.forEach((helper, i) => helper.postPartition(f, pieces[i] as PartitionPiece[]));

    const { order, columns } = this.sets[SAMPLED] as RowSet;
    const blocks: PartitionedBlock[] = [{ start, middle: partitionRows(order, this.scratch, columns[f] as Uint8Array, goesLeft, start, start + own), end: start + own }];
    const middles = [0, 0, 0];
    helpers.forEach((helper, i) => {
      helper.await();
      for (const piece of pieces[i] as PartitionPiece[]) {
        if (piece.set === SAMPLED) blocks.push({ start: piece.start, middle: helper.middle(SAMPLED), end: piece.end });
        else middles[piece.set] = helper.middle(piece.set);
      }
    });
    middles[SAMPLED] = blocks.length === 1 ? (blocks[0] as PartitionedBlock).middle : joinPartitionedBlocks(order, this.scratch, blocks);
    return middles;
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
    const middles = this.partition(leaf.bounds, f);
    const leftBounds: number[] = [];
    const rightBounds: number[] = [];
    for (let k = 0; k < ROW_SETS; k++) {
      leftBounds.push(leaf.bounds[2 * k] as number, middles[k] as number);
      rightBounds.push(middles[k] as number, leaf.bounds[2 * k + 1] as number);
    }

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
    const column = sharedUint8(rows);
    for (let r = 0; r < rows; r++) column[r] = bins[r * featureCount + f] as number;
    return column;
  });
}

const sharedUint8 = (length: number) => new Uint8Array(new SharedArrayBuffer(length));
const sharedUint32 = (length: number) => new Uint32Array(new SharedArrayBuffer(4 * length));
const sharedFloat64 = (length: number) => new Float64Array(new SharedArrayBuffer(8 * length));

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
