import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { encodeHybrid, bitWidthFor } from './rle-hybrid.ts';
import { type ThriftValue, binary, bool, encodeStruct, i32, i64, list, struct } from './thrift-compact.ts';

/**
 * A Parquet file of one row group, its pages uncompressed or compressed by node:zlib, every leaf column OPTIONAL with at most one
 * level of nesting (a REQUIRED group of OPTIONAL leaves, which readers show as a struct). That is
 * all the prediction log needs, and small enough to write by hand: encoding a row costs about as
 * much as copying its bytes, where loading it into DuckDB and copying it out costs more than
 * scoring it.
 *
 * Format: https://parquet.apache.org/docs/file-format/ (thrift definitions: parquet.thrift).
 */

export type PhysicalType = 'BOOLEAN' | 'INT32' | 'INT64' | 'FLOAT' | 'DOUBLE' | 'BYTE_ARRAY';

export type ColumnValues =
  /** The present values, PLAIN-encoded back to back. */
  | { encoding: 'plain'; data: Uint8Array }
  /** A dictionary of `size` PLAIN-encoded values, and for each present value its index there. */
  | { encoding: 'dictionary'; dictionary: Uint8Array; size: number; index: (i: number) => number };

export interface ParquetColumn {
  /** `[name]`, or `[group, name]` for a field of a struct column; a group's fields are adjacent. */
  path: readonly [string] | readonly [string, string];
  type: PhysicalType;
  /** STRING for UTF-8 text, TIMESTAMP_MICROS for INT64 microseconds since the epoch (no time zone, as DuckDB's TIMESTAMP). */
  logical?: 'STRING' | 'TIMESTAMP_MICROS';
  /** One byte per row, 1 where the row has a value; undefined when every row has one. */
  present?: Uint8Array;
  /** How many rows have a value (the length of `present`'s ones). */
  presentCount: number;
  values: ColumnValues;
}

const TYPE: Record<PhysicalType, number> = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6 };
const REQUIRED = 0;
const OPTIONAL = 1;
const ENCODING = { PLAIN: 0, RLE: 3, RLE_DICTIONARY: 8 } as const;
const PAGE = { DATA: 0, DICTIONARY: 2 } as const;
// The older converted_type annotations as well, for readers that predate logical types.
const CONVERTED = { STRING: 0, TIMESTAMP_MICROS: 10 } as const;
const MAGIC = new TextEncoder().encode('PAR1');

/**
 * How pages are compressed: `level` is gzip's 1-9 or brotli's quality 0-11. Node 20's zlib has no
 * zstd (added in 22.15), so the codecs are those every Node the code runs on has.
 */
export type PageCodec = { codec: 'uncompressed' } | { codec: 'gzip' | 'brotli'; level: number };

const CODEC: Record<PageCodec['codec'], number> = { uncompressed: 0, gzip: 2, brotli: 4 };

function compressor(codec: PageCodec): (page: Uint8Array) => Uint8Array {
  switch (codec.codec) {
    case 'uncompressed':
      return (page) => page;
    case 'gzip':
      return (page) => gzipSync(page, { level: codec.level });
    case 'brotli':
      return (page) => brotliCompressSync(page, { params: { [zlib.BROTLI_PARAM_QUALITY]: codec.level, [zlib.BROTLI_PARAM_SIZE_HINT]: page.length } });
  }
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => (parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts));

function logicalType(logical: ParquetColumn['logical']): ThriftValue | undefined {
  if (logical === 'STRING') return struct({ 1: struct({}) });
  // TimestampType { isAdjustedToUTC: false, unit: MICROS }
  if (logical === 'TIMESTAMP_MICROS') return struct({ 8: struct({ 1: bool(false), 2: struct({ 2: struct({}) }) }) });
  return undefined;
}

function leafSchema(column: ParquetColumn): ThriftValue {
  const name = column.path[column.path.length - 1] as string;
  const converted = column.logical === undefined ? undefined : i32(CONVERTED[column.logical]);
  return struct({ 1: i32(TYPE[column.type]), 3: i32(OPTIONAL), 4: binary(name), 6: converted, 10: logicalType(column.logical) });
}

function schema(columns: readonly ParquetColumn[]): ThriftValue[] {
  const elements: ThriftValue[] = [];
  let topLevel = 0;
  for (let c = 0; c < columns.length; ) {
    const column = columns[c] as ParquetColumn;
    topLevel++;
    if (column.path.length === 1) {
      elements.push(leafSchema(column));
      c++;
      continue;
    }
    const group = column.path[0];
    let end = c;
    while (end < columns.length && columns[end]?.path.length === 2 && columns[end]?.path[0] === group) end++;
    elements.push(struct({ 3: i32(REQUIRED), 4: binary(group), 5: i32(end - c) }));
    for (; c < end; c++) elements.push(leafSchema(columns[c] as ParquetColumn));
  }
  return [struct({ 3: i32(REQUIRED), 4: binary('schema'), 5: i32(topLevel) }), ...elements];
}

function le32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

interface Pages {
  parts: Uint8Array[];
  dictionaryBytes: number;
  /** The pages' size as if uncompressed (headers included), which the column chunk's metadata records too. */
  uncompressedBytes: number;
}

/** A page: its header, then its body compressed as a whole. */
function page(type: number, body: readonly Uint8Array[], header: ThriftValue, headerField: 5 | 7, compress: (page: Uint8Array) => Uint8Array): { parts: Uint8Array[]; bytes: number; uncompressedBytes: number } {
  const raw = concat(body);
  const stored = compress(raw);
  const head = encodeStruct({ 1: i32(type), 2: i32(raw.length), 3: i32(stored.length), [headerField]: header });
  return { parts: [head, stored], bytes: head.length + stored.length, uncompressedBytes: head.length + raw.length };
}

/** The column's pages: a dictionary page when dictionary-coded, then one data page. */
function columnPages(column: ParquetColumn, rows: number, compress: (page: Uint8Array) => Uint8Array): Pages {
  const parts: Uint8Array[] = [];
  let dictionaryBytes = 0;
  let uncompressedBytes = 0;
  const { values, present } = column;
  if (values.encoding === 'dictionary') {
    const dictionary = page(PAGE.DICTIONARY, [values.dictionary], struct({ 1: i32(values.size), 2: i32(ENCODING.PLAIN) }), 7, compress);
    parts.push(...dictionary.parts);
    dictionaryBytes = dictionary.bytes;
    uncompressedBytes = dictionary.uncompressedBytes;
  }
  const levels = encodeHybrid(rows, present ? (i) => present[i] as number : () => 1, 1);
  const body: Uint8Array[] = [le32(levels.length), levels];
  if (values.encoding === 'plain') body.push(values.data);
  else {
    const width = bitWidthFor(Math.max(0, values.size - 1));
    body.push(Uint8Array.of(width), encodeHybrid(column.presentCount, values.index, width));
  }
  const encoding = values.encoding === 'plain' ? ENCODING.PLAIN : ENCODING.RLE_DICTIONARY;
  const data = page(PAGE.DATA, body, struct({ 1: i32(rows), 2: i32(encoding), 3: i32(ENCODING.RLE), 4: i32(ENCODING.RLE) }), 5, compress);
  parts.push(...data.parts);
  return { parts, dictionaryBytes, uncompressedBytes: uncompressedBytes + data.uncompressedBytes };
}

/** The file's bytes, as parts to write in order. */
export function encodeParquet(rows: number, columns: readonly ParquetColumn[], createdBy: string, codec: PageCodec = { codec: 'uncompressed' }): Uint8Array[] {
  const compress = compressor(codec);
  const parts: Uint8Array[] = [MAGIC];
  let offset = MAGIC.length;
  const chunks: ThriftValue[] = [];
  let rowGroupBytes = 0;
  for (const column of columns) {
    const { parts: pages, dictionaryBytes, uncompressedBytes } = columnPages(column, rows, compress);
    const size = pages.reduce((n, p) => n + p.length, 0);
    const dictionary = column.values.encoding === 'dictionary';
    const encodings = dictionary ? [ENCODING.PLAIN, ENCODING.RLE, ENCODING.RLE_DICTIONARY] : [ENCODING.PLAIN, ENCODING.RLE];
    const metadata = struct({
      1: i32(TYPE[column.type]),
      2: list('i32', encodings.map(i32)),
      3: list('binary', column.path.map((p) => binary(p))),
      4: i32(CODEC[codec.codec]),
      5: i64(rows),
      6: i64(uncompressedBytes),
      7: i64(size),
      9: i64(offset + dictionaryBytes),
      11: dictionary ? i64(offset) : undefined,
    });
    chunks.push(struct({ 2: i64(offset), 3: metadata }));
    parts.push(...pages);
    offset += size;
    rowGroupBytes += uncompressedBytes;
  }
  const footer = encodeStruct({
    1: i32(1),
    2: list('struct', schema(columns)),
    3: i64(rows),
    4: list('struct', [struct({ 1: list('struct', chunks), 2: i64(rowGroupBytes), 3: i64(rows) })]),
    6: binary(createdBy),
  });
  parts.push(footer, le32(footer.length), MAGIC);
  return parts;
}
