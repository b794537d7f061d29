import { z } from 'zod';
import type { ValueType } from '../../shared/data/expression-types.ts';
import type { RawEvent } from '../../shared/api/predict.ts';
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

export function eventSchemaFor(fields: Readonly<Record<string, ValueType>>): z.ZodType<RawEvent> {
  const shape = Object.fromEntries(Object.entries(fields).map(([name, type]) => [name, fieldSchema(type)]));
  return z.strictObject(shape, { error: (issue) => (issue.code === 'invalid_type' ? `expected an event object, got ${describeValue(issue.input)}` : undefined) });
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
