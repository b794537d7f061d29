/**
 * Parquet's RLE / bit-packing hybrid, for definition levels and dictionary indices: a run of one
 * repeated value is a header and the value once; anything else is bit-packed, eight values per
 * `bitWidth` bytes, least significant bit first.
 *
 * Format: https://parquet.apache.org/docs/file-format/data-pages/encodings/#run-length-encoding--bit-packing-hybrid-rle--3
 */

/** Bits needed for values 0..maxValue (at least 1: a width of 0 is legal but not every reader takes it). */
export function bitWidthFor(maxValue: number): number {
  return Math.max(1, 32 - Math.clz32(maxValue));
}

function varint(n: number, out: number[]): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** `count` values, each `values[i]` (or `value(i)`), as one hybrid stream of width `bitWidth` (≤ 32). */
export function encodeHybrid(count: number, value: (i: number) => number, bitWidth: number): Uint8Array {
  const header: number[] = [];
  if (count === 0) return new Uint8Array(0);
  const first = value(0);
  let same = true;
  for (let i = 1; i < count && same; i++) same = value(i) === first;
  const valueBytes = Math.ceil(bitWidth / 8);
  if (same) {
    varint(count * 2, header);
    const out = new Uint8Array(header.length + valueBytes);
    out.set(header);
    for (let b = 0, v = first; b < valueBytes; b++, v = Math.floor(v / 256)) out[header.length + b] = v % 256;
    return out;
  }
  const groups = Math.ceil(count / 8);
  varint(groups * 2 + 1, header);
  const out = new Uint8Array(header.length + groups * bitWidth);
  out.set(header);
  let bitPos = header.length * 8;
  if (bitWidth === 1) {
    for (let i = 0; i < count; i++, bitPos++) if (value(i) & 1) out[bitPos >>> 3] = (out[bitPos >>> 3] as number) | (1 << (bitPos & 7));
    return out;
  }
  for (let i = 0; i < count; i++) {
    let v = value(i) >>> 0;
    let remaining = bitWidth;
    while (remaining > 0) {
      const at = bitPos >>> 3;
      const offset = bitPos & 7;
      const take = Math.min(8 - offset, remaining);
      out[at] = (out[at] as number) | ((v & ((1 << take) - 1)) << offset);
      v = take === 32 ? 0 : v >>> take;
      bitPos += take;
      remaining -= take;
    }
  }
  return out;
}
