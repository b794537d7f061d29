import type { OnnxMetadata } from '../../../shared/trainers.ts';
import { assertSameFeatures, type FeatureMatrix, type FeatureNames } from '../feature-matrix.ts';
import { GraphBuilder } from '../onnx-graph.ts';
import { NUMERIC_INPUT } from '../../../shared/model-graph.ts';
import type { TrainedModel } from '../trainer.ts';
import { treeFeatureColumns, type CategoryRanking } from './features.ts';
import { LEAF, leafOfRow, type Tree } from './tree.ts';

/**
 * A fitted boosted ensemble: margin = base + Σ tree leaf values, probability = sigmoid(margin).
 * `predict` adds leaf values in float32, tree by tree, then the base, exactly as onnxruntime's
 * TreeEnsembleRegressor does, so the exported graph reproduces it to float32 rounding of the sigmoid.
 */
export class GbdtModel implements TrainedModel {
  readonly kind = 'gbdt';

  constructor(
    readonly features: FeatureNames,
    readonly rankings: readonly CategoryRanking[],
    readonly trees: readonly Tree[],
    /** float32 log-odds of the training positive rate. */
    readonly baseScore: number,
    readonly summary: Record<string, unknown>,
  ) {}

  predict(matrix: FeatureMatrix): Float64Array {
    assertSameFeatures(this.features, matrix);
    const columns = treeFeatureColumns(matrix, this.rankings);
    const margin = new Float32Array(matrix.rows);
    for (const tree of this.trees) {
      for (let i = 0; i < matrix.rows; i++) margin[i] = (margin[i] as number) + (tree.value[leafOfRow(tree, columns, i)] as number);
    }
    const out = new Float64Array(matrix.rows);
    for (let i = 0; i < matrix.rows; i++) {
      const m = Math.fround((margin[i] as number) + this.baseScore);
      out[i] = 1 / (1 + Math.exp(-m));
    }
    return out;
  }

  toOnnx(metadata: OnnxMetadata): Uint8Array {
    const graph = new GraphBuilder(this.features);
    const columns: string[] = [];
    if (this.features.numeric.length > 0) columns.push(NUMERIC_INPUT);
    this.rankings.forEach((ranking, j) => {
      const ranks = Float32Array.from(ranking.categories, (_, rank) => rank);
      columns.push(graph.categoricalLookup(j, ranking.categories, ranks, ranking.unseenRank));
    });
    const input =
      columns.length === 1
        ? (columns[0] as string)
        : graph.node('Concat', columns, 'tree_features', [{ name: 'axis', type: 'int', value: 1 }]);
    const margin = graph.mlNode('TreeEnsembleRegressor', [input], 'margin', this.treeEnsembleAttributes());
    return graph.toModel(margin, 'gbdt', metadata);
  }

  private treeEnsembleAttributes() {
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
    this.trees.forEach((tree, t) => {
      for (let n = 0; n < tree.feature.length; n++) {
        const leaf = tree.feature[n] === LEAF;
        nodeTree.push(t);
        nodeId.push(n);
        nodeFeature.push(leaf ? 0 : (tree.feature[n] as number));
        nodeMode.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
        nodeValue.push(leaf ? 0 : (tree.threshold[n] as number));
        nodeTrue.push(leaf ? 0 : (tree.left[n] as number));
        nodeFalse.push(leaf ? 0 : (tree.right[n] as number));
        nodeMissingTrue.push(leaf ? 0 : (tree.missingLeft[n] as number));
        if (leaf) {
          targetTree.push(t);
          targetNode.push(n);
          targetWeight.push(tree.value[n] as number);
        }
      }
    });
    return [
      { name: 'n_targets', type: 'int', value: 1 },
      { name: 'aggregate_function', type: 'string', value: 'SUM' },
      { name: 'post_transform', type: 'string', value: 'NONE' },
      { name: 'base_values', type: 'floats', value: [this.baseScore] },
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
      { name: 'target_ids', type: 'ints', value: new Array<number>(targetTree.length).fill(0) },
      { name: 'target_weights', type: 'floats', value: targetWeight },
    ] as const;
  }
}
