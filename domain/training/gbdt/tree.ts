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
 * A tree prepared for scoring float32 feature columns. `goesLeft[node · width + code]` is 1 for a
 * code in a categorical node's set, so scoring tests a set by one lookup rather than scanning up to
 * 32 codes, and `categorical` flags those nodes without two reads of `categoryStart` per node.
 */
export class TreeScorer {
  private readonly goesLeft: Uint8Array;
  private readonly categorical: Uint8Array;

  /** `width` exceeds every code the code columns hold. */
  constructor(
    private readonly tree: Tree,
    private readonly width: number,
  ) {
    const nodes = tree.feature.length;
    this.goesLeft = new Uint8Array(nodes * width);
    this.categorical = new Uint8Array(nodes);
    for (let node = 0; node < nodes; node++) {
      this.categorical[node] = isCategoricalNode(tree, node) ? 1 : 0;
      for (let i = tree.categoryStart[node] as number; i < (tree.categoryStart[node + 1] as number); i++) {
        this.goesLeft[node * width + (tree.categories[i] as number)] = 1;
      }
    }
  }

  /** Leaf reached by row `row`, comparing as ONNX does. */
  leafOfRow(columns: readonly Float32Array[], row: number): number {
    const { feature, threshold, missingLeft, left, right } = this.tree;
    const { goesLeft, categorical, width } = this;
    let node = 0;
    let f = feature[0] as number;
    while (f !== LEAF) {
      const x = (columns[f] as Float32Array)[row] as number;
      const goLeft =
        categorical[node] === 1
          ? // `| 0` makes the index an integer, which V8 reads a typed array by without a slow path.
            x === x && goesLeft[node * width + (x | 0)] === 1
          : x !== x
            ? missingLeft[node] === 1
            : x <= (threshold[node] as number);
      node = (goLeft ? left[node] : right[node]) as number;
      f = feature[node] as number;
    }
    return node;
  }
}
