import { SluiceError } from '../../shared/errors.ts';

/**
 * The subset of the protobuf wire format an ONNX model needs: varints, 32-bit floats, length-delimited
 * bytes/strings/messages and packed repeated scalars. Field numbers and message shapes live in
 * `onnx-proto.ts`; this file knows nothing about ONNX.
 */

export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const utf8 = new TextEncoder();

export class ProtobufEncodingError extends SluiceError {
  override readonly name = 'ProtobufEncodingError';
  readonly kind = 'Internal';
}

/** Bytes a varint of `value` takes; `value` must be a non-negative safe integer. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function assertInteger(value: number): void {
  if (!Number.isSafeInteger(value)) throw new ProtobufEncodingError(`Not a safe integer: ${value}`);
}

export class ProtobufWriter {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  /**
   * Unsigned varint for non-negative values; negative values are written as their 64-bit two's
   * complement (ten bytes), which is how protobuf encodes negative int32 and int64 fields.
   */
  rawVarint(value: number): this {
    assertInteger(value);
    if (value < 0) return this.rawVarint64(BigInt.asUintN(64, BigInt(value)));
    this.reserve(10);
    // Division rather than `>>>`: bit operators truncate to 32 bits and int64 fields go past that.
    while (value >= 128) {
      this.buffer[this.length++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.length++] = value;
    return this;
  }

  private rawVarint64(value: bigint): this {
    this.reserve(10);
    while (value >= 128n) {
      this.buffer[this.length++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.buffer[this.length++] = Number(value);
    return this;
  }

  tag(field: number, wireType: WireType): this {
    if (!Number.isInteger(field) || field < 1 || field >= 2 ** 29) {
      throw new ProtobufEncodingError(`Invalid field number ${field}`);
    }
    return this.rawVarint(field * 8 + wireType);
  }

  /** int32, int64 and enum fields share this encoding. */
  int(field: number, value: number): this {
    return this.tag(field, WireType.varint).rawVarint(value);
  }

  float(field: number, value: number): this {
    this.tag(field, WireType.fixed32);
    this.reserve(4);
    this.view.setFloat32(this.length, value, true);
    this.length += 4;
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.lengthDelimited).rawVarint(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** A nested message, encoded by `write` into its own buffer so its length can prefix it. */
  message(field: number, write: (writer: ProtobufWriter) => void): this {
    const nested = new ProtobufWriter();
    write(nested);
    return this.bytes(field, nested.finish());
  }

  /** Repeated int32/int64 as one packed field (parsers must accept packed for any repeated scalar). */
  packedInts(field: number, values: ArrayLike<number>): this {
    let size = 0;
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as number;
      assertInteger(value);
      size += value < 0 ? 10 : varintSize(value);
    }
    this.tag(field, WireType.lengthDelimited).rawVarint(size);
    this.reserve(size);
    for (let i = 0; i < values.length; i++) this.rawVarint(values[i] as number);
    return this;
  }

  packedFloats(field: number, values: ArrayLike<number>): this {
    const size = values.length * 4;
    this.tag(field, WireType.lengthDelimited).rawVarint(size);
    this.reserve(size);
    for (let i = 0; i < values.length; i++) {
      this.view.setFloat32(this.length, values[i] as number, true);
      this.length += 4;
    }
    return this;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

