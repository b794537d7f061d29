import { esc } from '../html.ts';
import { type Axis, type Frame, legend, plotFrame, px } from './plot-frame.ts';

export interface Series {
  /** Written as the path's `data-series`, and shown in the legend. */
  name: string;
  /** A CSS class of the page's style sheet: `s1` (this version), `s2` (the champion), `ref` (a reference line). */
  cls: 's1' | 's2' | 'ref';
  points: readonly { x: number; y: number }[];
  /** Marks each point too (reliability bins, monitoring windows). */
  dots?: boolean;
}

/** The `d` of a polyline through the points, in the frame's pixels. */
export function pathData(frame: Frame, points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(frame.x(p.x))} ${px(frame.y(p.y))}`).join(' ');
}

/** Lines (and optional dots) of several series in one frame, with a legend of the named ones. */
export function linePlot(chart: string, title: string, xAxis: Axis, yAxis: Axis, series: readonly Series[]): string {
  const frame = plotFrame(chart, title, xAxis, yAxis);
  const drawn = series
    .filter((s) => s.points.length > 0)
    .map((s) => {
      const dots = s.dots ? s.points.map((p) => `<circle class="${s.cls}" cx="${px(frame.x(p.x))}" cy="${px(frame.y(p.y))}" r="3"/>`).join('') : '';
      return `<path class="${s.cls}" data-series="${esc(s.name)}" d="${pathData(frame, s.points)}" fill="none"/>${dots}`;
    })
    .join('');
  return frame.open + frame.axes + drawn + legend(frame, series.filter((s) => s.points.length > 0)) + frame.close;
}
