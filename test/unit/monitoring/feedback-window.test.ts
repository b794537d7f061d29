import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { feedbackHoursForWindow, LABEL_DELAY_ALLOWANCE_MS } from '../../../domain/monitoring/window-files.ts';

const farFuture = Date.parse('2100-01-01T00:00:00Z');

describe('feedbackHoursForWindow: the label partitions a window reads', () => {
  test('a one-hour window reads its own hour and the allowance after it, nothing before', () => {
    const hours = feedbackHoursForWindow('2026-03-01T10:00:00.000Z', '2026-03-01T11:00:00.000Z', 2 * 3_600_000, farFuture);
    assert.deepEqual(hours, ['2026-03-01T10', '2026-03-01T11', '2026-03-01T12']);
  });

  test('the default allowance bounds what a long-lived model reads to the window plus 48 hours', () => {
    const hours = feedbackHoursForWindow('2026-03-01T10:00:00.000Z', '2026-03-01T11:00:00.000Z', LABEL_DELAY_ALLOWANCE_MS, farFuture);
    assert.equal(hours.length, 1 + 48);
    assert.equal(hours.at(-1), '2026-03-03T10');
  });

  test('hours that have not happened yet are not listed', () => {
    const now = Date.parse('2026-03-01T11:20:00Z');
    assert.deepEqual(feedbackHoursForWindow('2026-03-01T10:00:00.000Z', '2026-03-01T11:00:00.000Z', LABEL_DELAY_ALLOWANCE_MS, now), ['2026-03-01T10', '2026-03-01T11']);
  });

  test('a window that starts mid-hour still reads that hour', () => {
    assert.deepEqual(feedbackHoursForWindow('2026-03-01T10:30:00.000Z', '2026-03-01T11:00:00.000Z', 0, farFuture), ['2026-03-01T10']);
  });
});
