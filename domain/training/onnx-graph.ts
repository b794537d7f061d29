import { onnxMetadataSchema, type OnnxMetadata, type TrainerKind } from '../../shared/trainers.ts';
import type { FeatureNames } from './feature-matrix.ts';
import { CATEGORICAL_INPUT, MetadataKey, NUMERIC_INPUT, PROBABILITIES_OUTPUT, PROBABILITY_OUTPUT, VALUE_OUTPUT } from '../../shared/model-graph.ts';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import { encodeModel, type AttributeProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../../formats/onnx/onnx-proto.ts';
import { SluiceError } from '../../shared/errors.ts';


/**
 * ai.onnx 17 with IR 8, and ai.onnx.ml 3, which resolves LabelEncoder to version 2 (string → float
 * tables) and TreeEnsembleRegressor to version 3. onnxruntime-node 1.30 runs them; the tests load
 * every exported graph to keep it that way.
 */
const IR_VERSION = 8;
const ONNX_OPSET = 17;
const ML_DOMAIN = 'ai.onnx.ml';
const ML_OPSET = 3;
const BATCH = 'N';

export class OnnxExportError extends SluiceError {
  override readonly name = 'OnnxExportError';
  readonly kind = 'Internal';
}

/** Accumulates nodes and constants with unique, readable names. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];

  constructor(readonly features: FeatureNames) {
    if (features.numeric.length === 0 && features.categorical.length === 0) {
      throw new OnnxExportError('A model needs at least one numeric or categorical feature');
    }
  }

  floats(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, type: 'float', values });
    return name;
  }

  int64s(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, type: 'int64', values });
    return name;
  }

  node(
    opType: string,
    inputs: readonly string[],
    output: string,
    attributes: readonly AttributeProto[] = [],
    domain = '',
  ): string {
    this.nodes.push({ opType, domain, name: `${opType}_${this.nodes.length}`, inputs, outputs: [output], attributes });
    return output;
  }

  mlNode(opType: string, inputs: readonly string[], output: string, attributes: readonly AttributeProto[]): string {
    return this.node(opType, inputs, output, attributes, ML_DOMAIN);
  }

  /**
   * Column `column` of the categorical input mapped through a string → float table, as [N, 1]. Strings
   * not in `keys` (unseen categories and the '' that means missing) get `fallback`.
   */
  categoricalLookup(column: number, keys: readonly string[], values: ArrayLike<number>, fallback: number, prefix = `categorical_${column}`): string {
    if (keys.includes('')) throw new OnnxExportError("'' means missing and cannot be a category key");
    const starts = this.int64s(`${prefix}_start`, [1], [column]);
    const ends = this.int64s(`${prefix}_end`, [1], [column + 1]);
    const axes = this.int64s(`${prefix}_axis`, [1], [1]);
    const strings = this.node('Slice', [CATEGORICAL_INPUT, starts, ends, axes], `${prefix}_strings`);
    return this.mlNode('LabelEncoder', [strings], `${prefix}_value`, [
      { name: 'keys_strings', type: 'strings', value: keys },
      { name: 'values_floats', type: 'floats', value: values },
      { name: 'default_float', type: 'float', value: fallback },
    ]);
  }

  /**
   * Column `column` of the categorical input mapped to a row of `width` floats, as [N, width]: a
   * LabelEncoder from category to row index (strings not in `keys` get the last row, `keys.length`)
   * and a Gather from `table` (row-major [keys.length + 1, width]). LabelEncoder maps a string to one
   * number only, so a vector per category takes the index and a lookup.
   */
  categoricalRowLookup(column: number, keys: readonly string[], table: ArrayLike<number>, width: number, prefix = `categorical_${column}`): string {
    if (keys.includes('')) throw new OnnxExportError("'' means missing and cannot be a category key");
    if (table.length !== (keys.length + 1) * width) throw new OnnxExportError(`${prefix}: table has ${table.length} values for ${keys.length + 1} rows of ${width}`);
    const starts = this.int64s(`${prefix}_start`, [1], [column]);
    const ends = this.int64s(`${prefix}_end`, [1], [column + 1]);
    const axes = this.int64s(`${prefix}_axis`, [1], [1]);
    const strings = this.node('Slice', [CATEGORICAL_INPUT, starts, ends, axes], `${prefix}_strings`);
    const rows = this.mlNode('LabelEncoder', [strings], `${prefix}_row`, [
      { name: 'keys_strings', type: 'strings', value: keys },
      { name: 'values_int64s', type: 'ints', value: keys.map((_, i) => i) },
      { name: 'default_int64', type: 'int', value: keys.length },
    ]);
    const weights = this.floats(`${prefix}_table`, [keys.length + 1, width], table);
    const gathered = this.node('Gather', [weights, rows], `${prefix}_gathered`, [{ name: 'axis', type: 'int', value: 0 }]);
    return this.node('Squeeze', [gathered, axes], `${prefix}_value`);
  }

  /** Finishes the graph with `probability = Sigmoid(margin)` and wraps it in a model with metadata. */
  toModel(margin: string, trainer: TrainerKind, metadata: OnnxMetadata): Uint8Array {
    this.node('Sigmoid', [margin], PROBABILITY_OUTPUT);
    return this.finish(PROBABILITY_OUTPUT, 1, trainer, metadata, []);
  }

  /**
   * Finishes the graph with the output of the label's kind (see shared/model-graph.ts): binary as
   * `toModel`; regression `value` = the margin with the transform undone (expm1 after log1p);
   * multiclass `probabilities` = Softmax of the [N, K] class scores.
   */
  toTaskModel(scores: string, trainer: TrainerKind, metadata: OnnxMetadata, task: LabelTask): Uint8Array {
    switch (task.kind) {
      case 'binary':
        return this.toModel(scores, trainer, metadata);
      case 'regression': {
        if (task.transform?.log1p) {
          const exp = this.node('Exp', [scores], 'value_exp');
          this.node('Sub', [exp, this.floats('one', [1], [1])], VALUE_OUTPUT);
        } else this.node('Identity', [scores], VALUE_OUTPUT);
        const props: [string, string][] = [[MetadataKey.labelKind, 'regression']];
        if (task.transform) props.push([MetadataKey.labelTransform, JSON.stringify(task.transform)]);
        return this.finish(VALUE_OUTPUT, 1, trainer, metadata, props);
      }
      case 'multiclass':
        this.node('Softmax', [scores], PROBABILITIES_OUTPUT, [{ name: 'axis', type: 'int', value: 1 }]);
        return this.finish(PROBABILITIES_OUTPUT, task.classes.length, trainer, metadata, [
          [MetadataKey.labelKind, 'multiclass'],
          [MetadataKey.classes, JSON.stringify(task.classes)],
        ]);
    }
  }

  private finish(output: string, width: number, trainer: TrainerKind, metadata: OnnxMetadata, taskProps: [string, string][]): Uint8Array {
    const meta = onnxMetadataSchema.parse(metadata);
    const inputs: ValueInfoProto[] = [];
    if (this.features.numeric.length > 0) {
      inputs.push({ name: NUMERIC_INPUT, elemType: 'float', shape: [BATCH, this.features.numeric.length] });
    }
    if (this.features.categorical.length > 0) {
      inputs.push({ name: CATEGORICAL_INPUT, elemType: 'string', shape: [BATCH, this.features.categorical.length] });
    }
    const props: [string, string][] = [
      [MetadataKey.modelName, meta.modelName],
      [MetadataKey.modelVersion, String(meta.modelVersion)],
      [MetadataKey.featureNames, JSON.stringify({ numeric: this.features.numeric, categorical: this.features.categorical })],
      [MetadataKey.trainer, trainer],
      [MetadataKey.lineage, JSON.stringify(meta.lineage)],
    ];
    if (meta.threshold !== undefined) props.push([MetadataKey.threshold, String(meta.threshold)]);
    props.push(...taskProps);
    return encodeModel({
      irVersion: IR_VERSION,
      opsetImports: [
        { domain: '', version: ONNX_OPSET },
        { domain: ML_DOMAIN, version: ML_OPSET },
      ],
      producerName: 'sluice',
      producerVersion: '0.1.0',
      modelVersion: meta.modelVersion,
      docString: `${trainer} model ${meta.modelName} v${meta.modelVersion}`,
      graph: {
        name: `${meta.modelName}_v${meta.modelVersion}`,
        nodes: this.nodes,
        initializers: this.initializers,
        inputs,
        outputs: [{ name: output, elemType: 'float', shape: [BATCH, width] }],
      },
      metadataProps: props,
    });
  }
}
