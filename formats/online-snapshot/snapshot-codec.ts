import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { EntityKeyValue, OnlineSnapshot } from '../../shared/data/online-snapshot.ts';
import { SluiceError } from '../../shared/errors.ts';
import { type KeyColumn, SnapshotKeyIndex } from './key-index.ts';

/**
 * The compact online snapshot (`.snap`): per table, its key columns and its feature values as typed
 * arrays, so a million keys load as a few buffers instead of millions of JS objects.
 *
 *   0   "SLSNAP\0\1"                  magic and format version
 *   8   u32 LE header length H        the header is JSON: identity, section table, body SHA-256
 *   12  u32 0
 *   16  header, padded with spaces to a multiple of 8
 *   B   body: sections, each at a multiple of 8 from B, so typed arrays view it without copying
 *
 * A key column is Float64 numbers, UTF-8 strings (u32 offsets + bytes), or both with a u8 tag per
 * row when a column holds both kinds (the string "1" and the number 1 stay distinct keys). Feature
 * values are Float64, NaN for NULL, row-major: a lookup reads one row's values from one place.
 */

const MAGIC = Buffer.from([0x53, 0x4c, 0x53, 0x4e, 0x41, 0x50, 0x00, 0x01]);
const PRELUDE = 16;
/** Work between two yields to the event loop while decoding: ~1-5 ms on a slow core. */
const HASH_CHUNK = 1 << 20;

export const TAG_NUMBER = 0;
export const TAG_STRING = 1;

/** A snapshot object that cannot be read: named, with what is wrong, so an operator can find it. */
export class SnapshotCorruptedError extends SluiceError {
  override readonly name = 'SnapshotCorruptedError';
  readonly kind = 'StorageCorrupted';

  constructor(
    readonly object: string,
    problem: string,
  ) {
    super(`online snapshot ${object} cannot be read: ${problem}`, { details: { object, problem } });
  }
}

/** A snapshot that cannot be written as given (an entry's width differs from its table's). */
export class SnapshotEncodingError extends SluiceError {
  override readonly name = 'SnapshotEncodingError';
  readonly kind = 'Internal';
}

const sectionSchema = z.strictObject({ offset: z.number().int().nonnegative().multipleOf(8), length: z.number().int().nonnegative() });
type Section = z.infer<typeof sectionSchema>;

const keyColumnSchema = z.strictObject({
  numbers: sectionSchema.optional(),
  offsets: sectionSchema.optional(),
  bytes: sectionSchema.optional(),
  tags: sectionSchema.optional(),
});
type KeyColumnSections = z.infer<typeof keyColumnSchema>;

const headerSchema = z.strictObject({
  kind: z.literal('sluice.online-feature-snapshot'),
  featureSpecHash: z.string(),
  datasetVersion: z.string(),
  asOf: z.iso.datetime(),
  bodyBytes: z.number().int().nonnegative(),
  bodySha256: z.string().regex(/^[0-9a-f]{64}$/),
  tables: z.array(
    z.strictObject({
      groupBy: z.array(z.string()).min(1),
      features: z.array(z.string()).min(1),
      rows: z.number().int().nonnegative(),
      keys: z.array(keyColumnSchema),
      values: sectionSchema,
    }),
  ),
});

export interface SnapshotTable {
  groupBy: string[];
  features: string[];
  rows: number;
  keys: KeyColumn[];
  /** rows × features, row-major; NaN is NULL. */
  values: Float64Array;
  index: SnapshotKeyIndex;
}

export interface DecodedSnapshot {
  featureSpecHash: string;
  datasetVersion: string;
  asOf: string;
  /** Bytes held: the object and the indexes. */
  bytes: number;
  tables: SnapshotTable[];
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** Sections of one body, laid out in order, each 8-aligned. */
class BodyLayout {
  readonly parts: { at: number; data: Uint8Array }[] = [];
  size = 0;

  add(data: ArrayBufferView): Section {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const section = { offset: this.size, length: bytes.byteLength };
    this.parts.push({ at: this.size, data: bytes });
    this.size = align8(this.size + bytes.byteLength);
    return section;
  }
}

function encodeKeyColumn(entries: OnlineSnapshot['tables'][number]['entries'], column: number, body: BodyLayout): KeyColumnSections {
  const rows = entries.length;
  let strings = 0;
  let stringBytes = 0;
  for (const [key] of entries) {
    const part = key[column];
    if (typeof part === 'string') {
      strings++;
      stringBytes += Buffer.byteLength(part, 'utf8');
    }
  }
  const sections: KeyColumnSections = {};
  if (strings < rows || rows === 0) {
    const numbers = new Float64Array(rows);
    entries.forEach(([key], row) => {
      const part = key[column];
      if (typeof part === 'number') numbers[row] = part;
    });
    sections.numbers = body.add(numbers);
  }
  if (strings > 0) {
    const offsets = new Uint32Array(rows + 1);
    const bytes = Buffer.alloc(stringBytes);
    let at = 0;
    entries.forEach(([key], row) => {
      const part = key[column];
      if (typeof part === 'string') at += bytes.write(part, at, 'utf8');
      offsets[row + 1] = at;
    });
    sections.offsets = body.add(offsets);
    sections.bytes = body.add(bytes);
  }
  if (strings > 0 && strings < rows) sections.tags = body.add(Uint8Array.from(entries, ([key]) => (typeof key[column] === 'string' ? TAG_STRING : TAG_NUMBER)));
  return sections;
}

/** Writes a snapshot in the compact encoding. NULL feature values are stored as NaN (JSON had no NaN either). */
export function encodeSnapshot(snapshot: OnlineSnapshot): Buffer {
  const body = new BodyLayout();
  const tables = snapshot.tables.map((table) => {
    const width = table.features.length;
    table.entries.forEach(([key, values], row) => {
      if (key.length !== table.groupBy.length || values.length !== width) {
        throw new SnapshotEncodingError(`table (${table.groupBy.join(', ')}) row ${row}: ${key.length} key values and ${values.length} feature values, expected ${table.groupBy.length} and ${width}`);
      }
    });
    const keys = table.groupBy.map((_, column) => encodeKeyColumn(table.entries, column, body));
    const values = new Float64Array(table.entries.length * width);
    table.entries.forEach(([, row], r) => row.forEach((v, f) => (values[r * width + f] = v ?? Number.NaN)));
    return { groupBy: table.groupBy, features: table.features, rows: table.entries.length, keys, values: body.add(values) };
  });
  const bodyBytes = Buffer.alloc(body.size);
  for (const part of body.parts) bodyBytes.set(part.data, part.at);
  const header = Buffer.from(
    JSON.stringify({
      kind: snapshot.kind,
      featureSpecHash: snapshot.featureSpecHash,
      datasetVersion: snapshot.datasetVersion,
      asOf: snapshot.asOf,
      bodyBytes: body.size,
      bodySha256: createHash('sha256').update(bodyBytes).digest('hex'),
      tables,
    }),
    'utf8',
  );
  const bodyStart = PRELUDE + align8(header.length);
  const out = Buffer.alloc(bodyStart + body.size, 0x20);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(header.length, 8);
  out.writeUInt32LE(0, 12);
  header.copy(out, PRELUDE);
  bodyBytes.copy(out, bodyStart);
  return out;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Reads a `.snap` object and indexes its keys, yielding to the event loop between chunks of work so
 * a server keeps answering while a large snapshot loads. `object` names it in errors.
 */
export async function decodeSnapshot(input: Uint8Array, object: string): Promise<DecodedSnapshot> {
  const fail = (problem: string) => new SnapshotCorruptedError(object, problem);
  if (input.byteLength < PRELUDE || !MAGIC.equals(input.subarray(0, MAGIC.length))) throw fail('not a sluice online snapshot (bad magic bytes)');
  // Typed arrays over the body need 8-byte alignment in memory; a pooled or sliced buffer may not have it.
  const file = input.byteOffset % 8 === 0 ? input : new Uint8Array(input);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = view.getUint32(8, true);
  if (PRELUDE + headerLength > file.byteLength) throw fail(`truncated: ${file.byteLength} bytes, the header alone claims ${PRELUDE + headerLength}`);
  let rawHeader: unknown;
  try {
    rawHeader = JSON.parse(Buffer.from(file.buffer, file.byteOffset + PRELUDE, headerLength).toString('utf8'));
  } catch (err) {
    throw fail(`its header is not JSON (${(err as Error).message})`);
  }
  const parsed = headerSchema.safeParse(rawHeader);
  if (!parsed.success) throw fail(`its header does not match the format: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const header = parsed.data;
  const bodyStart = PRELUDE + align8(headerLength);
  if (file.byteLength !== bodyStart + header.bodyBytes) throw fail(`truncated or padded: ${file.byteLength} bytes, its header says ${bodyStart + header.bodyBytes}`);

  const hash = createHash('sha256');
  for (let at = 0; at < header.bodyBytes; at += HASH_CHUNK) {
    hash.update(file.subarray(bodyStart + at, bodyStart + Math.min(at + HASH_CHUNK, header.bodyBytes)));
    await yieldToEventLoop();
  }
  if (hash.digest('hex') !== header.bodySha256) throw fail('its body does not match its SHA-256 (corrupted in storage or transfer)');

  const slice = <T>(section: Section | undefined, what: string, bytesPerItem: number, items: number, make: (buffer: ArrayBufferLike, offset: number, length: number) => T): T => {
    if (section === undefined) throw fail(`${what} is missing`);
    if (bytesPerItem > 0 && section.length !== bytesPerItem * items) throw fail(`${what} has ${section.length} bytes, expected ${bytesPerItem * items}`);
    if (section.offset + section.length > header.bodyBytes) throw fail(`${what} runs past the end of the body`);
    return make(file.buffer, file.byteOffset + bodyStart + section.offset, bytesPerItem > 0 ? items : section.length);
  };
  const float64 = (b: ArrayBufferLike, o: number, n: number) => new Float64Array(b, o, n);
  const uint32 = (b: ArrayBufferLike, o: number, n: number) => new Uint32Array(b, o, n);
  const uint8 = (b: ArrayBufferLike, o: number, n: number) => new Uint8Array(b, o, n);

  const tables: SnapshotTable[] = [];
  let indexBytes = 0;
  for (const [t, table] of header.tables.entries()) {
    const name = `table ${t} (${table.groupBy.join(', ')})`;
    if (table.keys.length !== table.groupBy.length) throw fail(`${name} has ${table.keys.length} key columns for ${table.groupBy.length} group-by columns`);
    const keys = table.keys.map((column, c): KeyColumn => {
      const what = `${name} key column ${table.groupBy[c]}`;
      const hasStrings = column.offsets !== undefined || column.bytes !== undefined;
      if (column.numbers === undefined && !hasStrings) throw fail(`${what} has neither numbers nor strings`);
      if ((column.numbers !== undefined && hasStrings) !== (column.tags !== undefined)) throw fail(`${what} mixes numbers and strings without tags`);
      return {
        numbers: column.numbers && slice(column.numbers, `${what} numbers`, 8, table.rows, float64),
        offsets: hasStrings ? slice(column.offsets, `${what} string offsets`, 4, table.rows + 1, uint32) : undefined,
        bytes: hasStrings ? slice(column.bytes, `${what} string bytes`, 0, 0, uint8) : undefined,
        tags: column.tags && slice(column.tags, `${what} tags`, 1, table.rows, uint8),
      };
    });
    const values = slice(table.values, `${name} values`, 8, table.rows * table.features.length, float64);
    const index = await SnapshotKeyIndex.build(keys, table.rows, (problem) => fail(`${name}: ${problem}`), yieldToEventLoop);
    indexBytes += index.byteLength;
    tables.push({ groupBy: table.groupBy, features: table.features, rows: table.rows, keys, values, index });
  }
  return { featureSpecHash: header.featureSpecHash, datasetVersion: header.datasetVersion, asOf: header.asOf, bytes: file.byteLength + indexBytes, tables };
}

/** The key of one row, as the JSON form lists it. */
export function keyAt(table: SnapshotTable, row: number): EntityKeyValue[] {
  return table.keys.map((column) => {
    const isString = column.tags ? column.tags[row] === TAG_STRING : column.numbers === undefined;
    if (!isString) return (column.numbers as Float64Array)[row] as number;
    const offsets = column.offsets as Uint32Array;
    const bytes = column.bytes as Uint8Array;
    return Buffer.from(bytes.buffer, bytes.byteOffset + (offsets[row] as number), (offsets[row + 1] as number) - (offsets[row] as number)).toString('utf8');
  });
}

/** The whole snapshot as the JSON form's objects: for comparing snapshots on a worker, not for serving. */
export function toOnlineSnapshot(decoded: DecodedSnapshot): OnlineSnapshot {
  return {
    kind: 'sluice.online-feature-snapshot',
    featureSpecHash: decoded.featureSpecHash,
    datasetVersion: decoded.datasetVersion,
    asOf: decoded.asOf,
    tables: decoded.tables.map((table) => {
      const width = table.features.length;
      const entries: OnlineSnapshot['tables'][number]['entries'] = [];
      for (let row = 0; row < table.rows; row++) {
        const values = Array.from(table.values.subarray(row * width, (row + 1) * width), (v) => (Number.isNaN(v) ? null : v));
        entries.push([keyAt(table, row), values]);
      }
      return { groupBy: table.groupBy, features: table.features, entries };
    }),
  };
}
