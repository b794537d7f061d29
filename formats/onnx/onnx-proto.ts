import { ProtobufWriter } from '../protobuf/protobuf-writer.ts';

/**
 * The ONNX messages sluice writes, as plain objects, and their encoders. Field numbers are those of
 * `onnx.proto` (proto2, IR version 8 era); only the fields our graphs use are modelled.
 */

/** TensorProto.DataType values. */
export const TensorDataType = { float: 1, int64: 7, string: 8 } as const;
export type ElementType = keyof typeof TensorDataType;

/** AttributeProto.AttributeType values. */
const AttributeType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;

export type TensorProto =
  | { name: string; dims: number[]; type: 'float'; values: ArrayLike<number> }
  | { name: string; dims: number[]; type: 'int64'; values: ArrayLike<number> }
  | { name: string; dims: number[]; type: 'string'; values: readonly string[] };

export type AttributeProto =
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'tensor'; value: TensorProto }
  | { name: string; type: 'floats'; value: ArrayLike<number> }
  | { name: string; type: 'ints'; value: ArrayLike<number> }
  | { name: string; type: 'strings'; value: readonly string[] };

export interface NodeProto {
  opType: string;
  /** '' is the default ONNX domain; 'ai.onnx.ml' for the traditional-ML operators. */
  domain: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: readonly AttributeProto[];
}

/** A tensor-typed value; a string dimension is symbolic (dim_param), e.g. the batch size 'N'. */
export interface ValueInfoProto {
  name: string;
  elemType: ElementType;
  shape: readonly (number | string)[];
}

export interface GraphProto {
  name: string;
  nodes: readonly NodeProto[];
  initializers: readonly TensorProto[];
  inputs: readonly ValueInfoProto[];
  outputs: readonly ValueInfoProto[];
}

export interface OperatorSetId {
  domain: string;
  version: number;
}

export interface ModelProto {
  irVersion: number;
  opsetImports: readonly OperatorSetId[];
  producerName: string;
  producerVersion: string;
  modelVersion: number;
  docString: string;
  graph: GraphProto;
  metadataProps: readonly (readonly [key: string, value: string])[];
}

export function writeTensor(w: ProtobufWriter, tensor: TensorProto): void {
  w.packedInts(1, tensor.dims);
  w.int(2, TensorDataType[tensor.type]);
  switch (tensor.type) {
    case 'float':
      w.packedFloats(4, tensor.values);
      break;
    case 'int64':
      w.packedInts(7, tensor.values);
      break;
    case 'string':
      for (const value of tensor.values) w.string(6, value);
      break;
  }
  w.string(8, tensor.name);
}

export function writeAttribute(w: ProtobufWriter, attribute: AttributeProto): void {
  w.string(1, attribute.name);
  w.int(20, AttributeType[attribute.type]);
  switch (attribute.type) {
    case 'float':
      w.float(2, attribute.value);
      break;
    case 'int':
      w.int(3, attribute.value);
      break;
    case 'string':
      w.string(4, attribute.value);
      break;
    case 'tensor': {
      const tensor = attribute.value;
      w.message(5, (t) => writeTensor(t, tensor));
      break;
    }
    case 'floats':
      w.packedFloats(7, attribute.value);
      break;
    case 'ints':
      w.packedInts(8, attribute.value);
      break;
    case 'strings':
      for (const value of attribute.value) w.string(9, value);
      break;
  }
}

export function writeNode(w: ProtobufWriter, node: NodeProto): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name);
  w.string(4, node.opType);
  for (const attribute of node.attributes) w.message(5, (a) => writeAttribute(a, attribute));
  if (node.domain !== '') w.string(7, node.domain);
}

export function writeValueInfo(w: ProtobufWriter, value: ValueInfoProto): void {
  w.string(1, value.name);
  // TypeProto { tensor_type: Tensor { elem_type, shape: TensorShapeProto { dim: Dimension* } } }
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, TensorDataType[value.elemType]);
      tensor.message(2, (shape) => {
        for (const dim of value.shape) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.int(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

export function writeGraph(w: ProtobufWriter, graph: GraphProto): void {
  for (const node of graph.nodes) w.message(1, (n) => writeNode(n, node));
  w.string(2, graph.name);
  for (const tensor of graph.initializers) w.message(5, (t) => writeTensor(t, tensor));
  for (const input of graph.inputs) w.message(11, (v) => writeValueInfo(v, input));
  for (const output of graph.outputs) w.message(12, (v) => writeValueInfo(v, output));
}

export function writeOperatorSetId(w: ProtobufWriter, opset: OperatorSetId): void {
  w.string(1, opset.domain);
  w.int(2, opset.version);
}

export function writeStringStringEntry(w: ProtobufWriter, key: string, value: string): void {
  w.string(1, key);
  w.string(2, value);
}

export function encodeModel(model: ModelProto): Uint8Array {
  const w = new ProtobufWriter();
  w.int(1, model.irVersion);
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  w.int(5, model.modelVersion);
  w.string(6, model.docString);
  w.message(7, (g) => writeGraph(g, model.graph));
  for (const opset of model.opsetImports) w.message(8, (o) => writeOperatorSetId(o, opset));
  for (const [key, value] of model.metadataProps) w.message(14, (e) => writeStringStringEntry(e, key, value));
  return w.finish();
}
