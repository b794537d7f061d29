import type { LabelTransform } from '../../shared/data/feature-spec.ts';

/**
 * A regression label's training transform (clip, then log1p) and its inverse. Trainers fit the
 * transformed value; the exported graph ends with the inverse, computed in float32 as the graph's
 * Exp and Sub nodes compute it, so `predict` and the ONNX output agree and both are in label units.
 * Clipping has no inverse: a model fit on clipped labels predicts inside the clip range.
 */

export function transformLabel(values: Float64Array, transform: LabelTransform | undefined): Float64Array {
  if (transform === undefined) return values;
  const min = transform.clip?.min ?? -Infinity;
  const max = transform.clip?.max ?? Infinity;
  return values.map((v) => {
    const clipped = Math.min(max, Math.max(min, v));
    return transform.log1p ? Math.log1p(clipped) : clipped;
  });
}

/** The inverse of `transformLabel` applied to a float32 model output. */
export function untransformOutput(value: number, transform: LabelTransform | undefined): number {
  return transform?.log1p ? Math.fround(Math.fround(Math.exp(value)) - 1) : value;
}
