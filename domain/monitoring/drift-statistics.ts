/**
 * Distances between a reference and a current distribution given as counts over the same bins. Pure
 * functions: DuckDB counts, these compare. Shares are counts over their total; an all-zero side is a
 * caller error (the report does not judge empty windows).
 */

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

export function shares(counts: readonly number[]): number[] {
  const total = sum(counts);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

/** Population stability index Σ (c − r)·ln(c / r), each share floored at `epsilon` so empty bins stay finite. */
export function psi(reference: readonly number[], current: readonly number[], epsilon: number): number {
  const r = shares(reference);
  const c = shares(current);
  let total = 0;
  for (let i = 0; i < r.length; i++) {
    const ri = Math.max(r[i] as number, epsilon);
    const ci = Math.max(c[i] ?? 0, epsilon);
    total += (ci - ri) * Math.log(ci / ri);
  }
  return total;
}

/** Jensen–Shannon distance (square root of the divergence, base 2): 0 for equal, 1 for disjoint distributions. */
export function jensenShannon(reference: readonly number[], current: readonly number[]): number {
  const p = shares(reference);
  const q = shares(current);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] as number;
    const qi = q[i] ?? 0;
    const mi = (pi + qi) / 2;
    if (pi > 0) divergence += 0.5 * pi * Math.log2(pi / mi);
    if (qi > 0) divergence += 0.5 * qi * Math.log2(qi / mi);
  }
  return Math.sqrt(Math.max(0, divergence));
}

/**
 * Bin centres of quantile bins: the outer bins reach from the reference min to the first edge and
 * from the last edge to the reference max.
 */
export function binCentres(edges: readonly number[], min: number, max: number): number[] {
  if (edges.length === 0) return [(min + max) / 2];
  const bounds = [Math.min(min, edges[0] as number), ...edges, Math.max(max, edges[edges.length - 1] as number)];
  return bounds.slice(1).map((upper, i) => ((bounds[i] as number) + upper) / 2);
}

/**
 * First Wasserstein (earth mover's) distance with each bin's mass at its centre, Σ |F_r − F_c|·Δx
 * over consecutive centres, divided by `scale` (the reference standard deviation) so one threshold
 * fits every feature: 0.25 means a quarter of a standard deviation of mass moved.
 */
export function normalisedWasserstein(reference: readonly number[], current: readonly number[], centres: readonly number[], scale: number): number {
  const r = shares(reference);
  const c = shares(current);
  let cumR = 0;
  let cumC = 0;
  let distance = 0;
  for (let i = 0; i < centres.length - 1; i++) {
    cumR += r[i] ?? 0;
    cumC += c[i] ?? 0;
    distance += Math.abs(cumR - cumC) * ((centres[i + 1] as number) - (centres[i] as number));
  }
  return scale > 0 ? distance / scale : 0;
}

/** Regularised upper incomplete gamma Q(a, x) (Numerical Recipes: series below a + 1, continued fraction above). */
export function upperGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnFront = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let total = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      total += term;
      if (Math.abs(term) < Math.abs(total) * 1e-15) break;
    }
    return Math.max(0, 1 - total * Math.exp(lnFront));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(lnFront) * h);
}

/** ln Γ(x) by the Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0. */
export function logGamma(x: number): number {
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = g[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (g[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Pearson's chi-square test of the current counts against the reference shares (goodness of fit). A
 * bin the reference never saw expects half a reference row's share, so the statistic stays finite
 * and a new category still weighs heavily.
 */
export function chiSquare(reference: readonly number[], current: readonly number[]): { statistic: number; degreesOfFreedom: number; pValue: number } {
  const r = shares(reference);
  const floor = 0.5 / Math.max(1, sum(reference));
  const n = sum(current);
  let statistic = 0;
  for (let i = 0; i < r.length; i++) {
    const expected = Math.max(r[i] as number, floor) * n;
    statistic += ((current[i] ?? 0) - expected) ** 2 / expected;
  }
  const degreesOfFreedom = Math.max(1, r.length - 1);
  return { statistic, degreesOfFreedom, pValue: n > 0 ? upperGammaQ(degreesOfFreedom / 2, statistic / 2) : 1 };
}

/** Kolmogorov's limiting distribution Q(λ) = 2 Σ (−1)^(k−1) e^(−2k²λ²). */
export function kolmogorovQ(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let total = 0;
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    total += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, total));
}

/**
 * Two-sample Kolmogorov–Smirnov test on binned data: D is the largest CDF gap at the bin edges (a
 * lower bound of the unbinned D), the p-value uses the effective size n·m/(n+m) with Stephens'
 * small-sample correction.
 */
export function kolmogorovSmirnov(reference: readonly number[], current: readonly number[]): { statistic: number; pValue: number } {
  const r = shares(reference);
  const c = shares(current);
  let cumR = 0;
  let cumC = 0;
  let statistic = 0;
  for (let i = 0; i < r.length; i++) {
    cumR += r[i] as number;
    cumC += c[i] ?? 0;
    statistic = Math.max(statistic, Math.abs(cumR - cumC));
  }
  const n = sum(reference);
  const m = sum(current);
  const effective = n + m > 0 ? (n * m) / (n + m) : 0;
  const root = Math.sqrt(effective);
  return { statistic, pValue: kolmogorovQ((root + 0.12 + 0.11 / Math.max(root, 1e-9)) * statistic) };
}
