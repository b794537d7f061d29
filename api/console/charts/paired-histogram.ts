import { esc } from '../html.ts';
import { legend, plotFrame, px } from './plot-frame.ts';

/**
 * Two distributions over the same bins as side-by-side bars, each as shares of its own total so a
 * small group stays visible beside a large one: scores of positive against negative rows, or a
 * feature's reference against its current window.
 */
export function pairedHistogram(
  chart: string,
  title: string,
  bins: readonly string[],
  first: { name: string; counts: readonly number[] },
  second: { name: string; counts: readonly number[] },
  xAxis: { label: string; /** The tick at bin boundary `i` (0 … bins); by default the name of the bin starting there. */ tick?: (boundary: number) => string },
): string {
  const shares = (counts: readonly number[]) => {
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    return counts.map((c) => c / total);
  };
  const a = shares(first.counts);
  const b = shares(second.counts);
  const top = Math.max(0.01, ...a, ...b);
  const frame = plotFrame(chart, title, { min: 0, max: bins.length, label: xAxis.label, tick: xAxis.tick ?? ((v) => bins[Math.round(v)] ?? '') }, { min: 0, max: top, label: 'share of rows' });
  const width = frame.plot.width / Math.max(1, bins.length);
  const bars = bins
    .map((bin, i) => {
      const x0 = frame.plot.left + i * width;
      const bar = (share: number, offset: number, cls: string, name: string) =>
        `<rect class="${cls}" x="${px(x0 + offset)}" y="${px(frame.y(share))}" width="${px(Math.max(0.5, width / 2 - 0.5))}" height="${px(frame.y(0) - frame.y(share))}"><title>${esc(`${name} ${bin}: ${(100 * share).toFixed(1)}%`)}</title></rect>`;
      return bar(a[i] ?? 0, 0, 'b1', first.name) + bar(b[i] ?? 0, width / 2, 'b2', second.name);
    })
    .join('');
  return frame.open + frame.axes + bars + legend(frame, [{ name: first.name, cls: 's1' }, { name: second.name, cls: 's2' }]) + frame.close;
}
