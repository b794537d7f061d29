import type { ValueType } from '../../shared/data/expression-types.ts';
import { parseTimestamp } from '../../shared/data/timestamp.ts';
import type { JsValue } from './expression/expression-js.ts';
import { SluiceError } from '../../shared/errors.ts';

/**
 * Reads one field of a raw request event as its declared type. Offline, DuckDB holds typed columns;
 * online, events arrive as JSON, so this is where "2001-03-04T10:15:00" becomes epoch milliseconds
 * (naive means UTC) and a wrong type becomes a clear error rather than a silently wrong feature.
 */

export class OnlineEventError extends SluiceError {
  override readonly name = 'OnlineEventError';
  readonly kind = 'InvalidInput';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`event field "${field}": ${problem}`);
  }
}

const describe = (value: unknown) => (typeof value === 'string' ? `string ${JSON.stringify(value.slice(0, 50))}` : typeof value);

const MAX_EPOCH_MS = 8.64e15;

export function readEventField(event: Readonly<Record<string, unknown>>, field: string, type: ValueType): JsValue {
  if (!Object.hasOwn(event, field) || event[field] === undefined) throw new OnlineEventError(field, `missing (expected a ${type} or null)`);
  const value = event[field];
  if (value === null) return null;
  switch (type) {
    case 'number':
      if (typeof value === 'number') return Number.isFinite(value) ? value : null;
      if (typeof value === 'bigint') return Number(value);
      break;
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      break;
    case 'timestamp': {
      if (typeof value === 'number' && Number.isFinite(value)) {
        // Beyond ±8.64e15 ms (±275,760 years) no Date, and no timestamp offline, exists: refused rather than scored.
        if (Math.abs(value) > MAX_EPOCH_MS) throw new OnlineEventError(field, `${value} is outside the epoch-millisecond range of a timestamp (±${MAX_EPOCH_MS})`);
        return Math.trunc(value);
      }
      if (value instanceof Date && Number.isFinite(value.getTime())) return value.getTime();
      if (typeof value === 'string') {
        const parsed = parseTimestamp(value);
        if (parsed === undefined) throw new OnlineEventError(field, `${JSON.stringify(value.slice(0, 50))} is not an ISO 8601 timestamp`);
        return parsed;
      }
      break;
    }
  }
  throw new OnlineEventError(field, `expected a ${type === 'timestamp' ? 'timestamp (ISO 8601 string or epoch milliseconds)' : type}, got ${describe(value)}`);
}
