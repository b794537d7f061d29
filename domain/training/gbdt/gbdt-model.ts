import type { OnnxMetadata } from '../../../shared/trainers.ts';
import { assertSameFeatures, type FeatureMatrix, type FeatureNames } from '../feature-matrix.ts';
import { GraphBuilder } from '../onnx-graph.ts';
import { NUMERIC_INPUT } from '../../../shared/model-graph.ts';
import type { TrainedModel } from '../trainer.ts';
import type { LabelTask } from '../../../shared/data/feature-spec.ts';
import { untransformOutput } from '../label-transform.ts';
import { softmax } from '../softmax.ts';
import { treeFeatureColumns, type CategoryCodes } from './features.ts';
import { BinnedTree, isCategoricalNode, LEAF, scoringEdges, type Tree } from './tree.ts';
import { binRows } from './binning.ts';

/**
 * A fitted boosted ensemble. Binary: margin = base + Σ tree leaf values, probability = sigmoid(margin).
 * Regression: value = the margin, with the label transform undone. Multiclass: tree t scores class
 * t mod K, probabilities = softmax of the K class margins.
 * `predict` adds leaf values in float32, tree by tree, then the base, exactly as onnxruntime's
 * TreeEnsembleRegressor does, so the exported graph reproduces it to float32 rounding of the link.
 */
export class GbdtModel implements TrainedModel {
  readonly kind = 'gbdt';

  constructor(
    readonly features: FeatureNames,
    /** Per categorical feature, its code column's codes (tree columns after the numerics). */
    readonly codes: readonly CategoryCodes[],
    readonly trees: readonly Tree[],
    /** float32 starting margin: binary log-odds of the training positive rate, a regression's mean or median, one per class for multiclass. */
    readonly baseScore: number | readonly number[],
    readonly summary: Record<string, unknown>,
    readonly task: LabelTask = { kind: 'binary' },
  ) {}

  private get bases(): readonly number[] {
    return typeof this.baseScore === 'number' ? [this.baseScore] : this.baseScore;
  }

  predict(matrix: FeatureMatrix): Float64Array {
    assertSameFeatures(this.features, matrix);
    const columns = treeFeatureColumns(matrix, this.codes);
    const numericCount = this.features.numeric.length;
    const edges = scoringEdges(
      this.trees,
      columns.length,
      columns.map((_, f) => (f < numericCount ? null : (this.codes[f - numericCount] as CategoryCodes).categories.length)),
    );
    const bins = binRows(columns, edges, matrix.rows);
    const bases = this.bases;
    const outputs = bases.length;
    const margins = bases.map(() => new Float32Array(matrix.rows));
    this.trees.forEach((tree, t) => new BinnedTree(tree, edges).addTo(margins[t % outputs] as Float32Array, bins, columns.length));
    const task = this.task;
    if (task.kind === 'multiclass') {
      const out = new Float64Array(matrix.rows * outputs);
      for (let i = 0; i < matrix.rows; i++) {
        const logits = bases.map((base, k) => Math.fround(((margins[k] as Float32Array)[i] as number) + base));
        out.set(softmax(logits), i * outputs);
      }
      return out;
    }
    const margin = margins[0] as Float32Array;
    const base = bases[0] as number;
    const out = new Float64Array(matrix.rows);
    for (let i = 0; i < matrix.rows; i++) {
      const m = Math.fround((margin[i] as number) + base);
      out[i] = task.kind === 'regression' ? untransformOutput(m, task.transform) : 1 / (1 + Math.exp(-m));
    }
    return out;
  }

  toOnnx(metadata: OnnxMetadata): Uint8Array {
    const graph = new GraphBuilder(this.features);
    const columns: string[] = [];
    if (this.features.numeric.length > 0) columns.push(NUMERIC_INPUT);
    this.codes.forEach(({ categories }, j) => {
      // Missing and unknown categories become NaN, which no BRANCH_EQ matches: they go right.
      columns.push(graph.categoricalLookup(j, categories, Float32Array.from(categories, (_, code) => code), NaN));
    });
    const input =
      columns.length === 1
        ? (columns[0] as string)
        : graph.node('Concat', columns, 'tree_features', [{ name: 'axis', type: 'int', value: 1 }]);
    const margin = graph.mlNode('TreeEnsembleRegressor', [input], 'margin', this.treeEnsembleAttributes());
    return this.task.kind === 'binary' ? graph.toModel(margin, 'gbdt', metadata) : graph.toTaskModel(margin, 'gbdt', metadata, this.task);
  }

  private treeEnsembleAttributes() {
    const bases = this.bases;
    const outputs = bases.length;
    const nodeTree: number[] = [];
    const nodeId: number[] = [];
    const nodeFeature: number[] = [];
    const nodeMode: string[] = [];
    const nodeValue: number[] = [];
    const nodeTrue: number[] = [];
    const nodeFalse: number[] = [];
    const nodeMissingTrue: number[] = [];
    const targetTree: number[] = [];
    const targetNode: number[] = [];
    const targetWeight: number[] = [];
    const pushNode = (t: number, id: number, feature: number, mode: string, value: number, whenTrue: number, whenFalse: number, missingTrue: number) => {
      nodeTree.push(t);
      nodeId.push(id);
      nodeFeature.push(feature);
      nodeMode.push(mode);
      nodeValue.push(value);
      nodeTrue.push(whenTrue);
      nodeFalse.push(whenFalse);
      nodeMissingTrue.push(missingTrue);
    };
    this.trees.forEach((tree, t) => {
      // A categorical node becomes a chain of BRANCH_EQ nodes, one per code of its set, each sending
      // a match to the node's left child and the rest on down the chain, the last to its right child
      // (as onnxmltools converts LightGBM's set splits); the chain's extra ids follow the tree's own.
      let nextId = tree.feature.length;
      for (let n = 0; n < tree.feature.length; n++) {
        const leaf = tree.feature[n] === LEAF;
        const feature = leaf ? 0 : (tree.feature[n] as number);
        if (!leaf && isCategoricalNode(tree, n)) {
          const first = tree.categoryStart[n] as number;
          const end = tree.categoryStart[n + 1] as number;
          for (let i = first; i < end; i++) {
            const id = i === first ? n : nextId++;
            const onward = i + 1 === end ? (tree.right[n] as number) : nextId;
            pushNode(t, id, feature, 'BRANCH_EQ', tree.categories[i] as number, tree.left[n] as number, onward, 0);
          }
          continue;
        }
        pushNode(
          t,
          n,
          feature,
          leaf ? 'LEAF' : 'BRANCH_LEQ',
          leaf ? 0 : (tree.threshold[n] as number),
          leaf ? 0 : (tree.left[n] as number),
          leaf ? 0 : (tree.right[n] as number),
          leaf ? 0 : (tree.missingLeft[n] as number),
        );
        if (leaf) {
          targetTree.push(t);
          targetNode.push(n);
          targetWeight.push(tree.value[n] as number);
        }
      }
    });
    return [
      { name: 'n_targets', type: 'int', value: outputs },
      { name: 'aggregate_function', type: 'string', value: 'SUM' },
      { name: 'post_transform', type: 'string', value: 'NONE' },
      { name: 'base_values', type: 'floats', value: bases },
      { name: 'nodes_treeids', type: 'ints', value: nodeTree },
      { name: 'nodes_nodeids', type: 'ints', value: nodeId },
      { name: 'nodes_featureids', type: 'ints', value: nodeFeature },
      { name: 'nodes_modes', type: 'strings', value: nodeMode },
      { name: 'nodes_values', type: 'floats', value: nodeValue },
      { name: 'nodes_truenodeids', type: 'ints', value: nodeTrue },
      { name: 'nodes_falsenodeids', type: 'ints', value: nodeFalse },
      { name: 'nodes_missing_value_tracks_true', type: 'ints', value: nodeMissingTrue },
      { name: 'target_treeids', type: 'ints', value: targetTree },
      { name: 'target_nodeids', type: 'ints', value: targetNode },
      { name: 'target_ids', type: 'ints', value: targetTree.map((t) => t % outputs) },
      { name: 'target_weights', type: 'floats', value: targetWeight },
    ] as const;
  }
}
