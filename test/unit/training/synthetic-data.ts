import { MISSING_CODE, type FeatureMatrix } from '../../../domain/training/feature-matrix.ts';
import { Prng } from '../../../domain/training/prng.ts';

/**
 * A seeded synthetic binary problem with a known signal: the log-odds are linear in `x`, quadratic in
 * `bump`, a step in `step`, plus a per-category effect of `city` and `carrier`; `noise` is pure noise.
 * Missing values appear at `missingRate` in every feature. With `unseenCategories`, a share of rows
 * carry cities the training data never had (as a later month brings new airports).
 */
export interface SyntheticOptions {
  rows: number;
  seed: number;
  missingRate?: number;
  unseenCategories?: boolean;
}

const CITIES = 30;
const CARRIERS = 6;

export function syntheticMatrix({ rows, seed, missingRate = 0, unseenCategories = false }: SyntheticOptions): FeatureMatrix {
  const prng = new Prng(seed);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * prng.next();
  const x = new Float64Array(rows);
  const bump = new Float64Array(rows);
  const step = new Float64Array(rows);
  const noise = new Float64Array(rows);
  const city = new Int32Array(rows);
  const carrier = new Int32Array(rows);
  const label = new Uint8Array(rows);
  const cityNames = Array.from({ length: CITIES + (unseenCategories ? 5 : 0) }, (_, i) => `city-${i}`);
  const carrierNames = Array.from({ length: CARRIERS }, (_, i) => `carrier-${i}`);
  const maybeMissing = (value: number) => (prng.next() < missingRate ? NaN : value);

  for (let i = 0; i < rows; i++) {
    const xi = uniform(-2, 2);
    const bi = uniform(-2, 2);
    const si = uniform(0, 10);
    const ci = unseenCategories && prng.next() < 0.2 ? CITIES + prng.nextInt(5) : prng.nextInt(CITIES);
    const ki = prng.nextInt(CARRIERS);
    const logit = 1.2 * xi - 0.8 * bi * bi + (si > 6 ? 1.5 : 0) + ((ci % 7) - 3) * 0.4 + (ki === 2 ? 1 : 0) - 0.5;
    label[i] = prng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    x[i] = maybeMissing(xi);
    bump[i] = maybeMissing(bi);
    step[i] = maybeMissing(si);
    noise[i] = maybeMissing(uniform(0, 1));
    city[i] = prng.next() < missingRate ? MISSING_CODE : ci;
    carrier[i] = prng.next() < missingRate ? MISSING_CODE : ki;
  }
  return {
    rows,
    numeric: { names: ['x', 'bump', 'step', 'noise'], columns: [x, bump, step, noise] },
    categorical: {
      names: ['city', 'carrier'],
      columns: [
        { dictionary: cityNames, codes: city },
        { dictionary: carrierNames, codes: carrier },
      ],
    },
    label,
  };
}
