import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY_MS, ReplayClock, ReplayClockError, alignedStart, labelKnownAt, replayedDays, scaleDuration } from '../../../scripts/replay/replay-clock.ts';
import { parseDurationMs } from '../../../shared/duration.ts';

const FIRST = '2001-02-22T00:00:00.000Z';

test('replayed and real time map both ways, one replayed day per dayMs', () => {
  const clock = new ReplayClock({ firstDay: FIRST, startMs: 1_000_000, dayMs: 5000 });
  assert.equal(clock.realAt(Date.parse(FIRST)), 1_000_000);
  assert.equal(clock.realAt(Date.parse('2001-03-01T00:00:00.000Z')), 1_000_000 + 7 * 5000);
  assert.equal(clock.realAt(Date.parse('2001-02-22T12:00:00.000Z')), 1_002_500);
  assert.equal(clock.replayedAt(1_002_500), Date.parse('2001-02-22T12:00:00.000Z'));
  for (const t of [0, 123_456, 9_999_999]) assert.equal(clock.realAt(clock.replayedAt(t)), t);
});

test('a clock refuses a first day that is not a UTC midnight and a day shorter than a second', () => {
  assert.throws(() => new ReplayClock({ firstDay: '2001-02-22T01:00:00.000Z', startMs: 0, dayMs: 5000 }), ReplayClockError);
  assert.throws(() => new ReplayClock({ firstDay: 'soon', startMs: 0, dayMs: 5000 }), ReplayClockError);
  assert.throws(() => new ReplayClock({ firstDay: FIRST, startMs: 0, dayMs: 999 }), ReplayClockError);
});

test('replayed durations reach the product scaled, in its duration grammar', () => {
  assert.equal(scaleDuration(7 * DAY_MS, 5000), '35000ms');
  assert.equal(parseDurationMs(scaleDuration(7 * DAY_MS, 5000)), 35_000);
  assert.equal(scaleDuration(DAY_MS / 2, 5000), '2500ms');
  assert.equal(scaleDuration(1, 5000), '1ms', 'never zero: a zero interval is no schedule');
});

test('the aligned start puts a schedule firing (a multiple of its period since the epoch) on the chosen replayed instant', () => {
  const dayMs = 5000;
  const period = 31 * dayMs;
  // 1 Apr is 38 replayed days after 22 Feb: the replay must start 38 days of real time before a firing.
  const start = alignedStart(1_700_000_000_123, period, -38 * dayMs);
  assert.ok(start >= 1_700_000_000_123 && start < 1_700_000_000_123 + period);
  const clock = new ReplayClock({ firstDay: FIRST, startMs: start, dayMs });
  assert.equal(clock.realAt(Date.parse('2001-04-01T00:00:00.000Z')) % period, 0);
  // The firings before and after it: 1 Mar, 2 May, 2 Jun.
  for (const [k, day] of [[-1, '2001-03-01'], [1, '2001-05-02'], [2, '2001-06-02']] as const) {
    assert.equal(new Date(clock.replayedAt(clock.realAt(Date.parse('2001-04-01T00:00:00.000Z')) + k * period)).toISOString().slice(0, 10), day);
  }
  // Every replayed midnight is a multiple of a day, where the daily refresh Schedule fires.
  assert.equal(start % dayMs, 0);
  assert.equal(alignedStart(100, 10, 0), 100);
  assert.throws(() => alignedStart(0, 0, 0), ReplayClockError);
});

test('days and label times', () => {
  assert.deepEqual(replayedDays(FIRST, '2001-02-25T00:00:00.000Z').map((d) => new Date(d).toISOString().slice(0, 10)), ['2001-02-22', '2001-02-23', '2001-02-24']);
  const departure = Date.parse('2001-03-01T10:00:00.000Z');
  assert.equal(labelKnownAt(departure, 45), departure + 45 * 60_000);
  assert.equal(labelKnownAt(departure, -5), departure, 'an early departure is known when it leaves');
});
