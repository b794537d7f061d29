import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expressionToJs } from '../../../domain/features/expression/expression-js.ts';
import { parseExpression } from '../../../shared/data/expression.ts';
import { parseTimestamp } from '../../../shared/data/timestamp.ts';

/**
 * The request path reads `YYYY-MM-DDTHH:MM:SS[.mmm][Z]` by hand and computes hour and weekday by
 * arithmetic; both must agree with the general parser and with Date for every instant, including
 * dates that do not exist and instants before 1970.
 */

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** What the general (regex) path makes of the text: a space instead of the T never takes the fast path. */
const generalPath = (text: string) => parseTimestamp(text.replace('T', ' '));

describe('timestamps on the request path', () => {
  test('the hand-written common form agrees with the general parser, valid or not', () => {
    let valid = 0;
    let invalid = 0;
    for (let year = 1896; year <= 2104; year += 3) {
      for (let month = 0; month <= 13; month++) {
        for (const day of [0, 1, 15, 28, 29, 30, 31, 32]) {
          for (const [hour, minute, second] of [[0, 0, 0], [23, 59, 59], [24, 0, 0], [12, 60, 0], [7, 5, 61]] as const) {
            const base = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;
            for (const text of [base, `${base}Z`, `${base}.123`, `${base}.007Z`]) {
              const expected = generalPath(text);
              assert.equal(parseTimestamp(text), expected, text);
              if (expected === undefined) invalid++;
              else valid++;
            }
          }
        }
      }
    }
    assert.ok(valid > 10_000 && invalid > 10_000, `both kinds exercised: ${valid} valid, ${invalid} invalid`);
    assert.equal(parseTimestamp('2001-02-29T10:00:00'), undefined, 'no Feb 29 in 2001');
    assert.equal(parseTimestamp('2000-02-29T10:00:00Z'), Date.UTC(2000, 1, 29, 10));
    assert.equal(parseTimestamp('1969-12-31T23:59:59.999Z'), -1);
  });

  test('text that only looks like the common form is left to the general parser', () => {
    for (const text of ['2001-03-04T10:15:0a', '2001-03-04X10:15:00', '2001-03-04T10:15:00z', '2001-03-04T10:15:00.12', '+001-03-04T10:15:00', '2001-03-04T10:15:00+02:00']) {
      assert.equal(parseTimestamp(text), generalPath(text), text);
    }
    assert.equal(parseTimestamp('2001-03-04T10:15:00+02:00'), Date.UTC(2001, 2, 4, 8, 15));
  });

  test('hour, minute and day_of_week agree with Date, before and after 1970', () => {
    const compile = (text: string) => expressionToJs<number>(parseExpression(text), { t: 'timestamp' }, () => (row) => row);
    const hour = compile('hour(t)');
    const minute = compile('minute(t)');
    const weekday = compile('day_of_week(t)');
    for (let t = Date.UTC(1900, 0, 1, 0, 0, 0, 1); t < Date.UTC(2100, 0, 1); t += 7_777_777_777) {
      for (const at of [t, t - 1, -t]) {
        const d = new Date(at);
        assert.equal(hour(at), d.getUTCHours(), `hour of ${d.toISOString()}`);
        assert.equal(minute(at), d.getUTCMinutes(), `minute of ${d.toISOString()}`);
        assert.equal(weekday(at), d.getUTCDay() || 7, `day_of_week of ${d.toISOString()}`);
      }
    }
  });
});
