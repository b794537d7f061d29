import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { type PageCodec, type ParquetColumn, encodeParquet } from '../../../formats/parquet/parquet-file.ts';
import { bytesOf, plainInt64, plainStrings } from '../../../formats/parquet/plain.ts';
import { encodeHybrid } from '../../../formats/parquet/rle-hybrid.ts';

// The codec alone, independent of the prediction log that uses it: files read back with DuckDB.

const dir = mkdtempSync(join(tmpdir(), 'sluice-parquet-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = await (await DuckDBInstance.create(':memory:')).connect();

async function readBack(rows: number, columns: ParquetColumn[], sql: string, codec: PageCodec = { codec: 'uncompressed' }): Promise<Record<string, unknown>[]> {
  const path = join(dir, `${columns.map((c) => c.path.join('.')).join('-')}-${rows}-${codec.codec}.parquet`);
  writeFileSync(path, Buffer.concat(encodeParquet(rows, columns, 'sluice codec test', codec)));
  return (await db.runAndReadAll(sql.replace('FILE', `read_parquet('${path}')`).replace('PATH', path))).getRowObjectsJS();
}

test('every physical type, plain and dictionary-coded, with missing values, in a struct and at the top level', async () => {
  for (const codec of [{ codec: 'uncompressed' }, { codec: 'gzip', level: 1 }, { codec: 'brotli', level: 4 }] as const) await everyType(codec);
});

async function everyType(codec: PageCodec) {
  const present = Uint8Array.from([1, 0, 1, 1]);
  const columns: ParquetColumn[] = [
    { path: ['id'], type: 'INT64', presentCount: 4, values: { encoding: 'plain', data: plainInt64([1, -2, 2 ** 40, 4]) } },
    { path: ['ts'], type: 'INT64', logical: 'TIMESTAMP_MICROS', presentCount: 4, values: { encoding: 'plain', data: plainInt64([0, 1_000_000, 86_400_000_000, 1_700_000_000_123_456]) } },
    // PLAIN booleans are bit-packed, least significant bit first: 0b10 is false, true.
    { path: ['ok'], type: 'BOOLEAN', presentCount: 2, present: Uint8Array.from([1, 1, 0, 0]), values: { encoding: 'plain', data: Uint8Array.from([0b10]) } },
    { path: ['n'], type: 'INT32', presentCount: 3, present, values: { encoding: 'plain', data: bytesOf(Int32Array.from([7, -8, 2 ** 31 - 1])) } },
    { path: ['x', 'f'], type: 'FLOAT', presentCount: 3, present, values: { encoding: 'plain', data: bytesOf(Float32Array.from([0.5, -1.25, 3e38])) } },
    { path: ['x', 'd'], type: 'DOUBLE', presentCount: 4, values: { encoding: 'plain', data: bytesOf(Float64Array.from([Math.PI, -0, 1e-300, 2 ** 53])) } },
    { path: ['x', 'city'], type: 'BYTE_ARRAY', logical: 'STRING', presentCount: 3, present, values: { encoding: 'dictionary', dictionary: plainStrings(['Zürich', '東京']), size: 2, index: (i) => [1, 0, 1][i] as number } },
  ];
  const rows = await readBack(4, columns, "SELECT id, strftime(ts, '%Y-%m-%d %H:%M:%S.%f') AS ts, ok, n, x FROM FILE", codec);
  assert.deepEqual(rows, [
    { id: 1n, ts: '1970-01-01 00:00:00.000000', ok: false, n: 7, x: { f: 0.5, d: Math.PI, city: '東京' } },
    { id: -2n, ts: '1970-01-01 00:00:01.000000', ok: true, n: null, x: { f: null, d: -0, city: null } },
    { id: 2n ** 40n, ts: '1970-01-02 00:00:00.000000', ok: null, n: -8, x: { f: -1.25, d: 1e-300, city: 'Zürich' } },
    { id: 4n, ts: '2023-11-14 22:13:20.123456', ok: null, n: 2 ** 31 - 1, x: { f: Math.fround(3e38), d: 2 ** 53, city: '東京' } },
  ]);
  const [types] = await readBack(4, columns, 'SELECT typeof(id) AS id, typeof(ts) AS ts, typeof(ok) AS ok, typeof(n) AS n, typeof(x) AS x FROM FILE LIMIT 1', codec);
  assert.deepEqual(types, { id: 'BIGINT', ts: 'TIMESTAMP', ok: 'BOOLEAN', n: 'INTEGER', x: 'STRUCT(f FLOAT, d DOUBLE, city VARCHAR)' });
  // DuckDB's own view of the file: every column chunk declares the codec asked for.
  const chunks = await readBack(4, columns, "SELECT DISTINCT compression FROM parquet_metadata('PATH')", codec);
  assert.deepEqual(chunks, [{ compression: { uncompressed: 'UNCOMPRESSED', gzip: 'GZIP', brotli: 'BROTLI' }[codec.codec] }], codec.codec);
}

test('a file of no rows is still a valid file', async () => {
  const rows = await readBack(0, [{ path: ['v'], type: 'DOUBLE', presentCount: 0, values: { encoding: 'plain', data: new Uint8Array() } }], 'SELECT count(*) AS n FROM FILE');
  assert.deepEqual(rows, [{ n: 0n }]);
});

test('the RLE / bit-packing hybrid: a repeated value is one run, others pack eight values per bit width in bytes', () => {
  assert.deepEqual([...encodeHybrid(1000, () => 1, 1)], [0xd0, 0x0f, 1], 'run of 1000 ones: header 1000 << 1 as a varint, then the value');
  assert.deepEqual([...encodeHybrid(3, (i) => [1, 0, 1][i] as number, 1)], [0x03, 0b101], 'one group of 8 (padded), least significant bit first');
  assert.deepEqual([...encodeHybrid(8, (i) => i, 3)], [0x03, 0b10001000, 0b11000110, 0b11111010], 'the example from the Parquet spec');
});

test('64-bit integers are written as two little-endian halves, exact across the range of JS integers', () => {
  const values = [0, 1, -1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 1_700_000_000_000_000, -1_700_000_000_000_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 12.9, -12.9];
  const written = new BigInt64Array(plainInt64(values).buffer);
  assert.deepEqual([...written], values.map((v) => BigInt(Math.trunc(v))));
});
