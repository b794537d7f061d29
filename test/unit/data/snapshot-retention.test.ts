import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expiredSnapshots } from '../../../domain/features/snapshot-retention.ts';

describe('online snapshot retention', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  const written = (minutesAgo: number, i: number) => ({ key: `online-features/spec=s/dataset=d/as-of=2026-12-07T0${i}:00:00.000Z.snap`, lastModified: new Date(now - minutesAgo * 60_000) });
  // Oldest first, as listSnapshots gives them: written 5 h, 4 h, ... ago, the newest a minute ago.
  const listed = [300, 240, 180, 120, 30, 1].map(written);

  test('keeps the newest `keep`, and removes older ones only once they are `minAgeMs` old', () => {
    assert.deepEqual(expiredSnapshots(listed, { keep: 2, minAgeMs: 3_600_000 }, now), listed.slice(0, 4));
    assert.deepEqual(expiredSnapshots(listed, { keep: 1, minAgeMs: 3_600_000 }, now), listed.slice(0, 4), 'the one written 30 min ago is too young to go');
    assert.deepEqual(expiredSnapshots(listed, { keep: 1, minAgeMs: 0 }, now), listed.slice(0, 5));
  });

  test('never removes the newest, whatever its age, nor anything when there are no more than `keep`', () => {
    assert.deepEqual(expiredSnapshots(listed, { keep: 6, minAgeMs: 0 }, now), []);
    assert.deepEqual(expiredSnapshots([written(1000, 1)], { keep: 1, minAgeMs: 0 }, now), []);
    assert.deepEqual(expiredSnapshots([], { keep: 2, minAgeMs: 0 }, now), []);
  });
});
