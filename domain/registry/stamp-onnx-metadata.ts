import { readFields } from '../../formats/protobuf/protobuf-reader.ts';
import { ProtobufWriter, WireType } from '../../formats/protobuf/protobuf-writer.ts';
import { writeStringStringEntry } from '../../formats/onnx/onnx-proto.ts';
import { MetadataKey } from '../../shared/model-graph.ts';

const MODEL_VERSION = 5;
const METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function entryKey(entry: Uint8Array): string | undefined {
  for (const field of readFields(entry)) if (field.field === ENTRY_KEY && field.wireType === WireType.lengthDelimited) return utf8.decode(field.value);
  return undefined;
}

/**
 * A copy of a serialized ModelProto with its version set: a candidate is trained and exported before
 * the registry gives it a version number, so registration stamps the number into the file it stores
 * (both `model_version` and the `sluice.model_version` metadata). Every other byte is kept as is.
 */
export function stampOnnxVersion(model: Uint8Array, version: number): Uint8Array {
  const w = new ProtobufWriter();
  for (const field of readFields(model)) {
    if (field.field === MODEL_VERSION) continue;
    if (field.field === METADATA_PROPS && field.wireType === WireType.lengthDelimited && entryKey(field.value) === MetadataKey.modelVersion) continue;
    if (field.wireType === WireType.varint) w.tag(field.field, WireType.varint).rawVarint(Number(field.value));
    else if (field.wireType === WireType.lengthDelimited) w.bytes(field.field, field.value);
    else throw new Error(`unexpected fixed-width field ${field.field} at the top level of a ModelProto`);
  }
  w.int(MODEL_VERSION, version);
  w.message(METADATA_PROPS, (entry) => writeStringStringEntry(entry, MetadataKey.modelVersion, String(version)));
  return w.finish();
}
