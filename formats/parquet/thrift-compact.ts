/**
 * The Thrift compact protocol, write side only, for Parquet's page headers and footer. Values are
 * described as data (`ThriftValue`) and encoded in one pass; a footer is a few kilobytes, so
 * clarity wins over speed here.
 *
 * Format: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 */

export type ThriftValue =
  | { type: 'bool'; value: boolean }
  | { type: 'i8'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'i64'; value: number }
  | { type: 'binary'; value: Uint8Array | string }
  | { type: 'list'; of: ListElement; items: ThriftValue[] }
  | { type: 'struct'; fields: ThriftFields };

/** Field id → value; undefined fields are left out (Thrift's optional). */
export type ThriftFields = Record<number, ThriftValue | undefined>;
type ListElement = Exclude<ThriftValue['type'], 'list'>;

export const i8 = (value: number): ThriftValue => ({ type: 'i8', value });
export const i32 = (value: number): ThriftValue => ({ type: 'i32', value });
export const i64 = (value: number): ThriftValue => ({ type: 'i64', value });
export const bool = (value: boolean): ThriftValue => ({ type: 'bool', value });
export const binary = (value: Uint8Array | string): ThriftValue => ({ type: 'binary', value });
export const struct = (fields: ThriftFields): ThriftValue => ({ type: 'struct', fields });
export const list = (of: ListElement, items: ThriftValue[]): ThriftValue => ({ type: 'list', of, items });

// Compact protocol type codes; a bool field carries its value in the type (1 true, 2 false).
const CODE: Record<ListElement, number> = { bool: 1, i8: 3, i32: 5, i64: 6, binary: 8, struct: 12 };
const LIST = 9;

const encoder = new TextEncoder();

class CompactWriter {
  private bytes: number[] = [];

  varint(n: bigint): void {
    let v = n;
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  /** Zigzag: small magnitudes of either sign take few bytes. */
  zigzag(n: number): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }

  raw(data: Uint8Array): void {
    for (const b of data) this.bytes.push(b);
  }

  value(v: ThriftValue): void {
    switch (v.type) {
      case 'bool':
        this.bytes.push(v.value ? 1 : 2);
        return;
      case 'i8':
        this.bytes.push(v.value & 0xff);
        return;
      case 'i32':
      case 'i64':
        this.zigzag(v.value);
        return;
      case 'binary': {
        const data = typeof v.value === 'string' ? encoder.encode(v.value) : v.value;
        this.varint(BigInt(data.length));
        this.raw(data);
        return;
      }
      case 'list':
        if (v.items.length < 15) this.bytes.push((v.items.length << 4) | CODE[v.of]);
        else {
          this.bytes.push(0xf0 | CODE[v.of]);
          this.varint(BigInt(v.items.length));
        }
        for (const item of v.items) this.value(item);
        return;
      case 'struct':
        this.fields(v.fields);
        return;
    }
  }

  private fields(fields: ThriftFields): void {
    let last = 0;
    const ids = Object.keys(fields).map(Number).sort((a, b) => a - b);
    for (const id of ids) {
      const v = fields[id];
      if (v === undefined) continue;
      const code = v.type === 'bool' ? (v.value ? 1 : 2) : v.type === 'list' ? LIST : CODE[v.type];
      const delta = id - last;
      if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | code);
      else {
        this.bytes.push(code);
        this.zigzag(id);
      }
      // A bool field's value is already in its header.
      if (v.type !== 'bool') this.value(v);
      last = id;
    }
    this.bytes.push(0);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A Thrift struct in the compact protocol. */
export function encodeStruct(fields: ThriftFields): Uint8Array {
  const writer = new CompactWriter();
  writer.value(struct(fields));
  return writer.done();
}
