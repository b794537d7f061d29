import type { FeatureMatrix } from '../../domain/training/feature-matrix.ts';
import { Prng } from '../../domain/training/prng.ts';

/**
 * A small matrix with a real signal: the label depends on `x` and on category `c`, so trained models
 * score rows differently and a wrong wiring shows up in metrics.
 */
export function syntheticMatrix(rows: number, seed = 1): FeatureMatrix {
  const rng = new Prng(seed);
  const x = new Float64Array(rows);
  const noise = new Float64Array(rows);
  const codes = new Int32Array(rows);
  const label = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    x[i] = rng.next() * 4 - 2;
    noise[i] = rng.next();
    codes[i] = Math.floor(rng.next() * 3);
    const logit = 1.5 * (x[i] as number) + ((codes[i] as number) === 2 ? 1 : -0.5);
    label[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return {
    rows,
    numeric: { names: ['x', 'noise'], columns: [x, noise] },
    categorical: { names: ['c'], columns: [{ dictionary: ['a', 'b', 'c'], codes }] },
    label,
  };
}
