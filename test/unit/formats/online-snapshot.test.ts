import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SnapshotCorruptedError, SnapshotEncodingError, decodeSnapshot, encodeSnapshot, keyAt, toOnlineSnapshot } from '../../../formats/online-snapshot/snapshot-codec.ts';
import type { OnlineSnapshot } from '../../../shared/data/online-snapshot.ts';
import { ERROR_KINDS } from '../../../shared/errors.ts';

const hash = 'c'.repeat(64);
const base = { kind: 'sluice.online-feature-snapshot', featureSpecHash: hash, datasetVersion: 'd'.repeat(64), asOf: '2001-06-04T00:00:00.000Z' } as const;

/** Every kind of key part and feature value the JSON form can hold, plus ones it cannot (-0, 2^-1074). */
const everyKind: OnlineSnapshot = {
  ...base,
  tables: [
    {
      groupBy: ['origin'],
      features: ['rate', 'count', 'extreme'],
      entries: [
        [['ATL'], [0.1 + 0.2, 400, Number.MAX_VALUE]],
        [['Zürich'], [null, 0, Number.MIN_VALUE]],
        [['東京🛫'], [-1 / 3, -0, -Number.MAX_VALUE]],
        [[''], [null, null, null]],
      ],
    },
    {
      groupBy: ['carrier', 'flight'],
      features: ['mean_delay'],
      entries: [
        [['AA', 1], [12.5]],
        [['AA', '1'], [-7.25]],
        [['AA', -2.5], [1e-300]],
        [['1', 2 ** 53], [2 ** 53 + 2]],
      ],
    },
    { groupBy: ['destination'], features: ['empty'], entries: [] },
  ],
};

const object = 's3://serving/online-features/spec=c/as-of=x.snap';

describe('online snapshot codec', () => {
  test('round-trips every key and value kind bit for bit, and finds every key by type', async () => {
    const encoded = encodeSnapshot(everyKind);
    const decoded = await decodeSnapshot(encoded, object);
    assert.deepEqual(toOnlineSnapshot(decoded), everyKind);
    for (const [t, table] of everyKind.tables.entries()) {
      const read = decoded.tables[t];
      assert.ok(read);
      for (const [row, [key, values]] of table.entries.entries()) {
        assert.equal(read.index.find(key), row, JSON.stringify(key));
        assert.deepEqual(keyAt(read, row), key);
        // Object.is tells -0 from 0; deepEqual already compared the rest.
        values.forEach((v, f) => assert.ok(Object.is(read.values[row * read.features.length + f], v ?? Number.NaN), `${JSON.stringify(key)} feature ${f}`));
      }
    }
    const [origins, flights, empty] = decoded.tables;
    assert.equal(origins?.index.find(['atl']), -1, 'keys are case-sensitive');
    assert.equal(origins?.index.find(['Zurich']), -1);
    assert.equal(origins?.index.find([0]), -1, 'a number never matches a string column');
    assert.equal(flights?.index.find(['AA', 1]), 0);
    assert.equal(flights?.index.find(['AA', '1']), 1, 'the string "1" and the number 1 are distinct keys');
    assert.equal(flights?.index.find(['1', 2 ** 53 + 2]), -1);
    assert.equal(flights?.index.find(['AA']), -1, 'a key of the wrong width matches nothing');
    assert.equal(empty?.rows, 0);
    assert.equal(empty?.index.find(['ATL']), -1);
  });

  test('0 and -0 are one key, as Map keys and === have them', async () => {
    const decoded = await decodeSnapshot(encodeSnapshot({ ...base, tables: [{ groupBy: ['k'], features: ['v'], entries: [[[-0], [1]]] }] }), object);
    assert.equal(decoded.tables[0]?.index.find([0]), 0);
  });

  test('a snapshot without tables, and many keys with colliding slots, round-trip', async () => {
    assert.deepEqual(toOnlineSnapshot(await decodeSnapshot(encodeSnapshot({ ...base, tables: [] }), object)), { ...base, tables: [] });
    const entries: OnlineSnapshot['tables'][number]['entries'] = [];
    for (let i = 0; i < 20_000; i++) entries.push([[`user-${i}`, i % 7], [i / 3]]);
    const decoded = await decodeSnapshot(encodeSnapshot({ ...base, tables: [{ groupBy: ['user', 'segment'], features: ['score'], entries }] }), object);
    const table = decoded.tables[0];
    assert.ok(table);
    for (let i = 0; i < 20_000; i++) assert.equal(table.index.find([`user-${i}`, i % 7]), i);
    assert.equal(table.index.find(['user-1', 2]), -1);
  });

  test('decodes from a buffer that is not 8-byte aligned', async () => {
    const encoded = encodeSnapshot(everyKind);
    const shifted = new Uint8Array(encoded.length + 3);
    shifted.set(encoded, 3);
    assert.deepEqual(toOnlineSnapshot(await decodeSnapshot(shifted.subarray(3), object)), everyKind);
  });

  test('an entry whose width differs from its table is refused when writing', () => {
    const bad: OnlineSnapshot = { ...base, tables: [{ groupBy: ['k'], features: ['a', 'b'], entries: [[['x'], [1]]] }] };
    assert.throws(() => encodeSnapshot(bad), (err: unknown) => err instanceof SnapshotEncodingError && /row 0: 1 key values and 1 feature values, expected 1 and 2/.test(err.message));
  });

  describe('corrupt or truncated input fails with StorageCorrupted naming the object', () => {
    const encoded = encodeSnapshot(everyKind);
    const rejects = (bytes: Uint8Array, problem: RegExp) =>
      assert.rejects(decodeSnapshot(bytes, object), (err: unknown) => {
        assert.ok(err instanceof SnapshotCorruptedError, String(err));
        assert.equal(err.kind, 'StorageCorrupted');
        assert.equal(ERROR_KINDS[err.kind].retryable, false);
        assert.ok(err.message.startsWith(`online snapshot ${object} cannot be read: `), err.message);
        assert.match(err.message, problem);
        return true;
      });

    test('truncated anywhere', async () => {
      await rejects(encoded.subarray(0, 10), /bad magic|truncated/);
      await rejects(encoded.subarray(0, 40), /truncated: 40 bytes/);
      await rejects(encoded.subarray(0, encoded.length - 1), /truncated or padded/);
    });

    test('not a snapshot at all (a JSON snapshot under a .snap name)', async () => {
      await rejects(Buffer.from(JSON.stringify(everyKind)), /bad magic/);
    });

    test('a flipped byte in the body', async () => {
      const flipped = Buffer.from(encoded);
      flipped[flipped.length - 5] = (flipped[flipped.length - 5] as number) ^ 0x40;
      await rejects(flipped, /SHA-256/);
    });

    test('a header that is not JSON or not the format', async () => {
      const garbled = Buffer.from(encoded);
      garbled[16] = 0x7b + 1;
      await rejects(garbled, /header is not JSON/);
      const header = Buffer.from('{"kind":"other"}');
      const wrong = Buffer.alloc(16 + 16);
      encoded.copy(wrong, 0, 0, 8);
      wrong.writeUInt32LE(header.length, 8);
      header.copy(wrong, 16);
      await rejects(wrong, /header does not match the format: kind/);
    });

    test('the same key twice', async () => {
      const twice: OnlineSnapshot = { ...base, tables: [{ groupBy: ['k', 'n'], features: ['v'], entries: [[['a', 1], [1]], [['b', 1], [2]], [['a', 1], [3]]] }] };
      await rejects(encodeSnapshot(twice), /table 0 \(k, n\): rows 0 and 2 have the same key/);
    });
  });
});
