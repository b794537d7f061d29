import type { DuckDBConnection } from '@duckdb/node-api';
import type { ReferenceStats } from '../../shared/data/feature-tables.ts';
import type { FeatureKind } from '../../shared/data/feature-spec.ts';
import { quoteIdentifier as q } from './expression-sql.ts';

/**
 * Reference statistics of a feature table (normally the training split), for drift detection later:
 * quantile bins, moments and NULL rate for numeric features, top categories for categorical ones,
 * and the label's positive rate. Exact quantiles (quantile_disc), so a rebuild gives the same numbers.
 */

type Features = { name: string; kind: FeatureKind }[];

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const int = (v: unknown): number => Number(v ?? 0);

export async function computeReferenceStats(
  db: DuckDBConnection,
  relation: string,
  table: { features: Features; label: string },
  options: { bins: number; topCategories: number },
): Promise<Omit<ReferenceStats, 'kind' | 'featureSpecHash' | 'datasetVersion' | 'split'>> {
  const numeric = table.features.filter((f) => f.kind === 'numeric');
  const categorical = table.features.filter((f) => f.kind === 'categorical');
  const fractions = Array.from({ length: options.bins - 1 }, (_, i) => (i + 1) / options.bins);

  const moments = [
    'count(*) AS rows',
    `count(*) FILTER (WHERE ${q(table.label)}) AS positives`,
    `count(${q(table.label)}) AS labelled`,
    ...numeric.flatMap((f, i) => [
      `count(${q(f.name)}) AS n${i}`,
      `avg(${q(f.name)}) AS mean${i}`,
      `stddev_pop(${q(f.name)}) AS std${i}`,
      `min(${q(f.name)}) AS min${i}`,
      `max(${q(f.name)}) AS max${i}`,
      `quantile_disc(${q(f.name)}, [${fractions.join(', ')}]) AS quantiles${i}`,
    ]),
    ...categorical.flatMap((f, i) => [`count(${q(f.name)}) AS cn${i}`, `count(DISTINCT ${q(f.name)}) AS distinct${i}`]),
  ];
  const first = (await db.runAndReadAll(`SELECT ${moments.join(', ')} FROM ${relation}`)).getRowObjectsJS()[0] ?? {};
  const rows = int(first.rows);
  const edges = numeric.map((_, i) => [...new Set(((first[`quantiles${i}`] as (number | null)[] | null) ?? []).filter((e): e is number => e !== null))].sort((a, b) => a - b));

  const binCounts: number[][] = numeric.map(() => []);
  const bins = numeric.flatMap((f, i) => {
    const cuts = edges[i] ?? [];
    const bin = `CASE ${cuts.map((e, j) => `WHEN ${q(f.name)} < ${e} THEN ${j}`).join(' ')} ELSE ${cuts.length} END`;
    return Array.from({ length: cuts.length + 1 }, (_, j) => `count(*) FILTER (WHERE ${q(f.name)} IS NOT NULL AND (${cuts.length ? bin : '0'}) = ${j}) AS b${i}_${j}`);
  });
  if (bins.length) {
    const counted = (await db.runAndReadAll(`SELECT ${bins.join(', ')} FROM ${relation}`)).getRowObjectsJS()[0] ?? {};
    numeric.forEach((_, i) => {
      for (let j = 0; j <= (edges[i]?.length ?? 0); j++) binCounts[i]?.push(int(counted[`b${i}_${j}`]));
    });
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
    label: { name: table.label, positives: int(first.positives), positiveRate: labelled ? int(first.positives) / labelled : null },
    features,
  };
}
