import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compactionPlan,
  decodeSources,
  encodeSources,
  groupHour,
  hoursOfWindow,
  hoursToCompact,
  lastClosedHour,
  parseLogKey,
  uncoveredFiles,
} from '../../../domain/prediction-log/log-files.ts';
import { predictionLogKeys } from '../../../shared/api/prediction-log.ts';

const H = '2026-01-01T10';
const small = (version: number, id: string) => ({ key: predictionLogKeys.file('m', H, `v${String(version).padStart(6, '0')}-${id}`) });
const compacted = (version: number) => ({ key: predictionLogKeys.compacted('m', H, version), etag: `e${version}` });

describe('parseLogKey', () => {
  test('tells small files from compacted ones and reads hour and version', () => {
    assert.deepEqual(parseLogKey(small(7, '1700000000000-ab12').key), { key: small(7, '1700000000000-ab12').key, hour: H, version: 7, fileId: 'v000007-1700000000000-ab12', compacted: false });
    assert.equal(parseLogKey(compacted(7).key)?.compacted, true);
    assert.equal(parseLogKey(compacted(12).key)?.version, 12);
    assert.equal(parseLogKey(`predictions/model=m/hour=${H}/notes.json`), undefined);
    assert.equal(parseLogKey(`predictions/model=m/hour=${H}/replay.parquet`), undefined, 'a file without a version prefix is no log file');
  });
});

describe('hours', () => {
  test('a window covers the hours it overlaps, its end exclusive', () => {
    assert.deepEqual(hoursOfWindow('2026-01-01T10:30:00.000Z', '2026-01-01T12:00:00.000Z'), ['2026-01-01T10', '2026-01-01T11']);
    assert.deepEqual(hoursOfWindow('2026-01-01T23:00:00.000Z', '2026-01-02T00:00:00.001Z'), ['2026-01-01T23', '2026-01-02T00']);
    assert.deepEqual(hoursOfWindow('2026-01-01T10:00:00.000Z', '2026-01-01T10:00:00.000Z'), []);
  });

  test('an hour is closed once it ended closedAfter ago', () => {
    const fiveMinutes = 5 * 60_000;
    assert.equal(lastClosedHour(Date.parse('2026-01-01T11:05:00.000Z'), fiveMinutes), '2026-01-01T10');
    assert.equal(lastClosedHour(Date.parse('2026-01-01T11:04:59.999Z'), fiveMinutes), '2026-01-01T09', 'hour 10 ended under five minutes ago: still open');
    assert.equal(lastClosedHour(Date.parse('2026-01-01T00:10:00.000Z'), fiveMinutes), '2025-12-31T23');
  });

  test('a first run visits the closed hours its listing shows; later runs the lookback and what closed since', () => {
    assert.deepEqual(hoursToCompact({ through: undefined, listedHours: ['2026-01-01T12', '2026-01-01T09', '2026-01-01T09', '2026-01-01T11'], lastClosed: '2026-01-01T11', lookbackHours: 24 }), ['2026-01-01T09', '2026-01-01T11']);
    assert.deepEqual(hoursToCompact({ through: '2026-01-01T23', listedHours: [], lastClosed: '2026-01-02T01', lookbackHours: 2 }), ['2026-01-01T22', '2026-01-01T23', '2026-01-02T00', '2026-01-02T01']);
    assert.deepEqual(hoursToCompact({ through: '2026-01-01T23', listedHours: [], lastClosed: '2026-01-01T20', lookbackHours: 2 }), [], 'never an hour that is not closed');
  });
});

describe('reading and compacting an hour', () => {
  const listing = [small(1, '3-c'), compacted(1), small(1, '1-a'), small(2, '2-b'), { key: `predictions/model=m/hour=${H}/_tmp` }, small(1, '2-b')];

  test('groups one hour by version, the compacted file apart', () => {
    const groups = groupHour(listing);
    assert.deepEqual(groups.map((g) => [g.version, g.compacted?.fileId, g.small.map((f) => f.fileId)]), [
      [1, 'v000001-compacted', ['v000001-1-a', 'v000001-2-b', 'v000001-3-c']],
      [2, undefined, ['v000002-2-b']],
    ]);
    assert.equal(groups[0]?.compacted?.etag, 'e1');
    assert.deepEqual(groupHour(listing, [2]).map((g) => g.version), [2], 'only the versions asked for');
  });

  test('a reader skips the small files the compacted one holds and reads the others', () => {
    const [v1] = groupHour(listing);
    assert.ok(v1);
    assert.deepEqual(uncoveredFiles(v1, new Set(['v000001-1-a', 'v000001-2-b'])).map((f) => f.fileId), ['v000001-3-c'], 'a late file is read beside the compacted one');
    assert.deepEqual(uncoveredFiles(v1, new Set()).length, 3, 'before compaction: every small file');
  });

  test('compaction merges what is not held yet, then removes every small file the new file holds', () => {
    const [v1, v2] = groupHour(listing);
    assert.ok(v1 && v2);
    const first = compactionPlan(v2, new Set());
    assert.deepEqual([first.merge.map((f) => f.fileId), first.sources, first.remove.map((f) => f.fileId)], [['v000002-2-b'], ['v000002-2-b'], ['v000002-2-b']]);
    const late = compactionPlan(v1, new Set(['v000001-1-a', 'v000001-2-b']));
    assert.deepEqual([late.merge.map((f) => f.fileId), late.sources, late.remove.length], [['v000001-3-c'], ['v000001-1-a', 'v000001-2-b', 'v000001-3-c'], 3]);
    const retry = compactionPlan(v1, new Set(['v000001-1-a', 'v000001-2-b', 'v000001-3-c', 'v000001-0-gone']));
    assert.deepEqual([retry.merge.length, retry.remove.length], [0, 3], 'after a crash between write and deletes: only deletes');
    const done = compactionPlan({ version: 1, compacted: v1.compacted, small: [] }, new Set(['v000001-1-a']));
    assert.deepEqual([done.merge.length, done.remove.length], [0, 0], 'a compacted hour: nothing to do');
  });

  test('sources round-trip through the metadata text', () => {
    assert.deepEqual(decodeSources(encodeSources(['v000001-1-a', 'v000001-2-b'])), new Set(['v000001-1-a', 'v000001-2-b']));
    assert.deepEqual(decodeSources(''), new Set());
  });
});
