import { SluiceError } from '../../../shared/errors.ts';

/**
 * Solves A x = b for a symmetric positive-definite A (row-major n × n) by Cholesky factorisation.
 * Newton steps for L2-regularised logistic regression always give such a system; failure means the
 * problem is numerically degenerate, which is reported rather than papered over.
 */

export class NotPositiveDefiniteError extends SluiceError {
  override readonly name = 'NotPositiveDefiniteError';
  readonly kind = 'Internal';
}

export function solvePositiveDefinite(a: Float64Array, b: Float64Array, n: number): Float64Array {
  // Lower-triangular L with A = L Lᵀ, written over a copy of A.
  const l = a.slice();
  for (let j = 0; j < n; j++) {
    let diagonal = l[j * n + j] as number;
    for (let k = 0; k < j; k++) diagonal -= (l[j * n + k] as number) ** 2;
    if (!(diagonal > 0)) throw new NotPositiveDefiniteError(`Pivot ${j} is ${diagonal}; the Hessian is not positive definite`);
    const root = Math.sqrt(diagonal);
    l[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let sum = l[i * n + j] as number;
      for (let k = 0; k < j; k++) sum -= (l[i * n + k] as number) * (l[j * n + k] as number);
      l[i * n + j] = sum / root;
    }
  }
  // L y = b, then Lᵀ x = y.
  const x = b.slice();
  for (let i = 0; i < n; i++) {
    let sum = x[i] as number;
    for (let k = 0; k < i; k++) sum -= (l[i * n + k] as number) * (x[k] as number);
    x[i] = sum / (l[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = x[i] as number;
    for (let k = i + 1; k < n; k++) sum -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = sum / (l[i * n + i] as number);
  }
  return x;
}
