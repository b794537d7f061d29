import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { type FeatureSpecInput, featureSpecSchema } from '../../../shared/data/feature-spec.ts';
import type { OnlineSnapshot } from '../../../shared/data/online-snapshot.ts';
import { OnlineEventError } from '../../../domain/features/online-event.ts';
import { compileOnlineFeatures } from '../../../domain/features/online-features.ts';
import { type OnlineFeatureStore, SnapshotOnlineStore } from '../../../domain/features/online-store.ts';
import { ColumnarOnlineStore } from '../../../domain/features/columnar-online-store.ts';
import { decodeSnapshot, encodeSnapshot } from '../../../formats/online-snapshot/snapshot-codec.ts';

const flights = featureSpecSchema.parse(JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../examples/flights/features.json'), 'utf8')) as FeatureSpecInput);
const hash = 'a'.repeat(64);

const snapshot: OnlineSnapshot = {
  kind: 'sluice.online-feature-snapshot',
  featureSpecHash: hash,
  datasetVersion: hash,
  asOf: '2001-03-01T00:00:00.000Z',
  tables: [
    { groupBy: ['origin'], features: ['origin_delay_rate_7d', 'origin_known_flights_7d', 'origin_departures_7d'], entries: [[['ATL'], [0.25, 400, 410]]] },
    { groupBy: ['origin', 'destination'], features: ['route_delay_rate_7d', 'route_known_flights_7d'], entries: [[['ATL', 'ORD'], [null, 0]]] },
  ],
};

/**
 * The contract every OnlineFeatureStore backend must meet; run here against the embedded snapshot
 * store. A networked backend adds itself to `backends`.
 */
const backends: [string, () => OnlineFeatureStore | Promise<OnlineFeatureStore>][] = [
  ['SnapshotOnlineStore (legacy .json)', () => new SnapshotOnlineStore(snapshot)],
  ['ColumnarOnlineStore (.snap)', async () => new ColumnarOnlineStore(await decodeSnapshot(encodeSnapshot(snapshot), 'test.snap'))],
];

for (const [name, make] of backends) {
  describe(`OnlineFeatureStore contract: ${name}`, () => {
    test('returns stored values per lookup, in order, and undefined for unknown groups', async () => {
      const store = await make();
      assert.equal(store.asOf, Date.UTC(2001, 2, 1));
      const [origin, route, unknown, wrongTable] = await store.get([
        { groupBy: ['origin'], key: ['ATL'] },
        { groupBy: ['origin', 'destination'], key: ['ATL', 'ORD'] },
        { groupBy: ['origin'], key: ['XXX'] },
        { groupBy: ['destination'], key: ['ATL'] },
      ]);
      assert.deepEqual(origin, { origin_delay_rate_7d: 0.25, origin_known_flights_7d: 400, origin_departures_7d: 410 });
      assert.deepEqual(route, { route_delay_rate_7d: null, route_known_flights_7d: 0 });
      assert.equal(unknown, undefined);
      assert.equal(wrongTable, undefined);
    });

    test('keys match exactly (case-sensitive, no coercion)', async () => {
      const store = await make();
      assert.deepEqual(await store.get([{ groupBy: ['origin'], key: ['atl'] }, { groupBy: ['origin'], key: [0] }]), [undefined, undefined]);
    });
  });
}

describe('compileOnlineFeatures', () => {
  const online = compileOnlineFeatures(flights);
  const store = new SnapshotOnlineStore(snapshot);

  test('assembles request-time features and store lookups in table order', async () => {
    const vector = await online.vector({ date: '2001-03-04T17:45:00', distance: 606, origin: 'ATL', destination: 'ORD', delay: 999 }, store);
    assert.deepEqual(Object.keys(vector), online.featureNames);
    assert.deepEqual(vector, {
      hour_of_day: 17,
      day_of_week: 7,
      distance_miles: 606,
      origin_airport: 'ATL',
      destination_airport: 'ORD',
      origin_delay_rate_7d: 0.25,
      origin_known_flights_7d: 400,
      origin_departures_7d: 410,
      route_delay_rate_7d: null,
      route_known_flights_7d: 0,
    });
  });

  test('a group the store has never seen reads as an empty window: count 0, mean NULL', async () => {
    const vector = await online.vector({ date: Date.UTC(2001, 2, 4), distance: 100, origin: 'BOS', destination: 'LGA' }, store);
    assert.equal(vector.origin_delay_rate_7d, null);
    assert.equal(vector.origin_departures_7d, 0);
    assert.equal(vector.route_known_flights_7d, 0);
  });

  test('a NULL entity key is not looked up', async () => {
    const vector = await online.vector({ date: '2001-03-04T10:00:00Z', distance: null, origin: null, destination: 'ORD' }, store);
    assert.equal(vector.origin_airport, null);
    assert.equal(vector.origin_known_flights_7d, 0);
    assert.equal(vector.distance_miles, null);
  });

  test('outcomes are not required; missing or mistyped fields are named', async () => {
    assert.deepEqual([...online.requiredFields].sort(), ['date', 'destination', 'distance', 'origin']);
    await assert.rejects(online.vector({ date: '2001-03-04', origin: 'ATL', destination: 'ORD' }, store), (err: unknown) => err instanceof OnlineEventError && err.field === 'distance' && /missing/.test(err.message));
    await assert.rejects(online.vector({ date: '2001-03-04', distance: '606', origin: 'ATL', destination: 'ORD' }, store), /event field "distance": expected a number, got string/);
    await assert.rejects(online.vector({ date: 'March 4th', distance: 606, origin: 'ATL', destination: 'ORD' }, store), /"March 4th" is not an ISO 8601 timestamp/);
    // Epoch milliseconds beyond any Date are refused, not scored; the last representable instant is read.
    await assert.rejects(online.vector({ date: 8640000000000001, distance: 606, origin: 'ATL', destination: 'ORD' }, store), /event field "date": 8640000000000001 is outside the epoch-millisecond range/);
    assert.ok(await online.vector({ date: -8640000000000000, distance: 606, origin: 'ATL', destination: 'ORD' }, store));
  });
});
