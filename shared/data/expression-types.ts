import type { Expr } from './expression.ts';
import { SluiceError } from '../errors.ts';

/**
 * Static types of the expression language. Checking types before compiling is what lets the DuckDB
 * and JavaScript backends agree: every operator and function is defined for exactly these types, so
 * neither backend ever has to guess a coercion the other would make differently.
 *
 * Semantics both backends implement (SQL three-valued logic throughout):
 * - numbers are IEEE doubles; integer columns are read as doubles;
 * - NULL in, NULL out for arithmetic, comparisons and functions, except: AND/OR (FALSE AND NULL is
 *   FALSE, TRUE OR NULL is TRUE), IS [NOT] NULL, coalesce, concat (skips NULLs) and least/greatest
 *   (ignore NULLs; NULL only when every argument is);
 * - x / 0 and x % 0 are NULL; a non-finite input number reads as NULL;
 * - CASE takes the first branch whose condition is TRUE (NULL counts as not true);
 * - timestamps are instants in UTC; calendar functions read the UTC wall clock;
 * - strings compare with = and != only (byte order and UTF-16 order differ beyond the BMP).
 */

export const VALUE_TYPES = ['number', 'string', 'boolean', 'timestamp'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
/** 'null' is the type of the NULL constant, which fits wherever any type does. */
export type ExprType = ValueType | 'null';

export class ExpressionTypeError extends SluiceError {
  override readonly name = 'ExpressionTypeError';
  readonly kind = 'InvalidInput';
}

type Signature = (args: ExprType[], fn: string) => ExprType;

const fits = (actual: ExprType, wanted: ValueType) => actual === wanted || actual === 'null';

function fixed(params: ValueType[], result: ValueType): Signature {
  return (args, fn) => {
    if (args.length !== params.length) throw new ExpressionTypeError(`${fn}() takes ${params.length} argument(s), got ${args.length}`);
    args.forEach((t, i) => {
      const want = params[i] as ValueType;
      if (!fits(t, want)) throw new ExpressionTypeError(`argument ${i + 1} of ${fn}() must be a ${want}, got ${t}`);
    });
    return result;
  };
}

/** Functions whose arguments all share one type from `allowed`; the result has that type too. */
function uniform(allowed: readonly ValueType[], minArgs: number): Signature {
  return (args, fn) => {
    if (args.length < minArgs) throw new ExpressionTypeError(`${fn}() takes at least ${minArgs} argument(s), got ${args.length}`);
    const type = unify(args, `arguments of ${fn}()`);
    if (type !== 'null' && !allowed.includes(type)) {
      throw new ExpressionTypeError(`${fn}() takes ${allowed.join(' or ')} arguments, got ${type}`);
    }
    return type;
  };
}

const calendar = fixed(['timestamp'], 'number');
const numeric = fixed(['number'], 'number');
const text = fixed(['string'], 'string');

/** The function catalogue. A name here must be compiled by both backends (the compilers' switches are exhaustive over it). */
export const FUNCTIONS = {
  /** Hour of day, 0-23. */
  hour: calendar,
  minute: calendar,
  /** ISO day of week: Monday = 1 ... Sunday = 7. */
  day_of_week: calendar,
  day_of_month: calendar,
  month: calendar,
  year: calendar,
  /** Timestamp plus a number of minutes; fractions are kept to whole milliseconds (truncated toward zero). */
  add_minutes: fixed(['timestamp', 'number'], 'timestamp'),
  abs: numeric,
  floor: numeric,
  ceil: numeric,
  /** Rounds half away from zero. */
  round: numeric,
  least: uniform(['number', 'timestamp'], 2),
  greatest: uniform(['number', 'timestamp'], 2),
  coalesce: uniform(['number', 'string', 'boolean', 'timestamp'], 1),
  concat: (args, fn) => {
    if (args.length < 1) throw new ExpressionTypeError(`${fn}() takes at least 1 argument`);
    args.forEach((t, i) => {
      if (!fits(t, 'string')) throw new ExpressionTypeError(`argument ${i + 1} of ${fn}() must be a string, got ${t}`);
    });
    return 'string';
  },
  lower: text,
  upper: text,
} satisfies Record<string, Signature>;
export type FunctionName = keyof typeof FUNCTIONS;

function isFunctionName(name: string): name is FunctionName {
  return Object.hasOwn(FUNCTIONS, name);
}

function unify(types: ExprType[], what: string): ExprType {
  let found: ExprType = 'null';
  for (const t of types) {
    if (t === 'null') continue;
    if (found !== 'null' && found !== t) throw new ExpressionTypeError(`${what} mix ${found} and ${t}`);
    found = t;
  }
  return found;
}

/** The type of `expr` given the types of the columns it may read; throws ExpressionTypeError naming the problem. */
export function typeOf(expr: Expr, columns: Readonly<Record<string, ValueType>>): ExprType {
  const check = (e: Expr): ExprType => {
    switch (e.kind) {
      case 'number':
        return 'number';
      case 'string':
        return 'string';
      case 'boolean':
        return 'boolean';
      case 'null':
        return 'null';
      case 'column': {
        const t = Object.hasOwn(columns, e.name) ? columns[e.name] : undefined;
        if (!t) throw new ExpressionTypeError(`unknown column "${e.name}" (known: ${Object.keys(columns).join(', ') || 'none'})`);
        return t;
      }
      case 'negate':
        expect(check(e.arg), ['number'], 'the operand of unary -');
        return 'number';
      case 'not':
        expect(check(e.arg), ['boolean'], 'the operand of NOT');
        return 'boolean';
      case 'arithmetic':
        expect(check(e.left), ['number'], `the left side of ${e.op}`);
        expect(check(e.right), ['number'], `the right side of ${e.op}`);
        return 'number';
      case 'logical':
        expect(check(e.left), ['boolean'], `the left side of ${e.op.toUpperCase()}`);
        expect(check(e.right), ['boolean'], `the right side of ${e.op.toUpperCase()}`);
        return 'boolean';
      case 'compare': {
        const type = unify([check(e.left), check(e.right)], `the two sides of ${e.op}`);
        const ordered = e.op !== '=' && e.op !== '!=';
        if (ordered) expect(type, ['number', 'timestamp'], `the sides of ${e.op}`);
        return 'boolean';
      }
      case 'isNull':
        check(e.arg);
        return 'boolean';
      case 'in': {
        const argType = check(e.arg);
        unify([argType, ...e.values.map((v) => v.kind)], 'the value and the IN list');
        return 'boolean';
      }
      case 'case': {
        for (const b of e.branches) expect(check(b.when), ['boolean'], 'a WHEN condition');
        const results = e.branches.map((b) => check(b.then));
        if (e.otherwise) results.push(check(e.otherwise));
        return unify(results, 'the branches of CASE');
      }
      case 'call': {
        if (!isFunctionName(e.fn)) throw new ExpressionTypeError(`unknown function ${e.fn}() (known: ${Object.keys(FUNCTIONS).join(', ')})`);
        const signature: Signature = FUNCTIONS[e.fn];
        return signature(e.args.map(check), e.fn);
      }
    }
  };
  return check(expr);
}

function expect(actual: ExprType, allowed: ValueType[], what: string): void {
  if (actual !== 'null' && !allowed.includes(actual)) throw new ExpressionTypeError(`${what} must be ${allowed.join(' or ')}, got ${actual}`);
}
