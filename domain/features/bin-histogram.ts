/**
 * Counting numeric values into the bins that sorted `edges` define (bin j holds edges[j-1] <= x <
 * edges[j]; the last bin x >= the last edge, and NaN, as SQL orders it), in DuckDB, one pass for any number of columns.
 * The reference statistics and every drift window count with this one definition, so their bins agree.
 *
 * DuckDB's `histogram(x, boundaries)` counts x <= boundary with a binary search; x < edge is the same
 * as x <= the largest double below the edge, so those are the boundaries. Measured on 1 M rows × 70
 * columns with 11 edges each (2 threads): 1.6 s, where a CASE chain per value took 7.2 s.
 */

const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * The largest double below `x` (x finite), as histogram() compares: it treats subnormal numbers as
 * zero, so an edge at or next to zero gets the nearest normal boundary below it instead.
 */
function below(x: number): number {
  if (Math.abs(x) <= MIN_NORMAL) return x > 0 ? 0 : -MIN_NORMAL;
  const bits = new BigInt64Array(new Float64Array([x]).buffer);
  bits[0] = (bits[0] as bigint) + (x > 0 ? -1n : 1n);
  return new Float64Array(bits.buffer)[0] as number;
}

/** A SQL aggregate over the non-null values of `column` whose result `readBinHistogram` reads. */
export function binHistogramSql(column: string, edges: readonly number[]): string {
  if (edges.length === 0) return `count(${column})`;
  const x = `${column}::DOUBLE`;
  // Exponent notation makes DuckDB read a DOUBLE (a plain decimal literal goes through DECIMAL and can round).
  const boundaries = edges.map((e) => below(e).toExponential(16)).join(', ');
  // NaN is above every number in DuckDB's comparisons, but histogram() bins it first: counted apart
  // and moved. No FILTER clauses (aggregates skip NULLs anyway): at 70 columns they tripled the time.
  return `struct_pack(bins := histogram(${x}, [${boundaries}]), nan := sum(isnan(${x})::INTEGER))`;
}

/** Counts per bin (edges.length + 1 of them) from what `binHistogramSql` returned. */
export function readBinHistogram(result: unknown, edges: readonly number[]): number[] {
  const bins = new Array<number>(edges.length + 1).fill(0);
  if (edges.length === 0) {
    bins[0] = Number(result ?? 0);
    return bins;
  }
  const { bins: counted, nan } = result as { bins: { key: unknown; value: unknown }[] | null; nan: unknown };
  const binOf = new Map(edges.map((e, j) => [below(e), j]));
  // Values above every boundary come back under a key of their own: the last bin, with NaN.
  for (const { key, value } of counted ?? []) {
    const j = binOf.get(Number(key)) ?? edges.length;
    bins[j] = (bins[j] as number) + Number(value ?? 0);
  }
  const nans = Number(nan ?? 0);
  bins[0] = (bins[0] as number) - nans;
  bins[edges.length] = (bins[edges.length] as number) + nans;
  return bins;
}
