import { z } from 'zod';

/**
 * One regression tree as parallel arrays indexed by node id (root = 0). A node with feature -1 is a
 * leaf. An internal node on a numeric feature sends a row left when its value is ≤ `threshold`
 * (equivalently its bin is ≤ `bin`), and a missing value left when `missingLeft` is 1. An internal
 * node on a categorical code column sends a row left when its code is one of the node's
 * `categories[categoryStart[n] .. categoryStart[n + 1])`; missing and unknown categories go right.
 * Thresholds and leaf values are float32 so that training, `predict` and the exported ONNX graph all
 * use the same numbers.
 */
export interface Tree {
  feature: Int32Array;
  bin: Uint8Array;
  threshold: Float32Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  value: Float32Array;
  /** Per node, where its codes start in `categories`, plus one end entry: nodes + 1 entries. */
  categoryStart: Int32Array;
  categories: Int32Array;
}

export const LEAF = -1;

export const isCategoricalNode = (tree: Tree, node: number) => (tree.categoryStart[node + 1] as number) > (tree.categoryStart[node] as number);

/** Whether code `code` (a float32 column value, NaN when missing) is in the node's left set. */
export function inCategorySet(tree: Tree, node: number, code: number): boolean {
  const end = tree.categoryStart[node + 1] as number;
  for (let i = tree.categoryStart[node] as number; i < end; i++) if (tree.categories[i] === code) return true;
  return false;
}

/** JSON form, for checkpoints: float32 values survive a JSON round trip exactly as doubles. */
export const serializedTreeSchema = z.strictObject({
  feature: z.array(z.number().int().min(LEAF)),
  bin: z.array(z.number().int().min(0).max(255)),
  threshold: z.array(z.number()),
  missingLeft: z.array(z.union([z.literal(0), z.literal(1)])),
  left: z.array(z.number().int()),
  right: z.array(z.number().int()),
  value: z.array(z.number()),
  categoryStart: z.array(z.number().int().nonnegative()),
  categories: z.array(z.number().int().nonnegative()),
});
export type SerializedTree = z.infer<typeof serializedTreeSchema>;

export function serializeTree(tree: Tree): SerializedTree {
  return {
    feature: Array.from(tree.feature),
    bin: Array.from(tree.bin),
    threshold: Array.from(tree.threshold),
    missingLeft: Array.from(tree.missingLeft, (m) => (m === 1 ? 1 : 0)),
    left: Array.from(tree.left),
    right: Array.from(tree.right),
    value: Array.from(tree.value),
    categoryStart: Array.from(tree.categoryStart),
    categories: Array.from(tree.categories),
  };
}

export function deserializeTree(tree: SerializedTree): Tree {
  return {
    feature: Int32Array.from(tree.feature),
    bin: Uint8Array.from(tree.bin),
    threshold: Float32Array.from(tree.threshold),
    missingLeft: Uint8Array.from(tree.missingLeft),
    left: Int32Array.from(tree.left),
    right: Int32Array.from(tree.right),
    value: Float32Array.from(tree.value),
    categoryStart: Int32Array.from(tree.categoryStart),
    categories: Int32Array.from(tree.categories),
  };
}

/**
 * Per feature, the edges that turn a float32 column into bins on which every node of `trees` is a
 * lookup (binning.ts's rule: bin = 1 + number of edges below x, NaN → 0): a numeric feature's edges
 * are the distinct thresholds the trees use on it, so x ≤ threshold k exactly when bin(x) ≤ k + 1;
 * a code column's are those of its codes (bin = code + 1). At most 255 bins, as in training.
 */
export function scoringEdges(trees: readonly Tree[], featureCount: number, categoryCounts: readonly (number | null)[]): Float32Array[] {
  const thresholds = Array.from({ length: featureCount }, () => new Set<number>());
  for (const tree of trees) {
    for (let node = 0; node < tree.feature.length; node++) {
      const f = tree.feature[node] as number;
      if (f !== LEAF && !isCategoricalNode(tree, node)) (thresholds[f] as Set<number>).add(tree.threshold[node] as number);
    }
  }
  return thresholds.map((set, f) => {
    const categories = categoryCounts[f] ?? null;
    return categories === null ? Float32Array.from(set).sort() : Float32Array.from({ length: Math.max(0, categories - 1) }, (_, c) => c + 0.5);
  });
}

/**
 * A tree as lookups over the bins of `scoringEdges`: `goesRight[node · 256 + bin]` says which child a
 * bin takes and `child[2 · node + side]` is that child, so a row walks down with no branch on its
 * values. Scoring with tests on the float values (categorical set tests among them) mispredicted a
 * branch at almost every node and was 1.4× slower once most nodes were categorical.
 */
export class BinnedTree {
  private readonly goesRight: Uint8Array;
  private readonly child: Int32Array;

  constructor(
    private readonly tree: Tree,
    edges: readonly Float32Array[],
  ) {
    const nodes = tree.feature.length;
    this.goesRight = new Uint8Array(nodes * 256);
    this.child = new Int32Array(2 * nodes);
    for (let node = 0; node < nodes; node++) {
      const f = tree.feature[node] as number;
      if (f === LEAF) continue;
      this.child[2 * node] = tree.left[node] as number;
      this.child[2 * node + 1] = tree.right[node] as number;
      const table = this.goesRight.subarray(node * 256, (node + 1) * 256);
      if (isCategoricalNode(tree, node)) {
        // Every bin goes right (missing, unknown) but those of the set's codes.
        table.fill(1);
        for (let i = tree.categoryStart[node] as number; i < (tree.categoryStart[node + 1] as number); i++) table[(tree.categories[i] as number) + 1] = 0;
      } else {
        // Threshold k of the feature's edges: bins 1..k+1 go left, the missing bin as the node says.
        const k = (edges[f] as Float32Array).indexOf(tree.threshold[node] as number);
        table.fill(1, k + 2);
        table[0] = tree.missingLeft[node] === 1 ? 0 : 1;
      }
    }
  }

  /** Adds the tree's leaf value to margin[r] for every row of the row-major `bins` (featureCount per row). */
  addTo(margin: Float32Array, bins: Uint8Array, featureCount: number): void {
    const { feature, value } = this.tree;
    const { goesRight, child } = this;
    for (let r = 0; r < margin.length; r++) {
      const base = r * featureCount;
      let node = 0;
      let f = feature[0] as number;
      while (f !== LEAF) {
        node = child[2 * node + (goesRight[node * 256 + (bins[base + f] as number)] as number)] as number;
        f = feature[node] as number;
      }
      margin[r] = (margin[r] as number) + (value[node] as number);
    }
  }
}
