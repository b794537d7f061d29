import type { DuckDBConnection } from '@duckdb/node-api';
import type { ReferenceStats } from '../../shared/data/feature-tables.ts';
import type { FeatureKind, LabelKind } from '../../shared/data/feature-spec.ts';
import { quoteIdentifier as q, quoteString } from './expression/expression-sql.ts';
import { binHistogramSql, readBinHistogram } from './bin-histogram.ts';

/**
 * Reference statistics of a feature table (normally the training split), for drift detection later:
 * quantile bins, moments and NULL rate for numeric features, top categories for categorical ones,
 * and the label's positive rate. Everything is exact over the whole table except where the bin edges
 * fall: those are exact quantiles (quantile_disc) of every k-th row in file order, at most
 * EDGE_SAMPLE_ROWS rows, which is deterministic (a rebuild gives the same edges) and, for drift bins,
 * as good as the full sort at a fraction of its cost. Bin counts are then exact for those edges.
 */

const EDGE_SAMPLE_ROWS = 200_000;

type Features = { name: string; kind: FeatureKind }[];

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const int = (v: unknown): number => Number(v ?? 0);

export async function computeReferenceStats(
  db: DuckDBConnection,
  parquetPaths: string | readonly string[],
  table: { features: Features; label: string; labelKind?: LabelKind },
  options: { bins: number; topCategories: number },
): Promise<Omit<ReferenceStats, 'kind' | 'featureSpecHash' | 'datasetVersion' | 'split'>> {
  const files = `[${(typeof parquetPaths === 'string' ? [parquetPaths] : parquetPaths).map(quoteString).join(', ')}]`;
  const relation = `read_parquet(${files})`;
  const numeric = table.features.filter((f) => f.kind === 'numeric');
  const categorical = table.features.filter((f) => f.kind === 'categorical');
  const fractions = Array.from({ length: options.bins - 1 }, (_, i) => (i + 1) / options.bins);

  const moments = [
    'count(*) AS rows',
    // Only a yes/no label has positives; other kinds record 0 positives and no rate.
    (table.labelKind ?? 'binary') === 'binary' ? `count(*) FILTER (WHERE ${q(table.label)}) AS positives` : '0 AS positives',
    `count(${q(table.label)}) AS labelled`,
    ...numeric.flatMap((f, i) => [
      `count(${q(f.name)}) AS n${i}`,
      `avg(${q(f.name)}) AS mean${i}`,
      `stddev_pop(${q(f.name)}) AS std${i}`,
      `min(${q(f.name)}) AS min${i}`,
      `max(${q(f.name)}) AS max${i}`,
    ]),
    ...categorical.flatMap((f, i) => [`count(${q(f.name)}) AS cn${i}`, `count(DISTINCT ${q(f.name)}) AS distinct${i}`]),
  ];
  const first = (await db.runAndReadAll(`SELECT ${moments.join(', ')} FROM ${relation}`)).getRowObjectsJS()[0] ?? {};
  const rows = int(first.rows);

  let edges: number[][] = numeric.map(() => []);
  const binCounts: number[][] = numeric.map(() => []);
  if (numeric.length) {
    const every = Math.max(1, Math.ceil(rows / EDGE_SAMPLE_ROWS));
    const quantiles = numeric.map((f, i) => `quantile_disc(${q(f.name)}, [${fractions.join(', ')}]) AS quantiles${i}`);
    const sampled =
      (await db.runAndReadAll(`SELECT ${quantiles.join(', ')} FROM read_parquet(${files}, file_row_number = true) WHERE file_row_number % ${every} = 0`)).getRowObjectsJS()[0] ?? {};
    edges = numeric.map((_, i) => [...new Set(((sampled[`quantiles${i}`] as (number | null)[] | null) ?? []).filter((e): e is number => e !== null))].sort((a, b) => a - b));

    const histograms = numeric.map((f, i) => `${binHistogramSql(q(f.name), edges[i] ?? [])} AS h${i}`);
    const counted = (await db.runAndReadAll(`SELECT ${histograms.join(', ')} FROM ${relation}`)).getRowObjectsJS()[0] ?? {};
    numeric.forEach((_, i) => binCounts[i]?.push(...readBinHistogram(counted[`h${i}`], edges[i] ?? [])));
  }

  const features: ReferenceStats['features'] = [];
  for (const f of table.features) {
    const i = numeric.indexOf(f);
    if (i >= 0) {
      const present = int(first[`n${i}`]);
      features.push({
        name: f.name,
        kind: 'numeric',
        rows,
        nullCount: rows - present,
        nullRate: rows ? (rows - present) / rows : 0,
        mean: num(first[`mean${i}`]),
        std: num(first[`std${i}`]),
        min: num(first[`min${i}`]),
        max: num(first[`max${i}`]),
        binEdges: edges[i] ?? [],
        binCounts: binCounts[i] ?? [],
      });
      continue;
    }
    const c = categorical.indexOf(f);
    const present = int(first[`cn${c}`]);
    const top = (
      await db.runAndReadAll(`SELECT ${q(f.name)} AS value, count(*) AS n FROM ${relation} WHERE ${q(f.name)} IS NOT NULL GROUP BY ALL ORDER BY n DESC, value LIMIT ${options.topCategories}`)
    )
      .getRowObjectsJS()
      .map((r) => ({ value: String(r.value as string), count: int(r.n), frequency: rows ? int(r.n) / rows : 0 }));
    const inTop = top.reduce((sum, t) => sum + t.count, 0);
    features.push({
      name: f.name,
      kind: 'categorical',
      rows,
      nullCount: rows - present,
      nullRate: rows ? (rows - present) / rows : 0,
      distinct: int(first[`distinct${c}`]),
      top,
      otherCount: present - inTop,
      otherFrequency: rows ? (present - inTop) / rows : 0,
    });
  }

  const labelled = int(first.labelled);
  return {
    rows,
    label: { name: table.label, positives: int(first.positives), positiveRate: labelled && (table.labelKind ?? 'binary') === 'binary' ? int(first.positives) / labelled : null },
    features,
  };
}
