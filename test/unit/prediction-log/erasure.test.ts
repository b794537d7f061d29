import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { withoutRequests } from '../../../domain/prediction-log/erase-feedback.ts';
import { lastClosedHour } from '../../../domain/prediction-log/log-files.ts';
import { withoutModelLabels } from '../../../domain/prediction-log/retention.ts';
import { erasurePredicate, hoursBetween } from '../../../domain/prediction-log/erase-rows.ts';
import { predictionLogKeys } from '../../../shared/api/prediction-log.ts';
import { erasureHours, erasureMatchSchema } from '../../../shared/prediction-log-erasure.ts';

describe('erasurePredicate', () => {
  test('keeps rows without a routing key that no request id matches, and quotes what it is given', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      await db.run(`CREATE TABLE log AS SELECT * FROM (VALUES ('r1', 'k1'), ('r2', NULL), ('r3', 'k2'), ('r4', NULL), ('o''brien', NULL)) t(request_id, routing_key)`);
      const kept = async (match: { requestIds?: string[]; routingKeys?: string[] }) =>
        (await db.runAndReadAll(`SELECT request_id FROM log WHERE NOT ${erasurePredicate(erasureMatchSchema.parse(match))} ORDER BY request_id`)).getRowObjectsJS().map((r) => r.request_id);
      assert.deepEqual(await kept({ routingKeys: ['k1'] }), ["o'brien", 'r2', 'r3', 'r4'], 'NULL routing keys are kept, not dropped by NULL logic');
      assert.deepEqual(await kept({ requestIds: ['r2'] }), ["o'brien", 'r1', 'r3', 'r4']);
      assert.deepEqual(await kept({ requestIds: ['r4'], routingKeys: ['k2'] }), ["o'brien", 'r1', 'r2']);
      assert.deepEqual(await kept({ routingKeys: ["x') OR TRUE OR ('"] }), ["o'brien", 'r1', 'r2', 'r3', 'r4'], 'a key is a value, never SQL');
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });

  test('the match needs at least one id or key', () => {
    assert.equal(erasureMatchSchema.safeParse({}).success, false);
    assert.equal(erasureMatchSchema.safeParse({ requestIds: ['bad id with spaces'] }).success, false);
  });
});

describe('withoutRequests', () => {
  const line = (id: string, model?: string) => JSON.stringify({ request_id: id, event_index: 0, label: true, ...(model ? { model } : {}) });
  test('drops the lines of the ids that belong to the model or to no model, keeps the rest', () => {
    const text = [line('a', 'm'), line('b', 'm'), line('a', 'other'), line('a'), line('c')].join('\n') + '\n';
    const out = withoutRequests(text, new Set(['a']), 'm');
    assert.equal(out.before, 5);
    assert.equal(out.erased, 2);
    assert.equal(out.text, [line('b', 'm'), line('a', 'other'), line('c')].join('\n') + '\n');
  });
  test('a file left empty has no text', () => {
    assert.deepEqual(withoutRequests(`${line('a', 'm')}\n`, new Set(['a']), 'm'), { text: '', before: 1, erased: 1 });
  });
});

describe('erasure hours', () => {
  test('closed hours now, the rest once they have closed', () => {
    // 10:03 with 5 minutes to close: 08 is the newest closed hour; 09 (closes 10:05) and 10 are open until 11:05.
    const now = Date.parse('2026-01-01T10:03:00Z');
    assert.deepEqual(erasureHours(now, 300_000), { lastClosed: '2026-01-01T08', openHours: ['2026-01-01T09', '2026-01-01T10'], openClosesAtMs: Date.parse('2026-01-01T11:05:00Z') });
    assert.deepEqual(erasureHours(Date.parse('2026-01-01T10:06:00Z'), 300_000).openHours, ['2026-01-01T10']);
  });
  test('hoursBetween picks the listed hours in (after, through]', () => {
    const keys = ['2026-01-01T07', '2026-01-01T08', '2026-01-01T09', '2026-01-01T09'].map((h, i) => predictionLogKeys.file('m', h, `v000001-${i}`));
    assert.deepEqual(hoursBetween([...keys, 'predictions/model=m/other.json'], '2026-01-01T08'), ['2026-01-01T07', '2026-01-01T08']);
    assert.deepEqual(hoursBetween(keys, '2026-01-01T09', '2026-01-01T07'), ['2026-01-01T08', '2026-01-01T09']);
  });
});

describe('retention', () => {
  test('an hour expires once its last instant is older than the retention', () => {
    // At 10:30 with 2h: 08:00-09:00 ended 1.5 h ago and is kept; 07 ended 2.5 h ago and expires.
    assert.equal(lastClosedHour(Date.parse('2026-01-01T10:30:00Z'), 2 * 3_600_000), '2026-01-01T07');
    assert.equal(lastClosedHour(Date.parse('2026-01-01T11:00:00Z'), 2 * 3_600_000), '2026-01-01T08');
  });
  test('feedback retention drops the model\'s labels only; another model\'s and unnamed ones stay', () => {
    const line = (id: string, model?: string) => JSON.stringify({ request_id: id, label: true, ...(model ? { model } : {}) });
    const out = withoutModelLabels([line('a', 'm'), line('b', 'other'), line('c'), line('d', 'm')].join('\n'), 'm');
    assert.deepEqual(out, { text: `${line('b', 'other')}\n${line('c')}\n`, before: 4, deleted: 2 });
    assert.deepEqual(withoutModelLabels(`${line('a', 'm')}\n`, 'm'), { text: '', before: 1, deleted: 1 });
  });
});
