import { readFields } from '../protobuf/protobuf-reader.ts';
import { WireType } from '../protobuf/protobuf-writer.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MODEL_METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

/** A serialized ModelProto's `metadata_props` as a plain record (onnxruntime-node does not expose them). */
export function readOnnxMetadata(model: Uint8Array): Record<string, string> {
  const props: Record<string, string> = {};
  for (const field of readFields(model)) {
    if (field.field !== MODEL_METADATA_PROPS || field.wireType !== WireType.lengthDelimited) continue;
    let key = '';
    let value = '';
    for (const entry of readFields(field.value)) {
      if (entry.wireType !== WireType.lengthDelimited) continue;
      if (entry.field === ENTRY_KEY) key = utf8.decode(entry.value);
      if (entry.field === ENTRY_VALUE) value = utf8.decode(entry.value);
    }
    props[key] = value;
  }
  return props;
}
