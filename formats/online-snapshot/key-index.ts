/**
 * An open-addressing hash index over a table's encoded key columns: one Uint32 slot per 2+ rows
 * (row + 1, 0 empty), linear probing. The index holds no JS objects, so a million keys cost ~8 MB
 * outside the heap and nothing for the garbage collector to trace; a lookup hashes the caller's
 * values the way the build hashed the stored bytes (FNV-1a over UTF-8 strings and the bits of
 * numbers, each part salted with its type) and compares the candidate row exactly.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const SALT_NUMBER = 0x6e;
const SALT_STRING = 0x73;
/** Rows indexed between two yields to the event loop. */
const ROWS_PER_CHUNK = 1 << 13;

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const utf8 = new TextEncoder();

function hashNumber(h: number, value: number): number {
  // Keys compare with ===, so 0 and -0 are one key and must hash alike.
  scratch[0] = value === 0 ? 0 : value;
  h = Math.imul(h ^ SALT_NUMBER, FNV_PRIME);
  h = Math.imul(h ^ (scratchWords[0] as number), FNV_PRIME);
  return Math.imul(h ^ (scratchWords[1] as number), FNV_PRIME);
}

function hashBytes(h: number, bytes: Uint8Array, start: number, end: number): number {
  h = Math.imul(h ^ SALT_STRING, FNV_PRIME);
  h = Math.imul(h ^ (end - start), FNV_PRIME);
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME);
  return h;
}

/** The hash of an ASCII string's bytes, read from its char codes; undefined when it has a non-ASCII char. */
function hashAscii(h: number, value: string): number | undefined {
  h = Math.imul(h ^ SALT_STRING, FNV_PRIME);
  h = Math.imul(h ^ value.length, FNV_PRIME);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return undefined;
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h;
}

/** murmur3's finalizer: FNV's low bits are weak, and the slot is taken from them. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** One key column's arrays: `numbers` where it holds numbers, `offsets`/`bytes` where strings, `tags` (1 = string) where both. */
export interface KeyColumn {
  numbers: Float64Array | undefined;
  offsets: Uint32Array | undefined;
  bytes: Uint8Array | undefined;
  tags: Uint8Array | undefined;
}

const isStringAt = (column: KeyColumn, row: number) => (column.tags ? column.tags[row] === 1 : column.numbers === undefined);

export class SnapshotKeyIndex {
  private readonly mask: number;
  /** Per key part of the lookup in progress: its UTF-8 bytes when it is a non-ASCII string. */
  private readonly encoded: (Uint8Array | undefined)[];

  private constructor(
    private readonly keys: KeyColumn[],
    private readonly slots: Uint32Array,
  ) {
    this.mask = slots.length - 1;
    this.encoded = keys.map(() => undefined);
  }

  get byteLength(): number {
    return this.slots.byteLength;
  }

  /**
   * Checks every row's key (string offsets in bounds and ascending, tags known, numbers not NaN, no
   * key twice) while indexing it; `fail` makes the error for a problem found.
   */
  static async build(keys: KeyColumn[], rows: number, fail: (problem: string) => Error, pause: () => Promise<void>): Promise<SnapshotKeyIndex> {
    let capacity = 8;
    while (capacity < rows * 2) capacity *= 2;
    const index = new SnapshotKeyIndex(keys, new Uint32Array(capacity));
    for (const [c, column] of keys.entries()) {
      if (column.offsets && column.offsets[0] !== 0) throw fail(`key column ${c}: string offsets do not start at 0`);
    }
    for (let row = 0; row < rows; row++) {
      if (row % ROWS_PER_CHUNK === 0 && row > 0) await pause();
      let h = FNV_OFFSET;
      for (const [c, column] of keys.entries()) {
        const tag = column.tags?.[row];
        if (tag !== undefined && tag > 1) throw fail(`key column ${c} row ${row}: unknown tag ${tag}`);
        if (isStringAt(column, row)) {
          const start = (column.offsets as Uint32Array)[row] as number;
          const end = (column.offsets as Uint32Array)[row + 1] as number;
          if (end < start || end > (column.bytes as Uint8Array).length) throw fail(`key column ${c} row ${row}: string offsets out of order or past its bytes`);
          h = hashBytes(h, column.bytes as Uint8Array, start, end);
        } else {
          const value = (column.numbers as Float64Array)[row] as number;
          if (Number.isNaN(value)) throw fail(`key column ${c} row ${row}: a NaN key`);
          h = hashNumber(h, value);
        }
      }
      let slot = finish(h) & index.mask;
      for (;;) {
        const held = index.slots[slot] as number;
        if (held === 0) break;
        if (index.sameKey(held - 1, row)) throw fail(`rows ${held - 1} and ${row} have the same key`);
        slot = (slot + 1) & index.mask;
      }
      index.slots[slot] = row + 1;
    }
    return index;
  }

  /** The row holding `key`, or -1. A key part matches only a stored part of the same type. */
  find(key: readonly (string | number)[]): number {
    if (key.length !== this.keys.length) return -1;
    let h = FNV_OFFSET;
    for (let p = 0; p < key.length; p++) {
      const part = key[p] as string | number;
      if (typeof part === 'number') {
        h = hashNumber(h, part);
        continue;
      }
      const ascii = hashAscii(h, part);
      if (ascii !== undefined) {
        this.encoded[p] = undefined;
        h = ascii;
      } else {
        const bytes = utf8.encode(part);
        this.encoded[p] = bytes;
        h = hashBytes(h, bytes, 0, bytes.length);
      }
    }
    let slot = finish(h) & this.mask;
    for (;;) {
      const held = this.slots[slot] as number;
      if (held === 0) return -1;
      if (this.matches(held - 1, key)) return held - 1;
      slot = (slot + 1) & this.mask;
    }
  }

  private matches(row: number, key: readonly (string | number)[]): boolean {
    for (let p = 0; p < key.length; p++) {
      const part = key[p] as string | number;
      const column = this.keys[p] as KeyColumn;
      if (typeof part === 'number') {
        if (isStringAt(column, row) || (column.numbers as Float64Array)[row] !== part) return false;
        continue;
      }
      if (!isStringAt(column, row)) return false;
      const bytes = column.bytes as Uint8Array;
      const start = (column.offsets as Uint32Array)[row] as number;
      const end = (column.offsets as Uint32Array)[row + 1] as number;
      const encoded = this.encoded[p];
      if (encoded === undefined) {
        if (end - start !== part.length) return false;
        for (let i = 0; i < part.length; i++) if (bytes[start + i] !== part.charCodeAt(i)) return false;
      } else {
        if (end - start !== encoded.length) return false;
        for (let i = 0; i < encoded.length; i++) if (bytes[start + i] !== encoded[i]) return false;
      }
    }
    return true;
  }

  private sameKey(a: number, b: number): boolean {
    for (const column of this.keys) {
      const aString = isStringAt(column, a);
      if (aString !== isStringAt(column, b)) return false;
      if (!aString) {
        if ((column.numbers as Float64Array)[a] !== (column.numbers as Float64Array)[b]) return false;
        continue;
      }
      const offsets = column.offsets as Uint32Array;
      const bytes = column.bytes as Uint8Array;
      const aStart = offsets[a] as number;
      const bStart = offsets[b] as number;
      const length = (offsets[a + 1] as number) - aStart;
      if (length !== (offsets[b + 1] as number) - bStart) return false;
      for (let i = 0; i < length; i++) if (bytes[aStart + i] !== bytes[bStart + i]) return false;
    }
    return true;
  }
}
