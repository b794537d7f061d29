import { WireType } from './protobuf-writer.ts';
import { SluiceError } from '../../shared/errors.ts';

/**
 * Just enough protobuf decoding to read fields back out of a serialized message: the registry and the
 * serving side read a model's `metadata_props` this way, since onnxruntime-node does not expose them.
 */

export class ProtobufDecodingError extends SluiceError {
  override readonly name = 'ProtobufDecodingError';
  readonly kind = 'Internal';
}

export type ProtobufField =
  | { field: number; wireType: typeof WireType.varint; value: bigint }
  | { field: number; wireType: typeof WireType.fixed64; value: Uint8Array }
  | { field: number; wireType: typeof WireType.lengthDelimited; value: Uint8Array }
  | { field: number; wireType: typeof WireType.fixed32; value: Uint8Array };

/** Top-level fields of one message, in wire order. Nested messages come back as their raw bytes. */
export function* readFields(bytes: Uint8Array): Generator<ProtobufField> {
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = bytes[offset++];
      if (byte === undefined) throw new ProtobufDecodingError('Truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
    throw new ProtobufDecodingError('Varint longer than ten bytes');
  };
  const take = (length: number): Uint8Array => {
    if (offset + length > bytes.length) throw new ProtobufDecodingError('Field runs past the end of the message');
    const value = bytes.subarray(offset, offset + length);
    offset += length;
    return value;
  };
  while (offset < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    switch (wireType) {
      case WireType.varint:
        yield { field, wireType, value: varint() };
        break;
      case WireType.fixed64:
        yield { field, wireType, value: take(8) };
        break;
      case WireType.lengthDelimited:
        yield { field, wireType, value: take(Number(varint())) };
        break;
      case WireType.fixed32:
        yield { field, wireType, value: take(4) };
        break;
      default:
        throw new ProtobufDecodingError(`Unsupported wire type ${wireType} for field ${field}`);
    }
  }
}
