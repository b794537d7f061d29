import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OnlineSnapshot } from '../../../shared/data/online-snapshot.ts';
import { snapshotChanges } from '../../../domain/features/snapshot-changes.ts';

const snapshot = (origin: [(string | number)[], (number | null)[]][], route: [(string | number)[], (number | null)[]][] = []): OnlineSnapshot => ({
  kind: 'sluice.online-feature-snapshot',
  featureSpecHash: 'a'.repeat(64),
  datasetVersion: 'b'.repeat(64),
  asOf: '2001-06-01T00:00:00.000Z',
  tables: [
    { groupBy: ['origin'], features: ['rate', 'count'], entries: origin },
    { groupBy: ['origin', 'destination'], features: ['rate'], entries: route },
  ],
});

describe('snapshotChanges', () => {
  test('counts keys added, removed and changed over every table; an unchanged key is not counted', () => {
    const before = snapshot([[['ORD'], [0.1, 10]], [['ATL'], [0.2, 20]], [['DFW'], [0.3, null]]], [[['ORD', 'ATL'], [0.5]]]);
    const after = snapshot([[['ORD'], [0.1, 10]], [['ATL'], [0.25, 21]], [['SEA'], [0, 1]]], [[['ORD', 'ATL'], [0.5]], [['ATL', 'ORD'], [0.4]]]);
    assert.deepEqual(snapshotChanges(before, after), { keys: 5, added: 2, removed: 1, changed: 1 });
  });

  test('a first snapshot adds every key; the same snapshot again changes none', () => {
    const only = snapshot([[['ORD'], [0.1, 10]]], [[['ORD', 'ATL'], [0.5]]]);
    assert.deepEqual(snapshotChanges(undefined, only), { keys: 2, added: 2, removed: 0, changed: 0 });
    assert.deepEqual(snapshotChanges(only, structuredClone(only)), { keys: 2, added: 0, removed: 0, changed: 0 });
  });

  test('the string "1" and the number 1 are different keys, and null differs from 0', () => {
    assert.deepEqual(snapshotChanges(snapshot([[['1'], [0, 1]]]), snapshot([[[1], [0, 1]]])), { keys: 1, added: 1, removed: 1, changed: 0 });
    assert.deepEqual(snapshotChanges(snapshot([[['X'], [null, 1]]]), snapshot([[['X'], [0, 1]]])), { keys: 1, added: 0, removed: 0, changed: 1 });
  });
});
