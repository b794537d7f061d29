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

/** Leaf reached by row `row` of float32 feature columns, comparing as ONNX does. */
export function leafOfRow(tree: Tree, columns: readonly Float32Array[], row: number): number {
  let node = 0;
  let f = tree.feature[0] as number;
  while (f !== LEAF) {
    const x = (columns[f] as Float32Array)[row] as number;
    const goLeft = isCategoricalNode(tree, node)
      ? inCategorySet(tree, node, x)
      : Number.isNaN(x)
        ? tree.missingLeft[node] === 1
        : x <= (tree.threshold[node] as number);
    node = (goLeft ? tree.left[node] : tree.right[node]) as number;
    f = tree.feature[node] as number;
  }
  return node;
}
