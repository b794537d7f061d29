import { canonicalJson } from '../../shared/data/canonical-json.ts';
import { type Expr, columnsOf } from '../../shared/data/expression.ts';
import type { ValueType } from '../../shared/data/expression-types.ts';
import { type AnalysedFeatureSpec, type FeatureSpec, type KnownAt, LABEL_VALUE_TYPE, type ResolvedSplit, analysedFeatureSpec, featureTableColumns } from '../../shared/data/feature-spec.ts';
import { formatTimestampUtc } from '../../shared/data/timestamp.ts';
import { columnReadSql, expressionToSql, quoteIdentifier as q, quoteString } from './expression/expression-sql.ts';

/**
 * The SQL that turns raw events into point-in-time correct feature tables, and the same aggregates
 * as of one instant for the online store. Pure text generation; `build-features.ts` runs it.
 *
 * Windowed aggregates without a range self-join: per group-by key set ("family"), every value is a
 * contribution at the time it became known; contributions are summed per (group, time) and turned into
 * running totals C. The sum over [t - w, t) is then C(< t) - C(< t - w), where each C(< x) is one ASOF
 * join picking the last running total of the group strictly before x. Cost: one sort per family and
 * two ASOF joins per distinct window, instead of a join whose size grows with events per window.
 * Counts are exact integers; sums are differences of running totals in DOUBLE.
 *
 * Temp tables (per DuckDB connection): __events (one row per event: keys, time, the raw inputs of
 * row-level features, label, the time the label became known, aggregate inputs), __cum_<i> (running
 * totals per family), __features (the finished rows, before the split filter).
 */

/** One distinct aggregate input of a family: the values of one `of` expression known at one kind of time. */
interface Measure {
  /** Column of __events holding the value (DOUBLE), or undefined when every event counts 1. */
  valueColumn: string | undefined;
  knownAt: KnownAt;
  /** Whether any aggregate needs the sum (mean, sum) and not only the count. */
  summed: boolean;
}

export interface AggregateFamily {
  /** Index in `families`; names the temp table __cum_<index>. */
  index: number;
  groupBy: string[];
  measures: Measure[];
  /** Distinct window lengths in minutes; each costs one ASOF join. */
  windows: number[];
  aggregates: { name: string; fn: 'count' | 'sum' | 'mean'; measure: number; windowMinutes: number }[];
}

export interface FeaturePlan {
  spec: FeatureSpec;
  analysed: AnalysedFeatureSpec;
  families: AggregateFamily[];
  /** Output column names in table order: entity keys, event time, features, label. */
  outputColumns: string[];
  /** Builds __events (or `table`) from `source` (a relation: table name or read_parquet(...)). */
  eventsSql(source: string, table?: string): string;
  /** Builds the __cum_<i> tables from __events. */
  cumulativeSql(): string[];
  /**
   * Builds __features from __events and the __cum tables; with `afterRow`, only for events numbered
   * after it (an incremental build's appended events: the lookback's rows already have features).
   */
  featuresSql(afterRow?: number): string;
  /**
   * The rows of one split (bounds resolved by `resolveSplits`), in event-time order, ready for COPY ... TO;
   * with `afterRow`, only events numbered after it (the events an incremental build appended).
   */
  splitSql(split: ResolvedSplit, afterRow?: number): string;
  /**
   * Builds __events from `lookback` (a relation of earlier __events rows) and the table `appended`
   * (built by `eventsSql`), whose events are renumbered after `rowOffset`.
   */
  appendEventsSql(appended: string, lookback: string, rowOffset: number): string;
  /**
   * The __events rows a later append needs: every contribution that can fall in a window of an event
   * after `newestEventMs` (known, by event or label time, at or after newest - the longest window).
   */
  lookbackSql(newestEventMs: number): string;
  /**
   * Aggregate values of one family as of each instant in the table `asOfTable` (column __as_of):
   * what an event at that instant would see. Groups with nothing known before the instant are left out.
   */
  snapshotSql(family: AggregateFamily, asOfTable: string): string;
}

const valueColumnSql = (e: Expr, sql: (e: Expr) => string, type: ValueType) => (type === 'boolean' ? `CAST(${sql(e)} AS DOUBLE)` : sql(e));

export function planFeatures(spec: FeatureSpec, sourceTypes: Readonly<Record<string, string>>): FeaturePlan {
  const analysed = analysedFeatureSpec(spec);
  const columns = spec.columns;
  const read = (name: string) => {
    const duckdbType = sourceTypes[name];
    if (duckdbType === undefined) throw new Error(`planFeatures: no DuckDB type for column "${name}"`);
    return columnReadSql(q(name), duckdbType);
  };
  const labelTypes: Record<string, ValueType> = { ...columns, [spec.label.name]: LABEL_VALUE_TYPE[spec.label.kind ?? 'binary'] };
  const sql = (e: Expr) => expressionToSql(e, labelTypes, read);

  // Distinct aggregate inputs across all families, so two aggregates of the same expression share a column.
  const valueColumns = new Map<string, { column: string; expr: Expr }>();
  const valueColumnOf = (of: Expr | undefined): string | undefined => {
    if (!of) return undefined;
    const key = canonicalJson(of);
    let found = valueColumns.get(key);
    if (!found) {
      found = { column: `__v${valueColumns.size}`, expr: of };
      valueColumns.set(key, found);
    }
    return found.column;
  };

  const families: AggregateFamily[] = [];
  for (const a of analysed.aggregates) {
    const groupKey = canonicalJson(a.groupBy);
    let family = families.find((f) => canonicalJson(f.groupBy) === groupKey);
    if (!family) {
      family = { index: families.length, groupBy: [...a.groupBy], measures: [], windows: [], aggregates: [] };
      families.push(family);
    }
    const valueColumn = valueColumnOf(a.of);
    let measure = family.measures.findIndex((m) => m.valueColumn === valueColumn && m.knownAt === a.knownAt);
    if (measure < 0) {
      measure = family.measures.length;
      family.measures.push({ valueColumn, knownAt: a.knownAt, summed: false });
    }
    if (a.fn !== 'count') (family.measures[measure] as Measure).summed = true;
    if (!family.windows.includes(a.windowMinutes)) family.windows.push(a.windowMinutes);
    family.aggregates.push({ name: a.name, fn: a.fn, measure, windowMinutes: a.windowMinutes });
  }

  const eventTime = read(spec.eventTime);
  const table = featureTableColumns(spec);
  const outputColumns = [...table.entityKeys, table.eventTime, ...table.features.map((f) => f.name), table.label];

  // Raw columns row-level features read besides the keys and the event time, kept in __events (already
  // read as their language types) so row features are computed after the joins, from narrow rows.
  const rowInputs = [...new Set(analysed.rowFeatures.flatMap((f) => columnsOf(f.expr)))].filter((c) => c !== spec.eventTime && !spec.entityKeys.includes(c));
  const inEvents = (alias: string) => (name: string) =>
    name === spec.eventTime ? `${alias}.__t` : spec.entityKeys.includes(name) ? `${alias}.${q(name)}` : `${alias}.__r${rowInputs.indexOf(name)}`;
  const rowFeatureSql = (alias: string) =>
    analysed.rowFeatures.map((f) => `${valueColumnSql(f.expr, (e) => expressionToSql(e, columns, inEvents(alias)), f.type)} AS ${q(f.name)}`);

  const eventsSql = (source: string, table = '__events') => {
    const availableAt = sql(analysed.label.availableAt);
    const select = [
      'row_number() OVER () AS __row',
      ...spec.entityKeys.map((k) => `${read(k)} AS ${q(k)}`),
      `${eventTime} AS __t`,
      ...rowInputs.map((c, i) => `${read(c)} AS __r${i}`),
      `${sql(analysed.label.expr)} AS __label`,
      // A label is never known before its own event: max(availableAt, event time), NULL when never.
      `CASE WHEN ${availableAt} IS NULL THEN NULL ELSE greatest(${availableAt}, ${eventTime}) END AS __known`,
      ...[...valueColumns.values()].map((v) => `CAST(${sql(v.expr)} AS DOUBLE) AS ${v.column}`),
    ];
    return `CREATE OR REPLACE TEMP TABLE ${table} AS SELECT ${select.join(',\n  ')}\nFROM ${source}\nWHERE ${eventTime} IS NOT NULL`;
  };

  const cumulativeSql = () =>
    families.map((family) => {
      const keys = family.groupBy.map(q);
      const keysPresent = keys.map((k) => `${k} IS NOT NULL`).join(' AND ');
      const columnsOf = (m: Measure, i: number) => (m.summed ? [`__n${i}`, `__s${i}`] : [`__n${i}`]);
      const contributions = (kind: KnownAt) => {
        const parts = family.measures.flatMap((m, i) => {
          const mine = m.knownAt === kind;
          const n = !mine ? '0' : m.valueColumn ? `CAST(${m.valueColumn} IS NOT NULL AS BIGINT)` : '1';
          const s = !mine ? 'CAST(0 AS DOUBLE)' : m.valueColumn ? `coalesce(${m.valueColumn}, 0)` : 'CAST(1 AS DOUBLE)';
          return m.summed ? [`${n} AS __n${i}`, `${s} AS __s${i}`] : [`${n} AS __n${i}`];
        });
        const time = kind === 'event' ? '__t' : '__known';
        return `SELECT ${keys.join(', ')}, ${time} AS __k, ${parts.join(', ')} FROM __events WHERE ${keysPresent}${kind === 'label' ? ' AND __known IS NOT NULL' : ''}`;
      };
      // One zero row per group at -infinity: the "strictly before t - w" lookup then always finds a
      // row of the group once the group exists, so every window is a difference of two running totals.
      const sentinel = `SELECT DISTINCT ${keys.join(', ')}, TIMESTAMP '-infinity' AS __k, ${family.measures.flatMap((m, i) => columnsOf(m, i).map((c) => `0 AS ${c}`)).join(', ')} FROM __events WHERE ${keysPresent}`;
      const kinds = (['event', 'label'] as const).filter((kind) => family.measures.some((m) => m.knownAt === kind));
      const sums = family.measures.flatMap(columnsOf);
      // Running totals over the whole table ordered by (group, time), not per partition: DuckDB computes
      // one ordered frame several times faster than many partitioned ones, and a group's offset cancels
      // out of every difference of two totals within that group.
      return [
        `CREATE OR REPLACE TEMP TABLE __cum_${family.index} AS`,
        `SELECT ${keys.join(', ')}, __k, ${sums.map((c) => `sum(${c}) OVER w AS ${c}`).join(', ')}`,
        `FROM (SELECT ${keys.join(', ')}, __k, ${sums.map((c) => `sum(${c}) AS ${c}`).join(', ')}`,
        `  FROM (${[...kinds.map(contributions), sentinel].join('\n  UNION ALL ')})`,
        `  GROUP BY ${keys.join(', ')}, __k)`,
        `WINDOW w AS (ORDER BY ${keys.join(', ')}, __k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`,
      ].join('\n');
    });

  /** ASOF joins of `left` (alias) at `time` against every window of `family`, and the aggregate outputs. */
  const aggregateJoins = (family: AggregateFamily, left: string, time: string) => {
    const on = (alias: string, at: string) => `${family.groupBy.map((k) => `${left}.${q(k)} = ${alias}.${q(k)}`).join(' AND ')} AND ${at} > ${alias}.__k`;
    const now = `__c${family.index}_now`;
    const past = (w: number) => `__c${family.index}_w${w}`;
    const joins = [
      `ASOF LEFT JOIN __cum_${family.index} AS ${now} ON ${on(now, time)}`,
      ...family.windows.map((w) => `ASOF LEFT JOIN __cum_${family.index} AS ${past(w)} ON ${on(past(w), `${time} - INTERVAL ${w} MINUTE`)}`),
    ];
    // A group never seen matches nothing on either side: 0 - 0.
    const delta = (column: string, w: number) => `(coalesce(${now}.${column}, 0) - coalesce(${past(w)}.${column}, 0))`;
    const outputs = family.aggregates.map((a) => {
      const n = delta(`__n${a.measure}`, a.windowMinutes);
      const s = delta(`__s${a.measure}`, a.windowMinutes);
      switch (a.fn) {
        case 'count':
          return `CAST(${n} AS DOUBLE) AS ${q(a.name)}`;
        case 'sum':
          return `${s} AS ${q(a.name)}`;
        case 'mean':
          return `CASE WHEN ${n} = 0 THEN NULL ELSE ${s} / ${n} END AS ${q(a.name)}`;
      }
    });
    return { joins, outputs, now };
  };

  const featuresSql = (afterRow?: number) => {
    const keys = spec.entityKeys.map(q);
    const perFamily = families.map((f) => aggregateJoins(f, 'e', 'e.__t'));
    const byName = new Map(families.flatMap((f, i) => f.aggregates.map((a, j) => [a.name, perFamily[i]?.outputs[j] as string])));
    const select = [
      'e.__row',
      'e.__t',
      ...keys.map((k) => `e.${k}`),
      ...rowFeatureSql('e'),
      ...analysed.aggregates.map((a) => byName.get(a.name) as string),
      'e.__label',
    ];
    // The ASOF joins carry only what the output needs (row id, time, keys, label and the raw inputs of
    // row features); row features are computed after the joins.
    const narrow = ['__row', '__t', ...keys, '__label', ...rowInputs.map((_, i) => `__r${i}`)];
    return [
      `CREATE OR REPLACE TEMP TABLE __features AS SELECT ${select.join(',\n  ')}`,
      `FROM (SELECT ${narrow.join(', ')} FROM __events${afterRow === undefined ? '' : ` WHERE __row > ${afterRow}`}) AS e`,
      ...perFamily.flatMap((p) => p.joins),
    ].join('\n');
  };

  const splitSql = (split: ResolvedSplit, afterRow?: number) => {
    const bounds = [
      '__label IS NOT NULL',
      ...(afterRow === undefined ? [] : [`__row > ${afterRow}`]),
      ...(split.from === undefined ? [] : [`__t >= TIMESTAMP ${quoteString(formatTimestampUtc(split.from))}`]),
      ...(split.until === undefined ? [] : [`__t < TIMESTAMP ${quoteString(formatTimestampUtc(split.until))}`]),
    ];
    const select = [
      ...spec.entityKeys.map(q),
      `__t AS ${q(spec.eventTime)}`,
      ...table.features.map((f) => q(f.name)),
      `__label AS ${q(spec.label.name)}`,
    ];
    return `SELECT ${select.join(', ')} FROM __features WHERE ${bounds.join(' AND ')} ORDER BY __t, __row`;
  };

  const snapshotSql = (family: AggregateFamily, asOfTable: string) => {
    const keys = family.groupBy.map(q);
    const { joins, outputs, now } = aggregateJoins(family, 'g', 'g.__as_of');
    const groups = `SELECT DISTINCT ${keys.join(', ')} FROM __cum_${family.index}`;
    return [
      `SELECT g.__as_of, ${keys.map((k) => `g.${k}`).join(', ')}, ${outputs.join(', ')}`,
      `FROM (SELECT groups_.*, t_.__as_of FROM (${groups}) AS groups_ CROSS JOIN ${asOfTable} AS t_) AS g`,
      ...joins,
      // Only the -infinity row before the instant: nothing of this group was known yet.
      `WHERE ${now}.__k > TIMESTAMP '-infinity'`,
    ].join('\n');
  };

  const appendEventsSql = (appended: string, lookback: string, rowOffset: number) =>
    `CREATE OR REPLACE TEMP TABLE __events AS SELECT * FROM ${lookback} UNION ALL BY NAME SELECT * REPLACE (__row + ${rowOffset} AS __row) FROM ${appended}`;

  const longestWindow = Math.max(0, ...families.flatMap((f) => f.windows));
  const lookbackSql = (newestEventMs: number) => {
    if (families.length === 0) return 'SELECT * FROM __events WHERE false';
    const cutoff = `TIMESTAMP ${quoteString(formatTimestampUtc(newestEventMs))} - INTERVAL ${longestWindow} MINUTE`;
    return `SELECT * FROM __events WHERE __t >= ${cutoff} OR __known >= ${cutoff} ORDER BY __row`;
  };

  return { spec, analysed, families, outputColumns, eventsSql, appendEventsSql, lookbackSql, cumulativeSql, featuresSql, splitSql, snapshotSql };
}
