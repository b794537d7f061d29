import type { Expr, Literal } from '../../../shared/data/expression.ts';
import { type FunctionName, type ValueType, typeOf } from '../../../shared/data/expression-types.ts';

/**
 * JavaScript backend of the expression language: compiles a type-checked AST to a closure over one
 * event, for request-time features in the prediction API. Pure (no I/O). Values are numbers,
 * strings, booleans or null; a timestamp is epoch milliseconds (UTC). Kept in step with
 * `expression-sql.ts`: the unit tests require both backends to agree on generated inputs.
 */

export type JsValue = number | string | boolean | null;
export type Evaluator<Row> = (row: Row) => JsValue;

type Fn = (args: JsValue[]) => JsValue;

const num = (v: JsValue) => v as number;

const utc = (f: (d: Date) => number): Fn => ([t]) => (t === null || t === undefined ? null : f(new Date(num(t))));

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;
/** Milliseconds since the UTC midnight before `t`, also for instants before 1970. */
const msOfDay = (t: number) => ((t % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY;
/** Calendar-free parts of an instant, computed without allocating a Date (they run per request). */
const clock = (f: (t: number) => number): Fn => ([t]) => (t === null || t === undefined ? null : f(num(t)));

const numeric = (f: (x: number) => number): Fn => ([x]) => (x === null || x === undefined ? null : f(num(x)));

const nonNull = (args: JsValue[]) => args.filter((a): a is Exclude<JsValue, null> => a !== null);

const FUNCTION_JS: Record<FunctionName, Fn> = {
  hour: clock((t) => Math.floor(msOfDay(t) / MS_PER_HOUR)),
  minute: clock((t) => Math.floor((msOfDay(t) % MS_PER_HOUR) / 60_000)),
  // 1970-01-01 was a Thursday (ISO day 4).
  day_of_week: clock((t) => ((((Math.floor(t / MS_PER_DAY) + 3) % 7) + 7) % 7) + 1),
  day_of_month: utc((d) => d.getUTCDate()),
  month: utc((d) => d.getUTCMonth() + 1),
  year: utc((d) => d.getUTCFullYear()),
  add_minutes: ([t, n]) => (t === null || n === null || t === undefined || n === undefined ? null : num(t) + Math.trunc(num(n) * 60000)),
  abs: numeric(Math.abs),
  floor: numeric(Math.floor),
  ceil: numeric(Math.ceil),
  round: numeric((x) => Math.sign(x) * Math.round(Math.abs(x))),
  least: (args) => {
    const present = nonNull(args) as number[];
    return present.length ? Math.min(...present) : null;
  },
  greatest: (args) => {
    const present = nonNull(args) as number[];
    return present.length ? Math.max(...present) : null;
  },
  coalesce: (args) => args.find((a) => a !== null) ?? null,
  concat: (args) => (nonNull(args) as string[]).join(''),
  lower: ([s]) => (s === null || s === undefined ? null : (s as string).toLowerCase()),
  upper: ([s]) => (s === null || s === undefined ? null : (s as string).toUpperCase()),
};

function compare(op: Extract<Expr, { kind: 'compare' }>['op'], a: JsValue, b: JsValue): JsValue {
  if (a === null || b === null) return null;
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

function arithmetic(op: Extract<Expr, { kind: 'arithmetic' }>['op'], a: JsValue, b: JsValue): JsValue {
  if (a === null || b === null) return null;
  const x = num(a);
  const y = num(b);
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return y === 0 ? null : x / y;
    case '%':
      return y === 0 ? null : x % y;
  }
}

const literalValue = (l: Literal): JsValue => l.value;

/**
 * Compiles `expr` to a function of one row. `column(name)` returns a reader that yields the column's
 * value already coerced to its language type (see `online-event.ts`).
 */
export function expressionToJs<Row>(expr: Expr, columns: Readonly<Record<string, ValueType>>, column: (name: string) => Evaluator<Row>): Evaluator<Row> {
  typeOf(expr, columns);
  const compile = (e: Expr): Evaluator<Row> => {
    switch (e.kind) {
      case 'number':
      case 'string':
      case 'boolean': {
        const value = e.value;
        return () => value;
      }
      case 'null':
        return () => null;
      case 'column':
        return column(e.name);
      case 'negate': {
        const arg = compile(e.arg);
        return (row) => {
          const v = arg(row);
          return v === null ? null : -num(v);
        };
      }
      case 'not': {
        const arg = compile(e.arg);
        return (row) => {
          const v = arg(row);
          return v === null ? null : !v;
        };
      }
      case 'arithmetic': {
        const { op } = e;
        const left = compile(e.left);
        const right = compile(e.right);
        return (row) => arithmetic(op, left(row), right(row));
      }
      case 'compare': {
        const { op } = e;
        const left = compile(e.left);
        const right = compile(e.right);
        return (row) => compare(op, left(row), right(row));
      }
      case 'logical': {
        const left = compile(e.left);
        const right = compile(e.right);
        const dominant = e.op === 'or';
        // SQL three-valued logic: TRUE dominates OR and FALSE dominates AND, even over NULL.
        return (row) => {
          const a = left(row);
          const b = right(row);
          if (a === dominant || b === dominant) return dominant;
          if (a === null || b === null) return null;
          return !dominant;
        };
      }
      case 'isNull': {
        const arg = compile(e.arg);
        const negated = e.negated;
        return (row) => (arg(row) === null) !== negated;
      }
      case 'in': {
        const arg = compile(e.arg);
        const values = new Set(e.values.map(literalValue));
        const negated = e.negated;
        return (row) => {
          const v = arg(row);
          return v === null ? null : values.has(v) !== negated;
        };
      }
      case 'case': {
        const branches = e.branches.map((b) => ({ when: compile(b.when), then: compile(b.then) }));
        const otherwise = e.otherwise ? compile(e.otherwise) : () => null;
        return (row) => {
          for (const b of branches) if (b.when(row) === true) return b.then(row);
          return otherwise(row);
        };
      }
      case 'call': {
        const fn = FUNCTION_JS[e.fn as FunctionName];
        const args = e.args.map(compile);
        // Most calls take one or two arguments; spelling those out spares a closure call per argument.
        if (args.length === 1) {
          const [a] = args as [Evaluator<Row>];
          return (row) => fn([a(row)]);
        }
        if (args.length === 2) {
          const [a, b] = args as [Evaluator<Row>, Evaluator<Row>];
          return (row) => fn([a(row), b(row)]);
        }
        return (row) => fn(args.map((a) => a(row)));
      }
    }
  };
  return compile(expr);
}
