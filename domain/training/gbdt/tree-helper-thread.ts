import { workerData } from 'node:worker_threads';
import { gbdtObjective, type Scores } from './objectives.ts';
import { blockStart, clearFeatures, HistogramAccumulator } from './histograms.ts';
import { fillBernoulliPairs } from '../prng.ts';
import { addLeafValue, listByMask, lossPartStart, partitionRows } from './row-kernels.ts';
import { LEAF_RANGE, serveTasks, type TreeHelperData } from './tree-helpers.ts';

/** A tree builder's helper thread (tree-helpers.ts): serves its tasks until stopped. */
const data = workerData as TreeHelperData;
const [sampled] = data.sets;
if (sampled === undefined) throw new Error('a GBDT helper thread was started without row sets');
const histograms = new HistogramAccumulator({
  bins: data.bins,
  rows: data.trainRows,
  featureCount: data.featureCount,
  columns: sampled.columns,
  order: sampled.order,
  offsets: data.offsets,
});
const { train, validation, params, output: task } = data.objective;
const objective = gbdtObjective(train, validation, params, task);
const scratch = new Uint32Array(Math.max(...data.sets.map((set) => set.order.length)));

serveTasks(data.control, data.errors, {
  histogram({ features, start, end, blocks, fromBlock, toBlock, dense, output }) {
    for (let b = fromBlock; b < toBlock; b++) {
      const hist = data.blockHists.subarray((b - 1) * data.histLength, b * data.histLength);
      clearFeatures(hist, features, data.offsets, data.slots);
      const from = blockStart(start, end, blocks, b);
      histograms.accumulate(hist, features, from, blockStart(start, end, blocks, b + 1), dense, data.gradHess[output] as Float64Array);
    }
  },
  partition({ set: k, start, end }, feature) {
    const set = data.sets[k];
    if (set === undefined) throw new Error(`no row set ${k}`);
    // Row set 0's pieces are blocks the builder joins afterwards, in its scratch; the others are whole.
    const pieceScratch = k === 0 ? data.sampledScratch.subarray(start) : scratch;
    return partitionRows(set.order, pieceScratch, set.columns[feature] as Uint8Array, data.goesLeft, start, end);
  },
  gradients(output, from, to) {
    objective.gradients(output, data.sample.subarray(from), to - from, data.setScores[0] as Scores, data.gradHess[output] as Float64Array);
  },
  loss(which, parts, fromPart, toPart, rows, stride) {
    const scores = data.setScores[which === 'validation' ? 2 : 0] as Scores;
    for (let p = fromPart; p < toPart; p++) {
      data.lossSums[p] = objective.lossSum(which, scores, lossPartStart(rows, stride, parts, p), lossPartStart(rows, stride, parts, p + 1), stride);
    }
  },
  sample(state, threshold, fromPair, toPair) {
    fillBernoulliPairs(state, threshold / 65536, data.inSample, fromPair, toPair);
    return listByMask(data.inSample, 2 * fromPair, 2 * toPair, data.sample, 2 * fromPair, data.unsampled, 2 * fromPair);
  },
  addLeafValues(output, count) {
    const ranges = data.leafRanges;
    for (let i = 0; i < count * LEAF_RANGE; i += LEAF_RANGE) {
      const k = ranges[i] as number;
      const order = (data.sets[k] as { order: Uint32Array }).order;
      addLeafValue(data.setScores[k] as Scores, output, order, ranges[i + 1] as number, ranges[i + 2] as number, ranges[i + 3] as number, ranges[i + 4] as number);
    }
  },
});
