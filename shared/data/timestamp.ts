/**
 * Timestamps as sluice reads them: ISO 8601 text or epoch milliseconds, and a naive timestamp (no
 * offset) means UTC. `Date.parse` would read a naive date-time as local time, which would make a
 * feature depend on the server's time zone, so the text form is parsed here by hand.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Epoch milliseconds of an ISO 8601 timestamp, or undefined when `text` is not one. Sub-millisecond digits are truncated. */
export function parseTimestamp(text: string): number | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, second, ms));
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  // A day past the month's end rolls over into the next month; a date that does not exist is not a timestamp.
  if (date.getUTCDate() !== day) return undefined;
  return date.getTime() - offsetMinutes(zone) * 60_000;
}

function offsetMinutes(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
}

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: the form DuckDB's TIMESTAMP literal takes. */
export function formatTimestampUtc(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}
