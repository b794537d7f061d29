import { meanMarginLogLoss } from '../margin-loss.ts';
import { solvePositiveDefinite } from './cholesky.ts';
import { margins, type Design } from './design.ts';

/**
 * One damped Newton step on objective(w) = mean log loss + l2/2 · ‖w[1..]‖² (the intercept is not
 * penalised). Deterministic: no randomness, fixed summation order.
 */

/** Keeps columns no training row activates (an empty "other" bucket) solvable when l2 = 0. */
const DIAGONAL_JITTER = 1e-10;
const MAX_HALVINGS = 30;

export interface NewtonState {
  weights: Float64Array;
  objective: number;
  /** Training margins for `weights`. */
  margin: Float64Array;
}

export function objective(design: Design, label: Uint8Array, weights: Float64Array, l2: number, margin: Float64Array): number {
  margins(design, weights, margin);
  let penalty = 0;
  for (let k = 1; k < weights.length; k++) penalty += (weights[k] as number) ** 2;
  return meanMarginLogLoss(margin, label) + (l2 / 2) * penalty;
}

/** The state after one step, or null when no step along the Newton direction lowers the objective. */
export function newtonStep(design: Design, label: Uint8Array, l2: number, state: NewtonState): NewtonState | null {
  const d = design.dimension;
  const n = design.rows;
  const kNum = design.numeric.length;
  const gradient = new Float64Array(d);
  const hessian = new Float64Array(d * d);
  // Active (index, value) pairs of one row, in increasing index order.
  const activeCount = 1 + kNum + design.active.length;
  const index = new Int32Array(activeCount);
  const value = new Float64Array(activeCount);
  index[0] = 0;
  value[0] = 1;
  for (let j = 0; j < kNum; j++) index[1 + j] = 1 + j;

  for (let i = 0; i < n; i++) {
    const p = 1 / (1 + Math.exp(-(state.margin[i] as number)));
    const residual = p - (label[i] as number);
    const curvature = p * (1 - p);
    for (let j = 0; j < kNum; j++) value[1 + j] = (design.numeric[j] as Float64Array)[i] as number;
    for (let c = 0; c < design.active.length; c++) {
      index[1 + kNum + c] = (design.active[c] as Int32Array)[i] as number;
      value[1 + kNum + c] = 1;
    }
    for (let a = 0; a < activeCount; a++) {
      const ia = index[a] as number;
      const va = value[a] as number;
      gradient[ia] = (gradient[ia] as number) + residual * va;
      const weighted = curvature * va;
      const row = ia * d;
      for (let b = a; b < activeCount; b++) {
        const cell = row + (index[b] as number);
        hessian[cell] = (hessian[cell] as number) + weighted * (value[b] as number);
      }
    }
  }

  for (let a = 0; a < d; a++) {
    gradient[a] = (gradient[a] as number) / n + (a > 0 ? l2 * (state.weights[a] as number) : 0);
    for (let b = a; b < d; b++) {
      const scaled = (hessian[a * d + b] as number) / n + (a === b ? (a > 0 ? l2 : 0) + DIAGONAL_JITTER : 0);
      hessian[a * d + b] = scaled;
      hessian[b * d + a] = scaled;
    }
  }
  const direction = solvePositiveDefinite(hessian, gradient, d);

  const margin = new Float64Array(n);
  let step = 1;
  for (let halving = 0; halving <= MAX_HALVINGS; halving++, step /= 2) {
    const weights = state.weights.map((w, k) => w - step * (direction[k] as number));
    const value = objective(design, label, weights, l2, margin);
    if (value < state.objective) return { weights, objective: value, margin };
  }
  return null;
}
