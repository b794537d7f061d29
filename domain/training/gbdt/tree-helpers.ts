import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startTsThread } from '../../../shared/ts-thread.ts';
import type { ObjectiveInputs, Scores } from './objectives.ts';

/**
 * Helper threads for the tree builder. Each is started once per training over the builder's data,
 * held in SharedArrayBuffers, and takes one task at a time while the builder's own thread does its
 * share of the same work: drawing a run of the row sample, a run of the gradients, blocks of a leaf's
 * histogram (histograms.ts), pieces of a split's partition, leaf values added to scores, parts of a
 * loss. A task is a few numbers in a control array, handed over and awaited with Atomics.notify and
 * Atomics.wait: a tree hands over two tasks per split, thousands per model, and a postMessage round
 * trip costs an event-loop turn on each side.
 *
 * Nothing a helper computes depends on how the work was divided: histogram blocks and loss parts are
 * fixed by the data's size, not the thread count, and the rest is per row. So the trees are the same
 * bit for bit on any number of threads (test/unit/training/gbdt-threads.test.ts).
 */

/** Control array slots. */
const SEQ = 0;
const DONE = 1;
const OP = 2;
const START = 3;
const END = 4;
const BLOCKS = 5;
const FROM_BLOCK = 6;
const TO_BLOCK = 7;
const DENSE = 8;
const OUTPUT = 9;
const SPLIT_FEATURE = 10;
/** Partition: per row set, 1 if this helper partitions a block of it, the block's [start, end), and where its right side starts. */
const PIECES = 11;
const FAILED = 23;
const FEATURE_COUNT = 24;
const FEATURES = 25;

const OP_HISTOGRAM = 1;
const OP_PARTITION = 2;
const OP_ADD_LEAF_VALUES = 3;
const OP_SAMPLE = 4;
const OP_GRADIENTS = 5;
const OP_LOSS = 6;
const OP_STOP = 7;
/** Gradients: output's gradients for the sampled rows sample[from, to). Loss: which row set (0 train, 1 validation), parts [from, to) of `parts` over `rows` rows every `stride`-th. */
const TASK_FROM = 3;
const TASK_TO = 4;
const LOSS_WHICH = 5;
const LOSS_PARTS = 6;
const LOSS_ROWS = 7;
const LOSS_STRIDE = 8;
/** Sample: the generator's state at pair 0, the Bernoulli threshold (rate · 65536), the pairs to draw, and how many rows were drawn. */
const SAMPLE_STATE = 3;
const SAMPLE_THRESHOLD = 4;
const SAMPLE_FROM_PAIR = 5;
const SAMPLE_TO_PAIR = 6;
const SAMPLE_DRAWN = 7;
/** Add: how many ranges this helper's `leafRanges` holds. */
const RANGE_COUNT = 5;

/** Slot of row set k's piece within PIECES: [taken, start, end, middle]. */
const pieceSlot = (k: number) => PIECES + 4 * k;
const ROW_SETS = 3;

/** A leaf's rows in one row set, and the value to add to their scores: [set, start, end, value, exp(value)]. */
export const LEAF_RANGE = 5;

/** A block of one row set's leaf range for a helper to partition. */
export interface PartitionPiece {
  set: number;
  start: number;
  end: number;
}

/** A task not answered in this long means the thread is gone (a task takes milliseconds). */
const ANSWER_TIMEOUT_MS = 60_000;

/** What every helper is started with: the builder's shared memory, and its own control and histogram. */
export interface TreeHelperData {
  featureCount: number;
  trainRows: number;
  bins: Uint8Array;
  /** Per feature, its first slot in a histogram and its number of slots. */
  offsets: Int32Array;
  slots: Int32Array;
  /** Per row set: its leaf order and column-major bins. */
  sets: { order: Uint32Array; columns: Uint8Array[] }[];
  /** Per output, its rows' interleaved gradients and hessians. */
  gradHess: Float64Array[];
  /** Which bins go left on the split being partitioned. */
  goesLeft: Uint8Array;
  /** The row sample's mask and lists: a helper writes its pairs' rows at their own positions, the builder compacts them. */
  inSample: Uint8Array;
  sample: Uint32Array;
  unsampled: Uint32Array;
  /** Scratch for partitioning the sampled rows (row set 0), shared: a piece uses the part from its start. */
  sampledScratch: Uint32Array;
  /** The histograms of blocks 1..MAX_BLOCKS - 1 back to back, histLength each (block 0 is the builder's). */
  blockHists: Float64Array;
  histLength: number;
  /** Per row set, the scores its rows' leaf values are added to (training, training, validation). */
  setScores: Scores[];
  /** What the helper builds its own copy of the objective from. */
  objective: ObjectiveInputs;
  /** Loss sums per part (tree-builder.ts's meanLoss), written by whichever thread sums the part. */
  lossSums: Float64Array;
  /** This helper's own control slots, and the leaf ranges of its add task, LEAF_RANGE numbers each. */
  control: Int32Array;
  leafRanges: Float64Array;
  errors: MessagePort;
}

export const controlLength = (featureCount: number) => FEATURES + featureCount;

/** The helper's side of the protocol (tree-helper-thread.ts runs it). */
export interface HistogramTask {
  features: Int32Array;
  /** The leaf's sampled rows order[start, end), summed in `blocks` blocks; this task's are [fromBlock, toBlock). */
  start: number;
  end: number;
  blocks: number;
  fromBlock: number;
  toBlock: number;
  dense: boolean;
  output: number;
}

export interface HelperTasks {
  histogram(task: HistogramTask): void;
  /** Partitions a piece in place, stably; returns where its right side starts. */
  partition(piece: PartitionPiece, feature: number): number;
  /** Adds leaf values to output `output`'s scores over `count` ranges of `leafRanges`. */
  addLeafValues(output: number, count: number): void;
  /** Fills output `output`'s gradients for the sampled rows sample[from, to). */
  gradients(output: number, from: number, to: number): void;
  /** Sums the loss over parts [fromPart, toPart) into lossSums. */
  loss(which: 'train' | 'validation', parts: number, fromPart: number, toPart: number, rows: number, stride: number): void;
  /** Draws the rows of pairs [fromPair, toPair) (prng.ts's fillBernoulliPairs) and lists them; returns how many were drawn. */
  sample(state: number, threshold: number, fromPair: number, toPair: number): number;
}

/** Runs tasks until told to stop; a task that throws is reported on `errors` and answered as failed. */
export function serveTasks(control: Int32Array, errors: MessagePort, tasks: HelperTasks): void {
  let seen = 0;
  for (;;) {
    Atomics.wait(control, SEQ, seen);
    const seq = Atomics.load(control, SEQ);
    if (seq === seen) continue;
    seen = seq;
    const op = control[OP] as number;
    if (op === OP_STOP) return;
    try {
      if (op === OP_HISTOGRAM) {
        const count = control[FEATURE_COUNT] as number;
        tasks.histogram({
          features: control.slice(FEATURES, FEATURES + count),
          start: control[START] as number,
          end: control[END] as number,
          blocks: control[BLOCKS] as number,
          fromBlock: control[FROM_BLOCK] as number,
          toBlock: control[TO_BLOCK] as number,
          dense: control[DENSE] === 1,
          output: control[OUTPUT] as number,
        });
      } else if (op === OP_GRADIENTS) {
        tasks.gradients(control[OUTPUT] as number, control[TASK_FROM] as number, control[TASK_TO] as number);
      } else if (op === OP_LOSS) {
        const c = control;
        tasks.loss(c[LOSS_WHICH] === 1 ? 'validation' : 'train', c[LOSS_PARTS] as number, c[TASK_FROM] as number, c[TASK_TO] as number, c[LOSS_ROWS] as number, c[LOSS_STRIDE] as number);
      } else if (op === OP_SAMPLE) {
        const c = control;
        c[SAMPLE_DRAWN] = tasks.sample((c[SAMPLE_STATE] as number) >>> 0, c[SAMPLE_THRESHOLD] as number, c[SAMPLE_FROM_PAIR] as number, c[SAMPLE_TO_PAIR] as number);
      } else if (op === OP_ADD_LEAF_VALUES) {
        tasks.addLeafValues(control[OUTPUT] as number, control[RANGE_COUNT] as number);
      } else {
        for (let k = 0; k < ROW_SETS; k++) {
          const slot = pieceSlot(k);
          if (control[slot] !== 1) continue;
          const piece = { set: k, start: control[slot + 1] as number, end: control[slot + 2] as number };
          control[slot + 3] = tasks.partition(piece, control[SPLIT_FEATURE] as number);
        }
      }
      control[FAILED] = 0;
    } catch (err) {
      control[FAILED] = 1;
      errors.postMessage(err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
    Atomics.store(control, DONE, seq);
    Atomics.notify(control, DONE);
  }
}

/** The builder's handle on one helper thread. */
export class TreeHelper {
  private seq = 0;
  private readonly control: Int32Array;
  /** Where the builder writes this helper's leaf ranges before posting an add task. */
  readonly leafRanges: Float64Array;

  private constructor(
    private readonly worker: Worker,
    private readonly errors: MessagePort,
    data: TreeHelperData,
  ) {
    this.control = data.control;
    this.leafRanges = data.leafRanges;
  }

  static start(shared: Omit<TreeHelperData, 'control' | 'leafRanges' | 'errors'>, maxLeafRanges: number): TreeHelper {
    const { port1, port2 } = new MessageChannel();
    const data: TreeHelperData = {
      ...shared,
      control: new Int32Array(new SharedArrayBuffer(4 * controlLength(shared.featureCount))),
      leafRanges: new Float64Array(new SharedArrayBuffer(8 * LEAF_RANGE * maxLeafRanges)),
      errors: port2,
    };
    const worker = startTsThread(new URL('./tree-helper-thread.ts', import.meta.url), data, [port2]);
    // Its failures are read synchronously off `errors`; an exit while idle needs no handling.
    worker.on('error', () => {});
    worker.unref();
    return new TreeHelper(worker, port1, data);
  }

  /** Starts summing the task's blocks, each into its histogram in `blockHists`. */
  postHistogram(task: HistogramTask): void {
    const c = this.control;
    c[OP] = OP_HISTOGRAM;
    c[START] = task.start;
    c[END] = task.end;
    c[BLOCKS] = task.blocks;
    c[FROM_BLOCK] = task.fromBlock;
    c[TO_BLOCK] = task.toBlock;
    c[DENSE] = task.dense ? 1 : 0;
    c[OUTPUT] = task.output;
    c[FEATURE_COUNT] = task.features.length;
    c.set(task.features, FEATURES);
    this.post();
  }

  /** Starts partitioning `pieces` (at most one per row set) on `feature`, by the shared goesLeft table. */
  postPartition(feature: number, pieces: readonly PartitionPiece[]): void {
    const c = this.control;
    c[OP] = OP_PARTITION;
    c[SPLIT_FEATURE] = feature;
    for (let k = 0; k < ROW_SETS; k++) c[pieceSlot(k)] = 0;
    for (const piece of pieces) {
      const slot = pieceSlot(piece.set);
      c[slot] = 1;
      c[slot + 1] = piece.start;
      c[slot + 2] = piece.end;
    }
    this.post();
  }

  /** Starts adding output `output`'s leaf values over the first `count` ranges in `leafRanges`. */
  postAddLeafValues(output: number, count: number): void {
    this.control[OP] = OP_ADD_LEAF_VALUES;
    this.control[OUTPUT] = output;
    this.control[RANGE_COUNT] = count;
    this.post();
  }

  /** Starts filling output `output`'s gradients for sample[from, to). */
  postGradients(output: number, from: number, to: number): void {
    const c = this.control;
    c[OP] = OP_GRADIENTS;
    c[OUTPUT] = output;
    c[TASK_FROM] = from;
    c[TASK_TO] = to;
    this.post();
  }

  /** Starts summing the loss over parts [fromPart, toPart) of `parts` (see TreeHelperData.lossSums). */
  postLoss(which: 'train' | 'validation', parts: number, fromPart: number, toPart: number, rows: number, stride: number): void {
    const c = this.control;
    c[OP] = OP_LOSS;
    c[LOSS_WHICH] = which === 'validation' ? 1 : 0;
    c[LOSS_PARTS] = parts;
    c[TASK_FROM] = fromPart;
    c[TASK_TO] = toPart;
    c[LOSS_ROWS] = rows;
    c[LOSS_STRIDE] = stride;
    this.post();
  }

  /** Starts drawing the rows of pairs [fromPair, toPair) from generator state `state` (see TreeHelperData.inSample). */
  postSample(state: number, threshold: number, fromPair: number, toPair: number): void {
    const c = this.control;
    c[OP] = OP_SAMPLE;
    c[SAMPLE_STATE] = state | 0;
    c[SAMPLE_THRESHOLD] = threshold;
    c[SAMPLE_FROM_PAIR] = fromPair;
    c[SAMPLE_TO_PAIR] = toPair;
    this.post();
  }

  /** How many rows the sample task just awaited drew. */
  get drawn(): number {
    return this.control[SAMPLE_DRAWN] as number;
  }

  /** Where the right side of this helper's piece of row set k starts, after the partition just awaited. */
  middle(k: number): number {
    return this.control[pieceSlot(k) + 3] as number;
  }

  /** Blocks until the posted task is done; throws what the thread threw. */
  await(): void {
    const c = this.control;
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done === this.seq) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`a GBDT helper thread did not finish its task in ${ANSWER_TIMEOUT_MS / 1000} s`);
      Atomics.wait(c, DONE, done, left);
    }
    if (c[FAILED] === 1) {
      const message = receiveMessageOnPort(this.errors)?.message as string | undefined;
      throw new Error(`a GBDT helper thread failed: ${message ?? 'no message'}`);
    }
  }

  async stop(): Promise<void> {
    this.control[OP] = OP_STOP;
    this.post();
    this.errors.close();
    await this.worker.terminate();
  }

  private post(): void {
    this.seq += 1;
    Atomics.store(this.control, SEQ, this.seq);
    Atomics.notify(this.control, SEQ);
  }
}
