import { yieldToEventLoop } from './trainer.ts';
import type { FeatureImportance } from '../../shared/model-diagnostics.ts';
import { logLoss } from '../evaluation/metrics.ts';
import type { FeatureMatrix } from './feature-matrix.ts';
import { Prng } from './prng.ts';

/**
 * Permutation importance: how much worse the model predicts a held-out split when one feature's
 * column is shuffled, which breaks that feature's link to the label and to the other features while
 * keeping its distribution. It needs only `predict`, so it measures every trainer (GBDT, logistic
 * regression) the same way, unlike split gain, which only trees have and which also credits
 * features for fitting noise in the training rows. The loss is log loss, which sees a damaged
 * probability even where the ranking (AUC) barely moves.
 */

export interface ImportanceOptions {
  seed: number;
  /** Rows sampled from the split (all when fewer): the cost is (features × repeats + 1) predictions of this many rows. */
  maxRows?: number;
  /** Shuffles per feature, averaged. */
  repeats?: number;
  /** Called after each feature is measured: the activity heartbeats here. */
  onFeature?: (name: string) => void;
}

const DEFAULT_MAX_ROWS = 20_000;
const DEFAULT_REPEATS = 2;

/** The rows at `rows` of a matrix, as a matrix of its own. */
function takeRows(matrix: FeatureMatrix, rows: Uint32Array): FeatureMatrix {
  const pick = <T extends Float64Array | Int32Array | Uint8Array>(column: T, make: (n: number) => T): T => {
    const out = make(rows.length);
    rows.forEach((r, i) => {
      out[i] = column[r] as number;
    });
    return out;
  };
  return {
    rows: rows.length,
    numeric: { names: matrix.numeric.names, columns: matrix.numeric.columns.map((c) => pick(c, (n) => new Float64Array(n))) },
    categorical: { names: matrix.categorical.names, columns: matrix.categorical.columns.map((c) => ({ dictionary: c.dictionary, codes: pick(c.codes, (n) => new Int32Array(n)) })) },
    label: pick(matrix.label, (n) => new Uint8Array(n)),
  };
}

function shuffled<T extends Float64Array | Int32Array>(column: T, prng: Prng): T {
  const out = column.slice() as T;
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.nextInt(i + 1);
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}

/** A seeded sample of `k` distinct row indices in ascending order (all rows when k ≥ rows). */
function sampleRows(rows: number, k: number, prng: Prng): Uint32Array {
  const all = Uint32Array.from({ length: rows }, (_, i) => i);
  if (k >= rows) return all;
  for (let i = 0; i < k; i++) {
    const j = i + prng.nextInt(rows - i);
    const t = all[i] as number;
    all[i] = all[j] as number;
    all[j] = t;
  }
  return all.slice(0, k).sort();
}

/**
 * Yields to the event loop between features: the whole takes seconds, and other activities on the
 * same worker (trainings side by side) must keep heartbeating meanwhile.
 */
export async function permutationImportance(
  predict: (matrix: FeatureMatrix) => ArrayLike<number>,
  split: FeatureMatrix,
  splitName: string,
  options: ImportanceOptions,
): Promise<FeatureImportance> {
  const repeats = options.repeats ?? DEFAULT_REPEATS;
  const prng = new Prng(options.seed);
  const sample = takeRows(split, sampleRows(split.rows, options.maxRows ?? DEFAULT_MAX_ROWS, prng));
  const baseline = logLoss(sample.label, predict(sample));
  const increase: Record<string, number> = {};
  const measure = async (name: string, withShuffled: () => FeatureMatrix) => {
    let total = 0;
    for (let r = 0; r < repeats; r++) total += logLoss(sample.label, predict(withShuffled())) - baseline;
    increase[name] = Math.max(0, total / repeats);
    options.onFeature?.(name);
    await yieldToEventLoop();
  };
  for (const [j, name] of sample.numeric.names.entries()) {
    await measure(name, () => ({ ...sample, numeric: { names: sample.numeric.names, columns: sample.numeric.columns.map((c, k) => (k === j ? shuffled(c, prng) : c)) } }));
  }
  for (const [j, name] of sample.categorical.names.entries()) {
    await measure(name, () => ({
      ...sample,
      categorical: { names: sample.categorical.names, columns: sample.categorical.columns.map((c, k) => (k === j ? { dictionary: c.dictionary, codes: shuffled(c.codes, prng) } : c)) },
    }));
  }
  const names = Object.keys(increase);
  const total = names.reduce((sum, n) => sum + (increase[n] as number), 0);
  const weights = Object.fromEntries(names.map((n) => [n, total > 0 ? (increase[n] as number) / total : 1 / names.length]));
  return { method: 'permutation-log-loss', split: splitName, rows: sample.rows, repeats, logLossIncrease: increase, weights };
}
