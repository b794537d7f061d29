/**
 * Softmax of float32 logits, as onnxruntime's Softmax computes it: subtract the max, exp, divide by
 * the sum, each step rounded to float32, so trainer predictions match the exported graph.
 */
export function softmax(logits: readonly number[]): number[] {
  let max = -Infinity;
  for (const z of logits) max = Math.max(max, z);
  const exps = logits.map((z) => Math.fround(Math.exp(Math.fround(z - max))));
  let sum = 0;
  for (const e of exps) sum = Math.fround(sum + e);
  return exps.map((e) => Math.fround(e / sum));
}
