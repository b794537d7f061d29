/**
 * Mean log loss of log-odds margins, written as softplus(m) - y·m so that large margins neither
 * overflow exp nor lose precision to 1 - p. Every `stride`-th row only, when a cheap estimate will do.
 */
export function meanMarginLogLoss(margin: Float64Array, label: Uint8Array, stride = 1): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < margin.length; i += stride) {
    const m = margin[i] as number;
    sum += Math.max(m, 0) + Math.log1p(Math.exp(-Math.abs(m))) - (label[i] as number) * m;
    n++;
  }
  return n === 0 ? NaN : sum / n;
}
