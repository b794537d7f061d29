import { z } from 'zod';
import type { ValueType } from '../../shared/data/expression-types.ts';
import type { PredictRequest, RawEvent } from '../../shared/api/predict.ts';
import { ApiError } from '../errors.ts';

/**
 * The request schema of one model version's events, built once from the raw fields its features
 * read (the choices are documented in shared/api/predict.ts): every field required, null for
 * unknown, no unknown fields, no coercion, finite numbers only.
 */

const MAX_STRING = 1024;

const required = (type: string) => ({ error: (issue: { input: unknown }) => (issue.input === undefined ? `required (send null when the ${type} is unknown)` : `expected a ${type} or null, got ${describeValue(issue.input)}`) });

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'a number too large to represent (it parsed as Infinity)';
  return value === null ? 'null' : typeof value;
}

function fieldSchema(type: ValueType): z.ZodType {
  switch (type) {
    case 'number':
      // z.number() refuses Infinity, which is what JSON.parse makes of an overflowing literal such as 1e999.
      return z.number(required('number')).nullable();
    case 'string':
      return z.string(required('string')).max(MAX_STRING, `expected at most ${MAX_STRING} characters`).nullable();
    case 'boolean':
      return z.boolean(required('boolean (true or false)')).nullable();
    case 'timestamp':
      // The text is parsed once, by the feature code that reads it; a string it cannot read is a FeatureInputError.
      return z.union([z.string().max(64, 'expected an ISO 8601 timestamp of at most 64 characters'), z.number().int('expected whole epoch milliseconds')], required('timestamp (ISO 8601 string or epoch milliseconds)')).nullable();
  }
}

function eventSchemaFor(fields: Readonly<Record<string, ValueType>>): z.ZodType<RawEvent> {
  const shape = Object.fromEntries(Object.entries(fields).map(([name, type]) => [name, fieldSchema(type)]));
  return z.strictObject(shape, { error: (issue) => (issue.code === 'invalid_type' ? `expected an event object, got ${describeValue(issue.input)}` : undefined) });
}

/**
 * A version's events, checked on the request path. `accepts` is the zod schema's rule written as
 * plain type checks (a zod parse of a small event costs about as much as assembling its features):
 * it may refuse what zod would take, never the reverse, and whatever it refuses goes through zod,
 * so every error message still comes from the schema.
 */
export class EventValidator {
  readonly schema: z.ZodType<RawEvent>;
  private readonly fields: readonly (readonly [string, ValueType])[];
  private readonly types: ReadonlyMap<string, ValueType>;
  private readonly fieldSchemas = new Map<string, z.ZodType>();

  constructor(fields: Readonly<Record<string, ValueType>>) {
    this.schema = eventSchemaFor(fields);
    this.fields = Object.entries(fields);
    this.types = new Map(this.fields);
  }

  /**
   * A batch in columns as events of this version, checked by the same rules as event objects; a
   * problem is an `InvalidRequest` naming its place: `columns[2]`, `data[3]` or `data[3][1]` (under
   * the keys `at` gives, e.g. MLflow's `dataframe_split.data[3][1]`).
   */
  checkColumns(columns: readonly string[], data: readonly unknown[], at = { columns: 'columns', data: 'data' }): RawEvent[] {
    const types = columns.map((name, j) => {
      const type = this.types.get(name);
      if (type === undefined) throw new ApiError('InvalidRequest', `${at.columns}[${j}]: unknown field "${name}": not read by this model's features`, { field: `${at.columns}[${j}]` });
      if (columns.indexOf(name) !== j) throw new ApiError('InvalidRequest', `${at.columns}[${j}]: "${name}" is given twice`, { field: `${at.columns}[${j}]` });
      return type;
    });
    const missing = this.fields.filter(([name]) => !columns.includes(name)).map(([name]) => `"${name}"`);
    if (missing.length > 0) throw new ApiError('InvalidRequest', `${at.columns}: missing ${missing.join(', ')} (every field is required; send null values when unknown)`, { field: at.columns });
    const width = columns.length;
    const events = new Array<RawEvent>(data.length);
    for (let i = 0; i < data.length; i++) {
      const row = data[i];
      if (!Array.isArray(row) || row.length !== width) {
        throw new ApiError('InvalidRequest', `${at.data}[${i}]: expected an array of ${width} values (one per column), got ${Array.isArray(row) ? `${row.length}` : describeValue(row)}`, { field: `${at.data}[${i}]` });
      }
      const event: Record<string, unknown> = {};
      for (let j = 0; j < width; j++) {
        const value: unknown = row[j];
        if (!valueFits(value, types[j] as ValueType)) this.refuseCell(columns[j] as string, value, `${at.data}[${i}][${j}]`);
        event[columns[j] as string] = value;
      }
      events[i] = event;
    }
    return events;
  }

  /** Throws the field schema's own message for a value `valueFits` refused (it may refuse what the schema takes, never the reverse). */
  private refuseCell(name: string, value: unknown, field: string): void {
    let schema = this.fieldSchemas.get(name);
    if (!schema) this.fieldSchemas.set(name, (schema = fieldSchema(this.types.get(name) as ValueType)));
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw invalidRequest(parsed.error, field);
  }

  /** `value` as an event of this version, or an `InvalidRequest` naming the field under `prefix`. */
  check(value: unknown, prefix: string): RawEvent {
    if (this.accepts(value)) return value;
    const parsed = this.schema.safeParse(value);
    if (!parsed.success) throw invalidRequest(parsed.error, prefix);
    return parsed.data;
  }

  accepts(value: unknown): value is RawEvent {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const event = value as Record<string, unknown>;
    let keys = 0;
    for (const key in event) {
      if (!Object.hasOwn(event, key)) return false;
      keys++;
    }
    if (keys !== this.fields.length) return false;
    for (const [name, type] of this.fields) {
      if (!Object.hasOwn(event, name) || !valueFits(event[name], type)) return false;
    }
    return true;
  }
}

/** A field's rule as plain type checks, for the request path (the zod schema names what is wrong). */
function valueFits(v: unknown, type: ValueType): boolean {
  if (v === null) return true;
  switch (type) {
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string' && v.length <= MAX_STRING;
    case 'boolean':
      return typeof v === 'boolean';
    case 'timestamp':
      return typeof v === 'string' ? v.length <= 64 : Number.isSafeInteger(v);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The envelope schema's rule as plain checks, for the request path: anything it refuses goes through
 * `predictRequestSchema`, which names the problem. Events are only checked to be objects here; their
 * fields are the routed version's business.
 */
export function isPlainPredictRequest(body: unknown): body is PredictRequest {
  if (!isObject(body)) return false;
  let keys = 0;
  for (const key in body) {
    if (!Object.hasOwn(body, key) || (key !== 'event' && key !== 'events' && key !== 'columns' && key !== 'data' && key !== 'routingKey')) return false;
    keys++;
  }
  const { event, events, columns, data, routingKey } = body;
  if (routingKey !== undefined && (typeof routingKey !== 'string' || routingKey.length === 0 || routingKey.length > 256)) return false;
  const shapeKeys = keys - (routingKey === undefined ? 0 : 1);
  if (columns !== undefined) {
    if (shapeKeys !== 2 || !Array.isArray(columns) || columns.length === 0 || !Array.isArray(data) || data.length === 0) return false;
    for (const c of columns) if (typeof c !== 'string' || c.length === 0) return false;
    for (const row of data) if (!Array.isArray(row)) return false;
    return true;
  }
  if (shapeKeys !== 1) return false;
  if (event !== undefined) return isObject(event);
  if (!Array.isArray(events) || events.length === 0) return false;
  for (const e of events) if (!isObject(e)) return false;
  return true;
}

/** `events[2].distance` from a zod path under `prefix`. */
export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out;
}

/** The first problem of a failed parse as a 400 naming the field; the message lists how many more there are. */
export function invalidRequest(error: z.ZodError, prefix: string): ApiError {
  const issues = error.issues;
  const first = issues[0];
  if (first === undefined) return new ApiError('InvalidRequest', 'invalid request');
  let field = fieldPath(prefix, first.path);
  let message = first.message;
  if (first.code === 'unrecognized_keys') {
    const key = first.keys[0] ?? '';
    field = fieldPath(prefix, [...first.path, key]);
    message = `unknown field${first.keys.length > 1 ? `s ${first.keys.map((k) => `"${k}"`).join(', ')}` : ` "${key}"`}: not read by this model's features`;
  } else if (first.code === 'invalid_union') {
    // A timestamp's union: say what both accepted forms are rather than "Invalid input".
    const inner = first.errors.flat()[0];
    if (inner && inner.code !== 'invalid_type') message = inner.message;
  }
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new ApiError('InvalidRequest', `${field || 'body'}: ${message}${more}`, field ? { field } : {});
}
