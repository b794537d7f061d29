import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatasetColumn, DatasetManifest } from '../../shared/data/dataset.ts';
import type { CheckResult, ColumnTypeFamily, DatasetContract } from '../../shared/data/dataset-contract.ts';
import { ExpressionSyntaxError, parseExpression } from '../../shared/data/expression.ts';
import { ExpressionTypeError, type ValueType, typeOf } from '../../shared/data/expression-types.ts';
import { formatTimestampUtc, parseTimestamp } from '../../shared/data/timestamp.ts';
import { columnReadSql, expressionToSql, quoteIdentifier, quoteString, valueTypeOfDuckDbType } from '../features/expression/expression-sql.ts';

/**
 * Measures a dataset against a contract in DuckDB. Every check that needs the data contributes
 * aggregates to one SELECT, so the file is scanned once (plus one DISTINCT pass per duplicates
 * check); schema and previous-version checks need only the manifests.
 */

type Figures = CheckResult['threshold'];
type Json = Figures[string];

interface Measured {
  /** Aggregate SQL by alias, computed in the single scan. */
  needs: Record<string, string>;
  judge(values: Readonly<Record<string, Json>>): Omit<CheckResult, 'verdict' | 'severity'> & { passed: boolean };
}

export interface CheckContext {
  schema: readonly DatasetColumn[];
  rowCount: number;
  now: number;
  previous: DatasetManifest | undefined;
}

const INTEGER = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;

function matchesFamily(duckdbType: string, family: ColumnTypeFamily): boolean {
  const t = duckdbType.toUpperCase();
  switch (family) {
    case 'integer':
      return INTEGER.test(t);
    case 'number':
      return valueTypeOfDuckDbType(t) === 'number';
    case 'string':
      return t === 'VARCHAR';
    case 'boolean':
      return t === 'BOOLEAN';
    case 'timestamp':
      return t !== 'DATE' && valueTypeOfDuckDbType(t) === 'timestamp';
    case 'date':
      return t === 'DATE';
  }
}

const percent = (rate: number) => `${(rate * 100).toPrecision(3)}%`;
const rateOf = (count: number, rows: number) => (rows === 0 ? 0 : count / rows);
const timestampSql = (ms: number) => `TIMESTAMP ${quoteString(formatTimestampUtc(ms))}`;

export async function runContractChecks(db: DuckDBConnection, relation: string, contract: DatasetContract, context: CheckContext): Promise<CheckResult[]> {
  const columns = new Map(context.schema.map((c) => [c.name, c.type]));
  const rows = context.rowCount;
  const results: (CheckResult | PlannedCheck)[] = [];

  const decide = (severity: 'error' | 'warning', passed: boolean) => (passed ? 'pass' : severity === 'error' ? 'fail' : 'warn');

  /** A check on a column that is missing or of a type the check cannot read fails without touching the data. */
  const unusable = (check: ContractCheckLike, column: string, wanted: ValueType[], threshold: Figures): CheckResult | undefined => {
    const type = columns.get(column);
    const valueType = type === undefined ? undefined : valueTypeOfDuckDbType(type);
    if (type !== undefined && valueType !== undefined && wanted.includes(valueType)) return undefined;
    const problem = type === undefined ? `column "${column}" is missing` : `column "${column}" is ${type}, not ${wanted.join(' or ')}`;
    return {
      check: check.check,
      column,
      severity: check.severity,
      threshold,
      observed: type === undefined ? { missing: true } : { type },
      verdict: decide(check.severity, false),
      message: `${check.check}(${column}): ${problem}`,
    };
  };

  for (const c of contract.columns) {
    const actual = columns.get(c.name);
    const passed = actual !== undefined && matchesFamily(actual, c.type);
    results.push({
      check: 'column_type',
      column: c.name,
      severity: c.severity,
      threshold: { type: c.type },
      observed: actual === undefined ? { missing: true } : { type: actual },
      verdict: decide(c.severity, passed),
      message: `column_type(${c.name}): ${actual === undefined ? 'missing' : `${actual}`}, expected ${c.type}`,
    });
  }

  const plan = (check: ContractCheckLike, i: number): CheckResult | PlannedCheck => {
    const alias = (name: string) => `c${i}_${name}`;
    const read = (column: string) => columnReadSql(quoteIdentifier(column), columns.get(column) as string);
    switch (check.check) {
      case 'range': {
        const threshold = { min: check.min ?? null, max: check.max ?? null, maxViolationRate: check.maxViolationRate };
        const bad = unusable(check, check.column, ['number'], threshold);
        if (bad) return bad;
        const x = read(check.column);
        const outside = [check.min === undefined ? [] : [`${x} < ${check.min}`], check.max === undefined ? [] : [`${x} > ${check.max}`]].flat().join(' OR ') || 'false';
        return {
          check,
          needs: { [alias('n')]: `count(*) FILTER (WHERE ${outside})`, [alias('min')]: `min(${x})`, [alias('max')]: `max(${x})` },
          judge: (v) => {
            const violations = Number(v[alias('n')]);
            const violationRate = rateOf(violations, rows);
            return {
              check: check.check,
              column: check.column,
              threshold,
              observed: { violations, violationRate, min: v[alias('min')] ?? null, max: v[alias('max')] ?? null },
              passed: violationRate <= check.maxViolationRate,
              message: `range(${check.column}): ${violations} value(s) outside [${check.min ?? '-inf'}, ${check.max ?? 'inf'}] (${percent(violationRate)}; allowed ${percent(check.maxViolationRate)})`,
            };
          },
        };
      }
      case 'allowed_values': {
        const threshold = { values: check.values, maxViolationRate: check.maxViolationRate };
        const wanted: ValueType = typeof check.values[0] === 'number' ? 'number' : 'string';
        const bad = unusable(check, check.column, [wanted], threshold);
        if (bad) return bad;
        const x = read(check.column);
        const list = check.values.map((v) => (typeof v === 'number' ? `CAST(${v} AS DOUBLE)` : quoteString(v))).join(', ');
        const outside = `${x} IS NOT NULL AND ${x} NOT IN (${list})`;
        return {
          check,
          needs: { [alias('n')]: `count(*) FILTER (WHERE ${outside})`, [alias('examples')]: `(list(DISTINCT ${x}) FILTER (WHERE ${outside}))[1:5]` },
          judge: (v) => {
            const violations = Number(v[alias('n')]);
            const violationRate = rateOf(violations, rows);
            const examples = v[alias('examples')] ?? [];
            return {
              check: check.check,
              column: check.column,
              threshold,
              observed: { violations, violationRate, examples },
              passed: violationRate <= check.maxViolationRate,
              message: `allowed_values(${check.column}): ${violations} value(s) not allowed (${percent(violationRate)}; allowed ${percent(check.maxViolationRate)})${violations ? `, e.g. ${JSON.stringify(examples)}` : ''}`,
            };
          },
        };
      }
      case 'null_rate': {
        const threshold = { max: check.max };
        if (!columns.has(check.column)) return unusable(check, check.column, [], threshold) as CheckResult;
        const x = quoteIdentifier(check.column);
        return {
          check,
          needs: { [alias('n')]: `count(*) FILTER (WHERE ${x} IS NULL)` },
          judge: (v) => {
            const nulls = Number(v[alias('n')]);
            const nullRate = rateOf(nulls, rows);
            return {
              check: check.check,
              column: check.column,
              threshold,
              observed: { nulls, nullRate },
              passed: nullRate <= check.max,
              message: `null_rate(${check.column}): ${percent(nullRate)} NULL (at most ${percent(check.max)})`,
            };
          },
        };
      }
      case 'not_in_future': {
        const threshold = { now: new Date(context.now).toISOString(), maxViolationRate: check.maxViolationRate };
        const bad = unusable(check, check.column, ['timestamp'], threshold);
        if (bad) return bad;
        const x = read(check.column);
        return {
          check,
          needs: { [alias('n')]: `count(*) FILTER (WHERE ${x} > ${timestampSql(context.now)})`, [alias('max')]: `max(${x})` },
          judge: (v) => {
            const violations = Number(v[alias('n')]);
            const violationRate = rateOf(violations, rows);
            return {
              check: check.check,
              column: check.column,
              threshold,
              observed: { violations, violationRate, max: v[alias('max')] ?? null },
              passed: violationRate <= check.maxViolationRate,
              message: `not_in_future(${check.column}): ${violations} timestamp(s) after ${threshold.now} (latest ${JSON.stringify(v[alias('max')] ?? null)})`,
            };
          },
        };
      }
      case 'timestamp_range': {
        const from = check.from === undefined ? undefined : parseTimestamp(check.from);
        const until = check.until === undefined ? undefined : parseTimestamp(check.until);
        const threshold = { from: from === undefined ? null : new Date(from).toISOString(), until: until === undefined ? null : new Date(until).toISOString(), maxViolationRate: check.maxViolationRate };
        const bad = unusable(check, check.column, ['timestamp'], threshold);
        if (bad) return bad;
        const x = read(check.column);
        const outside = [from === undefined ? [] : [`${x} < ${timestampSql(from)}`], until === undefined ? [] : [`${x} >= ${timestampSql(until)}`]].flat().join(' OR ') || 'false';
        return {
          check,
          needs: { [alias('n')]: `count(*) FILTER (WHERE ${outside})`, [alias('min')]: `min(${x})`, [alias('max')]: `max(${x})` },
          judge: (v) => {
            const violations = Number(v[alias('n')]);
            const violationRate = rateOf(violations, rows);
            return {
              check: check.check,
              column: check.column,
              threshold,
              observed: { violations, violationRate, min: v[alias('min')] ?? null, max: v[alias('max')] ?? null },
              passed: violationRate <= check.maxViolationRate,
              message: `timestamp_range(${check.column}): ${violations} timestamp(s) outside [${threshold.from ?? '-inf'}, ${threshold.until ?? 'inf'})`,
            };
          },
        };
      }
      case 'class_balance': {
        const threshold = { label: check.label, minPositiveRate: check.minPositiveRate, maxPositiveRate: check.maxPositiveRate };
        const types: Record<string, ValueType> = {};
        for (const [name, type] of columns) {
          const valueType = valueTypeOfDuckDbType(type);
          if (valueType) types[name] = valueType;
        }
        let labelSql: string;
        try {
          const expr = parseExpression(check.label);
          const type = typeOf(expr, types);
          if (type !== 'boolean') throw new ExpressionTypeError(`the label must be boolean, got ${type}`);
          labelSql = expressionToSql(expr, types, (name) => columnReadSql(quoteIdentifier(name), columns.get(name) as string));
        } catch (err) {
          if (!(err instanceof ExpressionSyntaxError || err instanceof ExpressionTypeError)) throw err;
          return {
            check: check.check,
            severity: check.severity,
            threshold,
            observed: { error: err.message },
            verdict: decide(check.severity, false),
            message: `class_balance: label ${JSON.stringify(check.label)} cannot be computed: ${err.message}`,
          };
        }
        return {
          check,
          needs: { [alias('pos')]: `count(*) FILTER (WHERE ${labelSql})`, [alias('known')]: `count(${labelSql})` },
          judge: (v) => {
            const positives = Number(v[alias('pos')]);
            const labelled = Number(v[alias('known')]);
            const positiveRate = rateOf(positives, labelled);
            return {
              check: check.check,
              threshold,
              observed: { positives, labelled, positiveRate },
              passed: labelled > 0 && positiveRate >= check.minPositiveRate && positiveRate <= check.maxPositiveRate,
              message: `class_balance(${check.label}): positive rate ${percent(positiveRate)} of ${labelled} labelled rows (allowed ${percent(check.minPositiveRate)}-${percent(check.maxPositiveRate)})`,
            };
          },
        };
      }
      case 'min_rows':
        return {
          check: check.check,
          severity: check.severity,
          threshold: { min: check.min },
          observed: { rows },
          verdict: decide(check.severity, rows >= check.min),
          message: `min_rows: ${rows} rows (at least ${check.min})`,
        };
      case 'row_count_change': {
        const threshold = { maxRelativeChange: check.maxRelativeChange };
        if (!context.previous) {
          return { check: check.check, severity: check.severity, threshold, observed: { previousVersion: null }, verdict: 'pass', message: 'row_count_change: no previous version to compare with' };
        }
        const before = context.previous.rowCount;
        const relativeChange = Math.abs(rows - before) / before;
        return {
          check: check.check,
          severity: check.severity,
          threshold,
          observed: { previousVersion: context.previous.version, previousRows: before, rows, relativeChange },
          verdict: decide(check.severity, relativeChange <= check.maxRelativeChange),
          message: `row_count_change: ${before} -> ${rows} rows (${percent(relativeChange)}; at most ${percent(check.maxRelativeChange)})`,
        };
      }
      case 'schema_change': {
        const threshold = { changes: 0 };
        if (!context.previous) {
          return { check: check.check, severity: check.severity, threshold, observed: { previousVersion: null }, verdict: 'pass', message: 'schema_change: no previous version to compare with' };
        }
        const before = new Map(context.previous.schema.map((c) => [c.name, c.type]));
        const added = [...columns.keys()].filter((name) => !before.has(name));
        const removed = [...before.keys()].filter((name) => !columns.has(name));
        const retyped = [...columns].filter(([name, type]) => before.has(name) && before.get(name) !== type).map(([name, type]) => `${name}: ${before.get(name)} -> ${type}`);
        const changes = added.length + removed.length + retyped.length;
        return {
          check: check.check,
          severity: check.severity,
          threshold,
          observed: { previousVersion: context.previous.version, added, removed, retyped },
          verdict: decide(check.severity, changes === 0),
          message: changes === 0 ? 'schema_change: same columns and types as the previous version' : `schema_change: added [${added.join(', ')}], removed [${removed.join(', ')}], retyped [${retyped.join('; ')}]`,
        };
      }
      case 'duplicates': {
        const threshold = { columns: check.columns ?? null, maxRate: check.maxRate };
        const missing = (check.columns ?? []).find((c) => !columns.has(c));
        if (missing !== undefined) return unusable(check, missing, [], threshold) as CheckResult;
        return {
          check,
          needs: {},
          judge: (v) => {
            const duplicates = Number(v[alias('dup')]);
            const duplicateRate = rateOf(duplicates, rows);
            return {
              check: check.check,
              threshold,
              observed: { duplicates, duplicateRate },
              passed: duplicateRate <= check.maxRate,
              message: `duplicates${check.columns ? `(${check.columns.join(', ')})` : ''}: ${duplicates} row(s) repeat an earlier row (${percent(duplicateRate)}; allowed ${percent(check.maxRate)})`,
            };
          },
        };
      }
    }
  };
  contract.checks.forEach((check, i) => results.push(plan(check, i)));

  const measured = results.filter((r): r is PlannedCheck => 'judge' in r);
  const needs = Object.assign({}, ...measured.map((m) => m.needs)) as Record<string, string>;
  const values: Record<string, Json> = {};
  if (Object.keys(needs).length) {
    const reader = await db.runAndReadAll(`SELECT ${Object.entries(needs).map(([a, sql]) => `${sql} AS ${a}`).join(', ')} FROM ${relation}`);
    Object.assign(values, toJson(reader.getRowObjectsJS()[0] ?? {}));
  }
  for (const [i, check] of contract.checks.entries()) {
    if (check.check !== 'duplicates' || !measured.some((m) => m.check === check)) continue;
    const key = check.columns ? check.columns.map(quoteIdentifier).join(', ') : '*';
    const reader = await db.runAndReadAll(`SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT ${key} FROM ${relation})) FROM ${relation}`);
    values[`c${i}_dup`] = Number(reader.getRows()[0]?.[0] ?? 0);
  }

  return results.map((r) => {
    if (!('judge' in r)) return r;
    const { passed, ...result } = r.judge(values);
    return { ...result, severity: r.check.severity, verdict: decide(r.check.severity, passed) };
  });
}

type ContractCheckLike = DatasetContract['checks'][number];
type PlannedCheck = Measured & { check: ContractCheckLike };

/** DuckDB values as JSON: BIGINT to number, TIMESTAMP to ISO text, lists element-wise. */
function toJson(row: Record<string, unknown>): Record<string, Json> {
  const convert = (v: unknown): Json => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'bigint') return Number(v);
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map(convert);
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
    return JSON.stringify(v) ?? null;
  };
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, convert(v)]));
}

/**
 * The checks that judge a partition's values on its own: a day of out-of-range values must not hide
 * in the whole set's rate. The rest (min_rows, row counts, schema, duplicates, class balance) are
 * about the whole set and stay with `runContractChecks` over it.
 */
const PARTITION_CHECKS: ReadonlySet<ContractCheckLike['check']> = new Set(['range', 'allowed_values', 'null_rate', 'not_in_future', 'timestamp_range']);

/** The contract's value checks run over one new partition; its failed error-level checks (none when it passes). */
export async function failedPartitionChecks(db: DuckDBConnection, relation: string, contract: DatasetContract, context: Omit<CheckContext, 'previous'>): Promise<CheckResult[]> {
  const checks = contract.checks.filter((c) => PARTITION_CHECKS.has(c.check));
  if (!checks.length) return [];
  const results = await runContractChecks(db, relation, { ...contract, columns: [], checks }, { ...context, previous: undefined });
  return results.filter((r) => r.verdict === 'fail');
}
