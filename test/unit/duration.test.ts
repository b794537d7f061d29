import assert from 'node:assert/strict';
import { test } from 'node:test';
import { durationMs, durationSchema, parseDurationMs } from '../../shared/duration.ts';

test('one grammar takes the short units of monitoring and the spelled-out ones of approval and rollout plans', () => {
  assert.equal(parseDurationMs('90s'), 90_000);
  assert.equal(parseDurationMs(' 1.5h '), 5_400_000);
  assert.equal(parseDurationMs('30 seconds'), 30_000);
  assert.equal(parseDurationMs('1 minute'), 60_000);
  assert.equal(parseDurationMs('7 days'), 604_800_000);
  assert.equal(parseDurationMs('250ms'), 250);
  for (const bad of ['weekly', '1 week', '-1h', 'h', '1H', '']) {
    assert.equal(parseDurationMs(bad), undefined, bad);
    assert.equal(durationSchema.safeParse(bad).success, false, bad);
  }
  assert.throws(() => durationMs('weekly'), /expected a duration .*got "weekly"/);
});
