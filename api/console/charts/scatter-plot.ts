import { esc } from '../html.ts';
import { type Axis, plotFrame, px } from './plot-frame.ts';

/** Dots of a sample of rows, with an optional reference line (y = x for predicted against actual, y = 0 for residuals). */
export function scatterPlot(chart: string, title: string, xAxis: Axis, yAxis: Axis, points: readonly { x: number; y: number }[], reference: readonly { x: number; y: number }[]): string {
  const frame = plotFrame(chart, title, xAxis, yAxis);
  const dots = points.map((p) => `<circle class="dot" cx="${px(frame.x(p.x))}" cy="${px(frame.y(p.y))}" r="2"/>`).join('');
  const line = reference.length ? `<path class="ref" d="${reference.map((p, i) => `${i ? 'L' : 'M'}${px(frame.x(p.x))} ${px(frame.y(p.y))}`).join(' ')}" fill="none"/>` : '';
  return frame.open + frame.axes + line + dots + `<desc>${esc(`${points.length} sampled rows`)}</desc>` + frame.close;
}

/** Axis bounds that hold every value with a little room. */
export function boundsOf(values: readonly number[], label: string): Axis {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const pad = (max - min) * 0.05 || 1;
  return { min: min - pad, max: max + pad, label, tick: (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)) };
}
