import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  binCentres,
  chiSquare,
  jensenShannon,
  kolmogorovQ,
  kolmogorovSmirnov,
  logGamma,
  normalisedWasserstein,
  psi,
  upperGammaQ,
} from '../../../domain/monitoring/drift-statistics.ts';

const close = (actual: number, expected: number, tolerance = 1e-6) => assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

describe('drift statistics, checked by hand', () => {
  test('PSI of 50/50 against 25/75 is 0.25·ln 2 + 0.25·ln 1.5', () => {
    // (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5)
    close(psi([500, 500], [25, 75], 1e-4), 0.25 * Math.log(2) + 0.25 * Math.log(1.5));
    close(psi([500, 500], [25, 75], 1e-4), 0.274653, 1e-6);
    assert.equal(psi([10, 20, 30], [1, 2, 3], 1e-4), 0);
  });

  test('PSI floors an empty bin at epsilon instead of going infinite', () => {
    // shares [0.5, 0.5] vs [1, 0→1e-4]: (1 − 0.5)·ln 2 + (1e-4 − 0.5)·ln(1e-4 / 0.5)
    close(psi([1, 1], [4, 0], 1e-4), 0.5 * Math.log(2) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5));
  });

  test('Jensen–Shannon distance (base 2) of 50/50 against 25/75 is 0.2209', () => {
    // m = [0.375, 0.625]; KL(p‖m) = 0.5·log2(0.5/0.375) + 0.5·log2(0.5/0.625) = 0.0465545
    // KL(q‖m) = 0.25·log2(0.25/0.375) + 0.75·log2(0.75/0.625) = 0.0510349; JSD = 0.0487947
    close(jensenShannon([1, 1], [1, 3]), Math.sqrt(0.0487947), 1e-6);
    close(jensenShannon([1, 1], [1, 3]), 0.220895, 1e-5);
    close(jensenShannon([1, 0], [0, 1]), 1);
    assert.equal(jensenShannon([3, 4], [6, 8]), 0);
  });

  test('Wasserstein over bin centres: all mass moving one bin is the centre distance over the scale', () => {
    // edges [1, 2] on [0, 3]: centres 0.5, 1.5, 2.5
    assert.deepEqual(binCentres([1, 2], 0, 3), [0.5, 1.5, 2.5]);
    close(normalisedWasserstein([1, 0, 0], [0, 1, 0], [0.5, 1.5, 2.5], 1), 1);
    close(normalisedWasserstein([1, 0, 0], [0, 0, 1], [0.5, 1.5, 2.5], 2), 1);
    // half the mass moves by one bin: 0.5·1 / 1
    close(normalisedWasserstein([2, 0, 0], [1, 1, 0], [0.5, 1.5, 2.5], 1), 0.5);
  });

  test('log Γ and the regularised upper incomplete gamma match tables', () => {
    close(logGamma(5), Math.log(24), 1e-12);
    close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12);
    // chi-square survival: df 1 at 3.841459 and df 2 at 5.991465 are the 5% critical values; df 2 is exactly e^(−x/2)
    close(upperGammaQ(0.5, 3.841459 / 2), 0.05, 1e-6);
    close(upperGammaQ(1, 5.991465 / 2), 0.05, 1e-6);
    close(upperGammaQ(1, 1), Math.exp(-1), 1e-12);
    close(upperGammaQ(5, 2), 0.947347, 1e-6);
  });

  test('chi-square of 60/40 against an even split of 100: (10² + 10²)/50 = 4, p = 0.0455', () => {
    const result = chiSquare([500, 500], [60, 40]);
    close(result.statistic, 4);
    assert.equal(result.degreesOfFreedom, 1);
    close(result.pValue, 0.0455003, 1e-6);
  });

  test('Kolmogorov distribution and the binned two-sample KS test', () => {
    close(kolmogorovQ(1.36), 0.0494, 1e-4);
    close(kolmogorovQ(1.63), 0.0098, 1e-4);
    // CDFs 0.5, 1 against 0.25, 1: D = 0.25
    const ks = kolmogorovSmirnov([50, 50], [25, 75]);
    close(ks.statistic, 0.25);
    // n·m/(n+m) = 50, λ = (√50 + 0.12 + 0.11/√50)·0.25
    close(ks.pValue, kolmogorovQ((Math.sqrt(50) + 0.12 + 0.11 / Math.sqrt(50)) * 0.25), 1e-12);
    // λ ≈ 1.8017: the series is 2·e^(−2λ²) to 1e-10, about 0.00303
    close(ks.pValue, 0.00303, 2e-5);
  });
});
