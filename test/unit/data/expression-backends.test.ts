import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type Expr, type Literal, parseExpression } from '../../../shared/data/expression.ts';
import { type ExprType, type ValueType, typeOf } from '../../../shared/data/expression-types.ts';
import { formatTimestampUtc } from '../../../shared/data/timestamp.ts';
import { type JsValue, expressionToJs } from '../../../domain/features/expression/expression-js.ts';
import { columnReadSql, expressionToSql, quoteIdentifier } from '../../../domain/features/expression/expression-sql.ts';

/**
 * The two backends of the expression language must compute the same thing. Random well-typed
 * expressions are evaluated over random rows (a fifth of the values NULL) by DuckDB and by the
 * compiled JavaScript; every result must match exactly (numbers to 1e-9 relative, for safety against
 * libm differences that no function here should have).
 */

const COLUMNS: Record<string, { type: ValueType; duckdb: string }> = {
  n1: { type: 'number', duckdb: 'DOUBLE' },
  n2: { type: 'number', duckdb: 'DOUBLE' },
  i1: { type: 'number', duckdb: 'BIGINT' },
  s1: { type: 'string', duckdb: 'VARCHAR' },
  s2: { type: 'string', duckdb: 'VARCHAR' },
  b1: { type: 'boolean', duckdb: 'BOOLEAN' },
  t1: { type: 'timestamp', duckdb: 'TIMESTAMP' },
  t2: { type: 'timestamp', duckdb: 'TIMESTAMP' },
};
const columnTypes = Object.fromEntries(Object.entries(COLUMNS).map(([k, v]) => [k, v.type]));

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
  };
}
type Rng = ReturnType<typeof rng>;

const NUMBERS = [0, 1, -1, 2, 2.5, -2.5, 0.5, -0.5, 3, 7, 15, 16, -13, 100, 0.1, 1e6, 123.456, -0.75];
const STRINGS = ['a', 'B', 'ab', '', 'é', 'É', "O'Hare", 'ATL', 'x y'];
const T0 = Date.UTC(1995, 0, 1);
const T1 = Date.UTC(2030, 0, 1);

function randomRow(r: Rng, id: number): Record<string, JsValue> {
  const maybe = <T>(v: T): T | null => (r.next() < 0.2 ? null : v);
  return {
    id,
    n1: maybe(r.pick(NUMBERS)),
    n2: maybe(r.next() < 0.5 ? r.pick(NUMBERS) : Math.round((r.next() - 0.5) * 2e5) / 100),
    i1: maybe(r.int(2000) - 1000),
    s1: maybe(r.pick(STRINGS)),
    s2: maybe(r.pick(STRINGS)),
    b1: maybe(r.next() < 0.5),
    t1: maybe(T0 + r.int((T1 - T0) / 1000) * 1000 + r.int(1000)),
    t2: maybe(T0 + r.int((T1 - T0) / 60000) * 60000),
  };
}

/** A random expression of type `type`; depth bounds the size. */
function gen(r: Rng, type: ValueType, depth: number): Expr {
  const leaf = depth <= 0 || r.next() < 0.25;
  const cols = Object.keys(COLUMNS).filter((c) => COLUMNS[c]?.type === type);
  if (leaf) {
    const roll = r.next();
    if (roll < 0.08) return { kind: 'null' };
    if (type === 'timestamp' || (roll < 0.6 && cols.length)) return { kind: 'column', name: r.pick(cols) };
    return literalOf(r, type);
  }
  const d = depth - 1;
  const caseExpr = (): Expr => ({
    kind: 'case',
    branches: Array.from({ length: 1 + r.int(2) }, () => ({ when: gen(r, 'boolean', d), then: gen(r, type, d) })),
    otherwise: r.next() < 0.7 ? gen(r, type, d) : undefined,
  });
  const coalesce = (): Expr => ({ kind: 'call', fn: 'coalesce', args: Array.from({ length: 1 + r.int(3) }, () => gen(r, type, d)) });
  switch (type) {
    case 'number':
      return r.pick<() => Expr>([
        () => ({ kind: 'negate', arg: gen(r, 'number', d) }),
        () => ({ kind: 'arithmetic', op: r.pick(['+', '-', '*', '/', '%'] as const), left: gen(r, 'number', d), right: gen(r, 'number', d) }),
        () => ({ kind: 'call', fn: r.pick(['hour', 'minute', 'day_of_week', 'day_of_month', 'month', 'year']), args: [gen(r, 'timestamp', d)] }),
        () => ({ kind: 'call', fn: r.pick(['abs', 'floor', 'ceil', 'round']), args: [gen(r, 'number', d)] }),
        () => ({ kind: 'call', fn: r.pick(['least', 'greatest']), args: Array.from({ length: 2 + r.int(2) }, () => gen(r, 'number', d)) }),
        caseExpr,
        coalesce,
      ])();
    case 'string':
      return r.pick<() => Expr>([
        () => ({ kind: 'call', fn: 'concat', args: Array.from({ length: 1 + r.int(3) }, () => gen(r, 'string', d)) }),
        () => ({ kind: 'call', fn: r.pick(['lower', 'upper']), args: [gen(r, 'string', d)] }),
        caseExpr,
        coalesce,
      ])();
    case 'boolean':
      return r.pick<() => Expr>([
        () => ({ kind: 'compare', op: r.pick(['=', '!=', '<', '<=', '>', '>='] as const), left: gen(r, 'number', d), right: gen(r, 'number', d) }),
        () => ({ kind: 'compare', op: r.pick(['<', '>=', '='] as const), left: gen(r, 'timestamp', d), right: gen(r, 'timestamp', d) }),
        () => ({ kind: 'compare', op: r.pick(['=', '!='] as const), left: gen(r, 'string', d), right: gen(r, 'string', d) }),
        () => ({ kind: 'compare', op: '=', left: gen(r, 'boolean', d), right: gen(r, 'boolean', d) }),
        () => ({ kind: 'logical', op: r.pick(['and', 'or'] as const), left: gen(r, 'boolean', d), right: gen(r, 'boolean', d) }),
        () => ({ kind: 'not', arg: gen(r, 'boolean', d) }),
        () => ({ kind: 'isNull', arg: gen(r, r.pick(['number', 'string', 'timestamp'] as const), d), negated: r.next() < 0.5 }),
        () => {
          const t = r.pick(['number', 'string'] as const);
          return { kind: 'in', arg: gen(r, t, d), values: Array.from({ length: 1 + r.int(3) }, () => literalOf(r, t) as Literal), negated: r.next() < 0.3 };
        },
        caseExpr,
        coalesce,
      ])();
    case 'timestamp':
      return r.pick<() => Expr>([
        () => ({ kind: 'call', fn: 'add_minutes', args: [gen(r, 'timestamp', d), r.next() < 0.5 ? literalOf(r, 'number') : { kind: 'column', name: r.pick(['n1', 'n2', 'i1']) }] }),
        () => ({ kind: 'call', fn: r.pick(['least', 'greatest']), args: [gen(r, 'timestamp', d), gen(r, 'timestamp', d)] }),
        caseExpr,
        coalesce,
      ])();
  }
}

function literalOf(r: Rng, type: ValueType): Expr {
  switch (type) {
    case 'number':
      return { kind: 'number', value: r.pick(NUMBERS) };
    case 'string':
      return { kind: 'string', value: r.pick(STRINGS) };
    case 'boolean':
      return { kind: 'boolean', value: r.next() < 0.5 };
    case 'timestamp':
      return { kind: 'column', name: 't1' };
  }
}

function sqlLiteral(value: JsValue, type: ValueType, duckdb: string): string {
  if (value === null) return `CAST(NULL AS ${duckdb})`;
  switch (type) {
    case 'number':
      return `CAST(${String(value)} AS ${duckdb})`;
    case 'string':
      return `'${String(value).replaceAll("'", "''")}'`;
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    case 'timestamp':
      return `TIMESTAMP '${formatTimestampUtc(value as number)}'`;
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a === null || b === null) return a === b;
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  return a === b;
}

describe('expression backends agree (DuckDB SQL vs JavaScript)', () => {
  let instance: DuckDBInstance;
  let db: DuckDBConnection;
  const r = rng(20010101);
  const rows = Array.from({ length: 200 }, (_, i) => randomRow(r, i));

  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
    await db.run(`SET TimeZone = 'UTC'`);
    const names = Object.keys(COLUMNS);
    await db.run(`CREATE TABLE t (id INTEGER, ${names.map((n) => `${n} ${COLUMNS[n]?.duckdb}`).join(', ')})`);
    const values = rows.map((row) => `(${row.id}, ${names.map((n) => sqlLiteral(row[n] ?? null, COLUMNS[n]!.type, COLUMNS[n]!.duckdb)).join(', ')})`);
    await db.run(`INSERT INTO t VALUES ${values.join(', ')}`);
  });
  after(() => {
    db.closeSync();
    instance.closeSync();
  });

  async function evaluateSql(exprs: Expr[]): Promise<JsValue[][]> {
    const selects = exprs.map((e, i) => `${expressionToSql(e, columnTypes, (name) => columnReadSql(quoteIdentifier(name), COLUMNS[name]!.duckdb))} AS c${i}`);
    const reader = await db.runAndReadAll(`SELECT ${selects.join(', ')} FROM t ORDER BY id`);
    return reader.getRowsJS().map((row) => row.map((v) => (v instanceof Date ? v.getTime() : (v as JsValue))));
  }

  function evaluateJs(expr: Expr): JsValue[] {
    const fn = expressionToJs<Record<string, JsValue>>(expr, columnTypes, (name) => (row) => row[name] ?? null);
    return rows.map(fn);
  }

  for (const type of ['number', 'string', 'boolean', 'timestamp'] as const) {
    test(`600 random ${type} expressions over 200 rows`, async () => {
      const exprs = Array.from({ length: 600 }, () => gen(r, type, 4));
      for (const e of exprs) {
        const t: ExprType = typeOf(e, columnTypes);
        assert.ok(t === type || t === 'null', `generator produced ${t} for ${type}`);
      }
      let nonNull = 0;
      for (let start = 0; start < exprs.length; start += 100) {
        const batch = exprs.slice(start, start + 100);
        const sqlRows = await evaluateSql(batch);
        batch.forEach((expr, j) => {
          const js = evaluateJs(expr);
          rows.forEach((row, i) => {
            const fromSql = sqlRows[i]?.[j] ?? null;
            if (!same(fromSql, js[i])) {
              assert.fail(`row ${JSON.stringify(row)}\nexpr ${expressionToSql(expr, columnTypes, quoteIdentifier)}\nSQL ${String(fromSql)} JS ${String(js[i])}`);
            }
            if (fromSql !== null) nonNull++;
          });
        });
      }
      // Guards against a generator that only ever produces NULL.
      assert.ok(nonNull > exprs.length * rows.length * 0.3, `only ${nonNull} non-NULL results`);
    });
  }

  test('parsed text compiles the same way in both backends', async () => {
    const texts = [
      'CASE WHEN n1 > 0 THEN n1 / n2 ELSE -n1 % 3 END',
      "coalesce(s1, s2, 'none') = 'a' OR NOT b1",
      'day_of_week(t1) IN (6, 7) AND hour(add_minutes(t1, i1)) >= 12',
      "concat(upper(s1), '-', lower(s2))",
      'least(n1, n2, 5) + greatest(i1, 0)',
      'round(n2) - floor(n2) + ceil(n1) + abs(i1)',
      's1 NOT IN (\'a\', \'B\') AND n1 IS NOT NULL',
    ];
    const exprs = texts.map(parseExpression);
    const sqlRows = await evaluateSql(exprs);
    exprs.forEach((expr, j) => {
      const js = evaluateJs(expr);
      rows.forEach((_, i) => assert.ok(same(sqlRows[i]?.[j] ?? null, js[i]), `${texts[j]} row ${i}: SQL ${String(sqlRows[i]?.[j])} JS ${String(js[i])}`));
    });
  });
});
