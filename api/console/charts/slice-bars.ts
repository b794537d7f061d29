import { esc, fmt } from '../html.ts';
import { px } from './plot-frame.ts';

/**
 * One horizontal bar per slice for one metric, with the slice gate's threshold drawn across: a bar
 * that falls on the wrong side of the line failed the gate (a slice below its `minRows` was skipped, drawn pale).
 */
export function sliceBars(metric: string, slices: readonly { name: string; rows: number; value: number | undefined }[], gate: { min?: number; max?: number; minRows?: number } | undefined): string {
  const width = 560;
  const row = 18;
  const left = 180;
  const plotWidth = width - left - 70;
  const height = 34 + slices.length * row + 20;
  const values = slices.flatMap((s) => (s.value === undefined ? [] : [s.value]));
  const limit = gate?.min ?? gate?.max;
  const max = Math.max(1e-9, ...values, limit ?? 0);
  const x = (v: number) => left + (v / max) * plotWidth;
  const bars = slices
    .map((s, i) => {
      const y = 28 + i * row;
      const skipped = gate?.minRows !== undefined && s.rows < gate.minRows;
      const failed = !skipped && s.value !== undefined && ((gate?.min !== undefined && s.value < gate.min) || (gate?.max !== undefined && s.value > gate.max));
      const cls = skipped ? 'bar-skipped' : failed ? 'bar-failed' : 'bar-passed';
      return (
        `<text class="tick" x="${left - 6}" y="${y + 12}" text-anchor="end">${esc(s.name)} (${s.rows})</text>` +
        (s.value === undefined ? '' : `<rect class="${cls}" data-slice="${esc(s.name)}" x="${left}" y="${y + 2}" width="${px(x(s.value) - left)}" height="${row - 5}"/><text class="tick" x="${px(x(s.value) + 4)}" y="${y + 12}">${esc(fmt(s.value))}</text>`)
      );
    })
    .join('');
  const threshold =
    limit === undefined
      ? ''
      : `<line class="threshold" data-threshold="${limit}" x1="${px(x(limit))}" y1="24" x2="${px(x(limit))}" y2="${height - 16}"/><text class="tick" x="${px(x(limit))}" y="${height - 4}" text-anchor="middle">gate ${gate?.min !== undefined ? '≥' : '≤'} ${esc(limit)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${esc(`${metric} per slice`)}" data-chart="slices-${esc(metric)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><text class="title" x="${width / 2}" y="16" text-anchor="middle">${esc(`${metric} per slice`)}</text>${bars}${threshold}</svg>`;
}
