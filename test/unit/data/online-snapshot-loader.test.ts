import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ColumnarOnlineStore } from '../../../domain/features/columnar-online-store.ts';
import { loadSnapshotStore, newestSnapshot, readSnapshot, writeSnapshot } from '../../../domain/features/online-snapshot-loader.ts';
import { SnapshotOnlineStore } from '../../../domain/features/online-store.ts';
import type { OnlineSnapshot } from '../../../shared/data/online-snapshot.ts';
import { onlineFeatureKeys } from '../../../shared/storage-keys.ts';
import { MemoryStore } from '../api/support/memory-store.ts';

const spec = 'e'.repeat(64);
const dataset = 'f'.repeat(64);
const snapshotAt = (asOf: string, rate: number): OnlineSnapshot => ({
  kind: 'sluice.online-feature-snapshot',
  featureSpecHash: spec,
  datasetVersion: dataset,
  asOf,
  tables: [{ groupBy: ['origin'], features: ['rate'], entries: [[['ATL'], [rate]]] }],
});
/** Where snapshots written before the compact encoding sit: the same key with `.json`. */
const legacyKey = (asOf: string) => onlineFeatureKeys.snapshot(spec, dataset, asOf).replace(/\.snap$/, '.json');

describe('online snapshot loader', () => {
  test('writes .snap; reads .snap and legacy .json objects; the newest as-of wins across both', async () => {
    const store = new MemoryStore();
    const older = snapshotAt('2001-06-01T00:00:00.000Z', 0.1);
    const middle = snapshotAt('2001-06-02T00:00:00.000Z', 0.2);
    const newer = snapshotAt('2001-06-03T00:00:00.000Z', 0.3);
    const olderKey = await writeSnapshot(store, 'serving', older);
    assert.match(olderKey, /\/as-of=2001-06-01T00:00:00\.000Z\.snap$/);
    await store.put('serving', legacyKey(middle.asOf), JSON.stringify(middle));
    assert.equal((await newestSnapshot(store, 'serving', spec))?.key, legacyKey(middle.asOf), 'a legacy .json newer than every .snap is served');

    const legacy = await loadSnapshotStore(store, 'serving', legacyKey(middle.asOf));
    assert.ok(legacy instanceof SnapshotOnlineStore);
    assert.deepEqual(await legacy.get([{ groupBy: ['origin'], key: ['ATL'] }]), [{ rate: 0.2 }]);
    assert.deepEqual(await readSnapshot(store, 'serving', legacyKey(middle.asOf)), middle);

    const newerKey = await writeSnapshot(store, 'serving', newer);
    assert.equal((await newestSnapshot(store, 'serving', spec))?.key, newerKey);
    const compact = await loadSnapshotStore(store, 'serving', newerKey);
    assert.ok(compact instanceof ColumnarOnlineStore);
    assert.equal(compact.asOf, Date.parse(newer.asOf));
    assert.deepEqual(await compact.get([{ groupBy: ['origin'], key: ['ATL'] }, { groupBy: ['origin'], key: ['BOS'] }]), [{ rate: 0.3 }, undefined]);
    assert.deepEqual(await readSnapshot(store, 'serving', newerKey), newer);
  });
});
