import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventValidator, isPlainPredictRequest } from '../../../api/predict/event-schema.ts';
import { predictRequestSchema } from '../../../shared/api/predict.ts';

/**
 * The predict route checks envelopes and events with hand-written rules before zod. The rules may
 * refuse what zod would take (zod then decides and names the problem), but must never take what zod
 * refuses: every generated value they accept must parse with zod, to the same value.
 */

const FIELDS = { origin: 'string', distance: 'number', date: 'timestamp', overnight: 'boolean' } as const;

const VALUES: unknown[] = [
  null, undefined, 0, -1, 733, 2.5, Infinity, -Infinity, NaN, 1e308, 2 ** 53, 2 ** 53 + 2, 1.5e12,
  '', 'ORD', '733', 'x'.repeat(64), 'x'.repeat(65), 'y'.repeat(1024), 'y'.repeat(1025), '2001-03-04T10:15:00Z',
  true, false, [], ['ORD'], {}, { nested: 1 },
];

/** Values of each type, valid or at the edge, so that many whole events pass. */
const PLAUSIBLE: Record<string, unknown[]> = {
  string: ['ORD', '', 'y'.repeat(1024), 'y'.repeat(1025), null],
  number: [733, -1, 0.5, 1e308, Infinity, null],
  timestamp: ['2001-03-04T10:15:00Z', 'not a date', 'x'.repeat(65), 983700900000, 1.5, 2 ** 53 + 2, null],
  boolean: [true, false, null, 0],
};

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEvent(next: () => number): unknown {
  const roll = next();
  if (roll < 0.03) return VALUES[Math.floor(next() * VALUES.length)];
  const event: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(FIELDS)) {
    if (next() < 0.05) continue;
    const pool = next() < 0.85 ? (PLAUSIBLE[type] ?? VALUES) : VALUES;
    event[name] = pool[Math.floor(next() * pool.length)];
  }
  if (next() < 0.05) event.extra = 1;
  if (next() < 0.02) Object.defineProperty(event, '__proto__', { value: {}, enumerable: true });
  return event;
}

describe('request fast paths never accept what the schemas refuse', () => {
  test('EventValidator.accepts implies the zod schema parses to the same event', () => {
    const validator = new EventValidator(FIELDS);
    const next = rng(7);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 50_000; i++) {
      const event = randomEvent(next);
      const parsed = validator.schema.safeParse(event);
      if (validator.accepts(event)) {
        accepted++;
        assert.ok(parsed.success, `accepted but zod refuses: ${JSON.stringify(event)}`);
        assert.deepEqual(parsed.data, event);
      } else refused++;
    }
    assert.ok(accepted > 1000 && refused > 1000, `both outcomes exercised: ${accepted} accepted, ${refused} refused`);
  });

  test('a refused event still gets the schema\'s message naming the field', () => {
    const validator = new EventValidator(FIELDS);
    const good = { origin: 'ORD', distance: 733, date: '2001-03-04T10:15:00Z', overnight: null };
    assert.deepEqual(validator.check(good, 'event'), good);
    assert.throws(() => validator.check({ ...good, distance: '733' }, 'events[3]'), /events\[3\]\.distance: expected a number or null, got string "733"/);
    assert.throws(() => validator.check({ ...good, distance: Infinity }, 'event'), /event\.distance/);
    assert.throws(() => validator.check({ ...good, extra: 1 }, 'event'), /unknown field "extra"/);
    const { origin: _omitted, ...missing } = good;
    assert.throws(() => validator.check(missing, 'event'), /event\.origin: required/);
  });

  test('isPlainPredictRequest implies predictRequestSchema parses to the same request', () => {
    const next = rng(11);
    const pick = () => VALUES[Math.floor(next() * VALUES.length)];
    let accepted = 0;
    for (let i = 0; i < 30_000; i++) {
      const body: Record<string, unknown> = {};
      if (next() < 0.6) body.event = next() < 0.8 ? {} : pick();
      if (next() < 0.6) body.events = next() < 0.8 ? Array.from({ length: Math.floor(next() * 3) }, () => (next() < 0.9 ? {} : pick())) : pick();
      if (next() < 0.3) body.routingKey = next() < 0.7 ? 'user-1' : pick();
      if (next() < 0.05) body.other = 1;
      const candidate: unknown = next() < 0.02 ? pick() : body;
      const parsed = predictRequestSchema.safeParse(candidate);
      if (isPlainPredictRequest(candidate)) {
        accepted++;
        assert.ok(parsed.success, `accepted but zod refuses: ${JSON.stringify(candidate)}`);
        assert.deepEqual(parsed.data, candidate);
      }
    }
    assert.ok(accepted > 1000, `${accepted} accepted`);
  });
});
