import { solvePositiveDefinite } from './cholesky.ts';
import { margins, type Design } from './design.ts';

/**
 * Damped Newton steps for multinomial (softmax) logistic regression on objective(W) = mean
 * cross-entropy + l2/2 · ‖W without intercepts‖². Class 0 is the reference: its scores are fixed at
 * 0 and W holds the other K − 1 classes, block c (class c + 1) at W[c·d .. (c+1)·d). Fixing one class
 * is what makes the Hessian positive definite: with K free intercepts, adding a constant to all of
 * them changes nothing and the unpenalised intercept block would be singular.
 *
 * The Hessian is (K − 1)·d square, d being the one-hot design's width (a few hundred for the flights
 * features); it is built in one pass over the rows and solved by Cholesky, so a fit is a handful of
 * passes, deterministic (fixed summation order, no randomness).
 */

const DIAGONAL_JITTER = 1e-10;
const MAX_HALVINGS = 30;

export interface SoftmaxNewtonState {
  weights: Float64Array;
  objective: number;
  /** Training scores of classes 1..K−1 for `weights`, row-major [n, K − 1]. */
  scores: Float64Array;
}

/** Scores of classes 1..K−1, row-major [rows, K − 1], for weights laid out as above. */
export function softmaxScores(design: Design, weights: Float64Array, others: number, out: Float64Array): void {
  const d = design.dimension;
  const column = new Float64Array(design.rows);
  for (let c = 0; c < others; c++) {
    margins(design, weights.subarray(c * d, (c + 1) * d), column);
    for (let i = 0; i < design.rows; i++) out[i * others + c] = column[i] as number;
  }
}

/** Mean cross-entropy of scores (class 0's being 0) against class indices. */
export function meanCrossEntropy(scores: Float64Array, label: Uint8Array, others: number): number {
  let sum = 0;
  for (let i = 0; i < label.length; i++) {
    let max = 0;
    for (let c = 0; c < others; c++) max = Math.max(max, scores[i * others + c] as number);
    let total = Math.exp(-max);
    for (let c = 0; c < others; c++) total += Math.exp((scores[i * others + c] as number) - max);
    const y = label[i] as number;
    sum += max + Math.log(total) - (y === 0 ? 0 : (scores[i * others + y - 1] as number));
  }
  return label.length === 0 ? NaN : sum / label.length;
}

export function softmaxObjective(design: Design, label: Uint8Array, weights: Float64Array, others: number, l2: number, scores: Float64Array): number {
  softmaxScores(design, weights, others, scores);
  const d = design.dimension;
  let penalty = 0;
  for (let c = 0; c < others; c++) for (let j = 1; j < d; j++) penalty += (weights[c * d + j] as number) ** 2;
  return meanCrossEntropy(scores, label, others) + (l2 / 2) * penalty;
}

/** The state after one step, or null when no step along the Newton direction lowers the objective. */
export function softmaxNewtonStep(design: Design, label: Uint8Array, others: number, l2: number, state: SoftmaxNewtonState): SoftmaxNewtonState | null {
  const d = design.dimension;
  const size = others * d;
  const n = design.rows;
  const kNum = design.numeric.length;
  const gradient = new Float64Array(size);
  const hessian = new Float64Array(size * size);
  // Active (index, value) pairs of one row, in strictly increasing index order.
  const activeCount = 1 + kNum + design.active.length;
  const index = new Int32Array(activeCount);
  const value = new Float64Array(activeCount);
  index[0] = 0;
  value[0] = 1;
  for (let j = 0; j < kNum; j++) index[1 + j] = 1 + j;
  const p = new Float64Array(others);
  const curvature = new Float64Array(others * others);

  for (let i = 0; i < n; i++) {
    let max = 0;
    for (let c = 0; c < others; c++) max = Math.max(max, state.scores[i * others + c] as number);
    let total = Math.exp(-max);
    for (let c = 0; c < others; c++) {
      p[c] = Math.exp((state.scores[i * others + c] as number) - max);
      total += p[c] as number;
    }
    for (let c = 0; c < others; c++) p[c] = (p[c] as number) / total;
    // ∂²/∂s_c∂s_e of the cross-entropy: p_c (δ_ce − p_e), for the K − 1 free classes.
    for (let c = 0; c < others; c++) {
      for (let e = 0; e < others; e++) curvature[c * others + e] = (p[c] as number) * ((c === e ? 1 : 0) - (p[e] as number));
    }
    const y = label[i] as number;
    for (let j = 0; j < kNum; j++) value[1 + j] = (design.numeric[j] as Float64Array)[i] as number;
    for (let c = 0; c < design.active.length; c++) {
      index[1 + kNum + c] = (design.active[c] as Int32Array)[i] as number;
      value[1 + kNum + c] = 1;
    }
    for (let a = 0; a < activeCount; a++) {
      const ia = index[a] as number;
      const va = value[a] as number;
      for (let c = 0; c < others; c++) {
        const residual = (p[c] as number) - (y === c + 1 ? 1 : 0);
        gradient[c * d + ia] = (gradient[c * d + ia] as number) + residual * va;
      }
      // Only pairs with ib ≥ ia are accumulated; the rest are mirrored after the pass.
      for (let b = a; b < activeCount; b++) {
        const ib = index[b] as number;
        const vab = va * (value[b] as number);
        for (let c = 0; c < others; c++) {
          const row = (c * d + ia) * size + ib;
          for (let e = 0; e < others; e++) {
            const cell = row + e * d;
            hessian[cell] = (hessian[cell] as number) + vab * (curvature[c * others + e] as number);
          }
        }
      }
    }
  }

  for (let c = 0; c < others; c++) {
    for (let ia = 0; ia < d; ia++) {
      const r = c * d + ia;
      gradient[r] = (gradient[r] as number) / n + (ia > 0 ? l2 * (state.weights[r] as number) : 0);
      for (let e = 0; e < others; e++) {
        // On the diagonal block (ib = ia) the pair (c, e) and (e, c) hold the same sum: scale it once.
        for (let ib = e < c ? ia + 1 : ia; ib < d; ib++) {
          const s = e * d + ib;
          const scaled = (hessian[r * size + s] as number) / n + (r === s ? (ia > 0 ? l2 : 0) + DIAGONAL_JITTER : 0);
          hessian[r * size + s] = scaled;
          hessian[s * size + r] = scaled;
        }
      }
    }
  }
  const direction = solvePositiveDefinite(hessian, gradient, size);

  const scores = new Float64Array(n * others);
  let step = 1;
  for (let halving = 0; halving <= MAX_HALVINGS; halving++, step /= 2) {
    const weights = state.weights.map((w, k) => w - step * (direction[k] as number));
    const value = softmaxObjective(design, label, weights, others, l2, scores);
    if (value < state.objective) return { weights, objective: value, scores };
  }
  return null;
}
