import { endianness } from 'node:os';

/**
 * Parquet's PLAIN encoding of values: numbers little-endian and fixed width, booleans one bit each
 * (least significant first), byte arrays as a 4-byte length and the bytes.
 */

// Typed arrays are copied as they are in memory, which is PLAIN's byte order only on little-endian machines.
if (endianness() !== 'LE') throw new Error('the Parquet writer assumes a little-endian machine');

export const bytesOf = (values: Float32Array | Float64Array | Int32Array): Uint8Array => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

const TWO_32 = 2 ** 32;

/** Integers (truncated) as 64-bit two's complement; exact for magnitudes below 2^53, like any JS number. */
export function plainInt64(values: ArrayLike<number>): Uint8Array {
  const words = new Uint32Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const v = Math.trunc(values[i] as number);
    // Two 32-bit halves: a BigInt per value would cost more than the rest of the column.
    const high = Math.floor(v / TWO_32);
    words[2 * i] = v - high * TWO_32;
    words[2 * i + 1] = high;
  }
  return new Uint8Array(words.buffer);
}

export function plainBooleans(count: number, value: (i: number) => boolean): Uint8Array {
  const out = new Uint8Array(Math.ceil(count / 8));
  for (let i = 0; i < count; i++) if (value(i)) out[i >>> 3] = (out[i >>> 3] as number) | (1 << (i & 7));
  return out;
}

const encoder = new TextEncoder();

/** Byte arrays from strings. */
export function plainStrings(values: readonly string[]): Uint8Array {
  const encoded = values.map((v) => encoder.encode(v));
  const out = new Uint8Array(encoded.reduce((n, e) => n + 4 + e.length, 0));
  const view = new DataView(out.buffer);
  let write = 0;
  for (const e of encoded) {
    view.setUint32(write, e.length, true);
    out.set(e, write + 4);
    write += 4 + e.length;
  }
  return out;
}
