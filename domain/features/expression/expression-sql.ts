import type { Expr, Literal } from '../../../shared/data/expression.ts';
import { type ExprType, type FunctionName, type ValueType, typeOf } from '../../../shared/data/expression-types.ts';

/**
 * DuckDB backend of the expression language: compiles a type-checked AST to SQL text for offline
 * feature tables. Pure (no I/O), and kept in step with `expression-js.ts`; the unit tests run both on
 * generated expressions and rows and require identical results.
 */

const SQL_TYPES: Record<ValueType, string> = { number: 'DOUBLE', string: 'VARCHAR', boolean: 'BOOLEAN', timestamp: 'TIMESTAMP' };

export const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;
export const quoteString = (text: string) => `'${text.replaceAll("'", "''")}'`;

const numberSql = (value: number) => `CAST(${String(value)} AS DOUBLE)`;

function literalSql(literal: Literal): string {
  switch (literal.kind) {
    case 'number':
      return numberSql(literal.value);
    case 'string':
      return quoteString(literal.value);
    case 'boolean':
      return literal.value ? 'TRUE' : 'FALSE';
  }
}

/** The SQL for each function, given its compiled arguments. */
const FUNCTION_SQL: Record<FunctionName, (args: string[]) => string> = {
  hour: ([t]) => `CAST(hour(${t}) AS DOUBLE)`,
  minute: ([t]) => `CAST(minute(${t}) AS DOUBLE)`,
  day_of_week: ([t]) => `CAST(isodow(${t}) AS DOUBLE)`,
  day_of_month: ([t]) => `CAST(dayofmonth(${t}) AS DOUBLE)`,
  month: ([t]) => `CAST(month(${t}) AS DOUBLE)`,
  year: ([t]) => `CAST(year(${t}) AS DOUBLE)`,
  add_minutes: ([t, n]) => `(${t} + to_milliseconds(CAST(trunc(${n} * 60000) AS BIGINT)))`,
  abs: ([x]) => `abs(${x})`,
  floor: ([x]) => `floor(${x})`,
  ceil: ([x]) => `ceil(${x})`,
  // DuckDB's round(DOUBLE) rounds half away from zero, as the language defines.
  round: ([x]) => `round(${x})`,
  least: (args) => `least(${args.join(', ')})`,
  greatest: (args) => `greatest(${args.join(', ')})`,
  coalesce: (args) => `coalesce(${args.join(', ')})`,
  concat: (args) => `concat(${args.join(', ')})`,
  lower: ([s]) => `lower(${s})`,
  upper: ([s]) => `upper(${s})`,
};

/** Parameter types of fixed-signature functions, so a bare NULL argument gets a type DuckDB can bind. */
const FIXED_PARAMS: Partial<Record<FunctionName, ValueType[]>> = {
  hour: ['timestamp'],
  minute: ['timestamp'],
  day_of_week: ['timestamp'],
  day_of_month: ['timestamp'],
  month: ['timestamp'],
  year: ['timestamp'],
  add_minutes: ['timestamp', 'number'],
  abs: ['number'],
  floor: ['number'],
  ceil: ['number'],
  round: ['number'],
  lower: ['string'],
  upper: ['string'],
};

/**
 * Compiles `expr` to a DuckDB SQL expression. `column(name)` returns the SQL that reads a column as
 * its language type (DOUBLE, VARCHAR, BOOLEAN or TIMESTAMP); `columns` gives those types.
 */
export function expressionToSql(expr: Expr, columns: Readonly<Record<string, ValueType>>, column: (name: string) => string): string {
  const typeIn = (e: Expr) => typeOf(e, columns);
  const firstType = (es: Expr[]): ExprType => es.map(typeIn).find((t) => t !== 'null') ?? 'null';

  /** Compiles `e`; an expression that is always NULL is cast to `want` so that function overloads resolve. */
  const sql = (e: Expr, want: ExprType = 'null'): string => {
    if (want !== 'null' && e.kind !== 'null' && typeIn(e) === 'null') return `CAST(${sql(e)} AS ${SQL_TYPES[want]})`;
    switch (e.kind) {
      case 'number':
      case 'string':
      case 'boolean':
        return literalSql(e);
      case 'null':
        return want === 'null' ? 'NULL' : `CAST(NULL AS ${SQL_TYPES[want]})`;
      case 'column':
        return column(e.name);
      case 'negate':
        return `(-${sql(e.arg, 'number')})`;
      case 'not':
        return `(NOT ${sql(e.arg, 'boolean')})`;
      case 'arithmetic': {
        const left = sql(e.left, 'number');
        const right = sql(e.right, 'number');
        if (e.op === '/' || e.op === '%') return `(${left} ${e.op} NULLIF(${right}, 0))`;
        return `(${left} ${e.op} ${right})`;
      }
      case 'compare': {
        const type = firstType([e.left, e.right]);
        return `(${sql(e.left, type)} ${e.op === '!=' ? '<>' : e.op} ${sql(e.right, type)})`;
      }
      case 'logical':
        return `(${sql(e.left, 'boolean')} ${e.op.toUpperCase()} ${sql(e.right, 'boolean')})`;
      case 'isNull':
        return `(${sql(e.arg)} IS ${e.negated ? 'NOT ' : ''}NULL)`;
      case 'in': {
        const type = firstType([e.arg, ...e.values]);
        return `(${sql(e.arg, type)} ${e.negated ? 'NOT ' : ''}IN (${e.values.map(literalSql).join(', ')}))`;
      }
      case 'case': {
        const type = firstType([...e.branches.map((b) => b.then), ...(e.otherwise ? [e.otherwise] : [])]);
        const whens = e.branches.map((b) => `WHEN ${sql(b.when, 'boolean')} THEN ${sql(b.then, type)}`).join(' ');
        return `(CASE ${whens}${e.otherwise ? ` ELSE ${sql(e.otherwise, type)}` : ''} END)`;
      }
      case 'call': {
        const fn = e.fn as FunctionName;
        const params = FIXED_PARAMS[fn];
        const shared = params ? 'null' : firstType(e.args);
        const args = e.args.map((a, i) => sql(a, params ? (params[i] ?? 'null') : shared));
        return FUNCTION_SQL[fn](args);
      }
    }
  };
  typeIn(expr);
  return sql(expr);
}

/** DuckDB column types, grouped into the language's value types; anything else cannot be read by features. */
export function valueTypeOfDuckDbType(duckdbType: string): ValueType | undefined {
  const t = duckdbType.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL(\(\d+,\s*\d+\))?)$/.test(t)) return 'number';
  if (t === 'VARCHAR') return 'string';
  if (t === 'BOOLEAN') return 'boolean';
  if (/^(TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE|DATE)$/.test(t)) return 'timestamp';
  return undefined;
}

/**
 * SQL that reads a raw column as its language type: integers and decimals widen to DOUBLE, a NaN or
 * infinite float reads as NULL (as in the JavaScript backend), and every timestamp flavour becomes a
 * UTC TIMESTAMP (sessions run with TimeZone = 'UTC').
 */
export function columnReadSql(qualifiedName: string, duckdbType: string): string {
  const type = valueTypeOfDuckDbType(duckdbType);
  const t = duckdbType.toUpperCase();
  switch (type) {
    case 'number':
      if (t === 'FLOAT' || t === 'DOUBLE') return `(CASE WHEN isfinite(${qualifiedName}) THEN CAST(${qualifiedName} AS DOUBLE) END)`;
      return `CAST(${qualifiedName} AS DOUBLE)`;
    case 'timestamp':
      return t === 'TIMESTAMP' ? qualifiedName : `CAST(${qualifiedName} AS TIMESTAMP)`;
    case 'string':
    case 'boolean':
      return qualifiedName;
    case undefined:
      throw new Error(`column ${qualifiedName} has DuckDB type ${duckdbType}, which features cannot read`);
  }
}
