import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeModel, writeAttribute, writeTensor, writeValueInfo } from '../../../formats/onnx/onnx-proto.ts';
import { ProtobufDecodingError, readFields } from '../../../formats/protobuf/protobuf-reader.ts';
import { ProtobufEncodingError, ProtobufWriter, WireType } from '../../../formats/protobuf/protobuf-writer.ts';
import { readOnnxMetadata } from '../../../formats/onnx/read-metadata.ts';

const bytes = (write: (w: ProtobufWriter) => void) => {
  const w = new ProtobufWriter();
  write(w);
  return Array.from(w.finish());
};
const hex = (text: string) => text.split(' ').map((h) => parseInt(h, 16));

describe('ProtobufWriter', () => {
  // Byte sequences from the protobuf encoding guide and worked by hand from its rules.
  test('writes varint fields: field 1 = 150 is 08 96 01', () => {
    assert.deepEqual(bytes((w) => w.int(1, 150)), hex('08 96 01'));
    assert.deepEqual(bytes((w) => w.int(1, 1)), hex('08 01'));
    assert.deepEqual(bytes((w) => w.rawVarint(300)), hex('ac 02'));
    assert.deepEqual(bytes((w) => w.rawVarint(0)), hex('00'));
  });

  test('writes integers beyond 32 bits without truncating them', () => {
    // 2^35 = 7 bits of zeros four times, then 2^7 → 80 80 80 80 80 01.
    assert.deepEqual(bytes((w) => w.rawVarint(2 ** 35)), hex('80 80 80 80 80 01'));
    assert.deepEqual(bytes((w) => w.rawVarint(Number.MAX_SAFE_INTEGER)), hex('ff ff ff ff ff ff ff 0f'));
  });

  test('writes negative integers as ten-byte two\'s complement', () => {
    assert.deepEqual(bytes((w) => w.int(1, -1)), hex('08 ff ff ff ff ff ff ff ff ff 01'));
    assert.deepEqual(bytes((w) => w.rawVarint(-2)), hex('fe ff ff ff ff ff ff ff ff 01'));
  });

  test('writes strings as length-delimited UTF-8: field 2 = "testing" is 12 07 74 65 73 74 69 6e 67', () => {
    assert.deepEqual(bytes((w) => w.string(2, 'testing')), hex('12 07 74 65 73 74 69 6e 67'));
    assert.deepEqual(bytes((w) => w.string(1, 'é')), hex('0a 02 c3 a9'));
    assert.deepEqual(bytes((w) => w.string(1, '')), hex('0a 00'));
  });

  test('writes floats as little-endian fixed32', () => {
    assert.deepEqual(bytes((w) => w.float(2, 1)), hex('15 00 00 80 3f'));
    assert.deepEqual(bytes((w) => w.float(2, -2.5)), hex('15 00 00 20 c0'));
  });

  test('packs repeated scalars: field 4 = [3, 270, 86942] is 22 06 03 8e 02 9e a7 05', () => {
    assert.deepEqual(bytes((w) => w.packedInts(4, [3, 270, 86942])), hex('22 06 03 8e 02 9e a7 05'));
    assert.deepEqual(bytes((w) => w.packedFloats(1, [1, 0])), hex('0a 08 00 00 80 3f 00 00 00 00'));
    assert.deepEqual(bytes((w) => w.packedInts(1, [-1])), hex('0a 0a ff ff ff ff ff ff ff ff ff 01'));
  });

  test('prefixes nested messages with their length: field 3 = { field 1 = 150 } is 1a 03 08 96 01', () => {
    assert.deepEqual(bytes((w) => w.message(3, (m) => m.int(1, 150))), hex('1a 03 08 96 01'));
  });

  test('grows past its initial buffer', () => {
    const payload = new Uint8Array(10_000).fill(7);
    const out = bytes((w) => w.bytes(1, payload));
    assert.deepEqual(out.slice(0, 3), hex('0a 90 4e'));
    assert.equal(out.length, 10_003);
  });

  test('refuses values protobuf cannot carry', () => {
    assert.throws(() => new ProtobufWriter().rawVarint(1.5), ProtobufEncodingError);
    assert.throws(() => new ProtobufWriter().rawVarint(2 ** 60), ProtobufEncodingError);
    assert.throws(() => new ProtobufWriter().tag(0, WireType.varint), ProtobufEncodingError);
  });
});

describe('ONNX message encoders', () => {
  test('TensorProto: dims (1), data_type (2), float_data (4), name (8)', () => {
    const out = bytes((w) => writeTensor(w, { name: 'w', dims: [2, 1], type: 'float', values: [1, 0] }));
    assert.deepEqual(out, hex('0a 02 02 01 10 01 22 08 00 00 80 3f 00 00 00 00 42 01 77'));
  });

  test('AttributeProto: name (1), type (20) and the value field of that type', () => {
    assert.deepEqual(bytes((w) => writeAttribute(w, { name: 'axis', type: 'int', value: 1 })), hex('0a 04 61 78 69 73 a0 01 02 18 01'));
    assert.deepEqual(bytes((w) => writeAttribute(w, { name: 'm', type: 'strings', value: ['A', 'B'] })), hex('0a 01 6d a0 01 08 4a 01 41 4a 01 42'));
    assert.deepEqual(bytes((w) => writeAttribute(w, { name: 'f', type: 'float', value: 0.5 })), hex('0a 01 66 a0 01 01 15 00 00 00 3f'));
  });

  test('ValueInfoProto: TypeProto.tensor_type with elem_type and symbolic and fixed dims', () => {
    const out = bytes((w) => writeValueInfo(w, { name: 'x', elemType: 'float', shape: ['N', 3] }));
    // name "x"; type { tensor_type { elem_type 1, shape { dim { dim_param "N" }, dim { dim_value 3 } } } }
    assert.deepEqual(out, hex('0a 01 78 12 0f 0a 0d 08 01 12 09 0a 03 12 01 4e 0a 02 08 03'));
  });

  test('ModelProto round-trips its metadata_props (14) through the reader', () => {
    const model = encodeModel({
      irVersion: 8,
      opsetImports: [{ domain: '', version: 17 }],
      producerName: 'sluice',
      producerVersion: '0',
      modelVersion: 1,
      docString: '',
      graph: { name: 'g', nodes: [], initializers: [], inputs: [], outputs: [] },
      metadataProps: [
        ['a', '1'],
        ['unicode', 'délai ✈'],
      ],
    });
    const top = [...readFields(model)];
    assert.deepEqual(top[0], { field: 1, wireType: WireType.varint, value: 8n });
    assert.deepEqual(readOnnxMetadata(model), { a: '1', unicode: 'délai ✈' });
  });

  test('the reader reports truncated input', () => {
    assert.throws(() => [...readFields(new Uint8Array([0x0a, 0x05, 0x01]))], ProtobufDecodingError);
    assert.throws(() => [...readFields(new Uint8Array([0x08, 0x96]))], ProtobufDecodingError);
  });
});
