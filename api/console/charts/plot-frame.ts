import { esc } from '../html.ts';

/**
 * The frame every chart draws in: an SVG with a plot area, linear scales from data to pixels, axes
 * with ticks and labels. The plot area and the data ranges are written on the <svg> as data
 * attributes (`data-plot`, `data-x`, `data-y`), so a test can map a drawn path back to data values.
 */

export interface Axis {
  min: number;
  max: number;
  label: string;
  /** How a tick value is written; two decimals by default. */
  tick?: (value: number) => string;
}

export interface Frame {
  x: (value: number) => number;
  y: (value: number) => number;
  open: string;
  axes: string;
  close: string;
  plot: { left: number; top: number; width: number; height: number };
}

export const WIDTH = 360;
export const HEIGHT = 280;
const MARGIN = { left: 52, right: 14, top: 28, bottom: 42 };
const TICKS = 5;

/** Coordinates are written with two decimals: a hundredth of a pixel is far below what a chart or a test can tell. */
export const px = (value: number) => String(Math.round(value * 100) / 100);

export function plotFrame(chart: string, title: string, xAxis: Axis, yAxis: Axis, size = { width: WIDTH, height: HEIGHT }): Frame {
  const plot = { left: MARGIN.left, top: MARGIN.top, width: size.width - MARGIN.left - MARGIN.right, height: size.height - MARGIN.top - MARGIN.bottom };
  const xSpan = xAxis.max - xAxis.min || 1;
  const ySpan = yAxis.max - yAxis.min || 1;
  const x = (v: number) => plot.left + ((v - xAxis.min) / xSpan) * plot.width;
  const y = (v: number) => plot.top + plot.height - ((v - yAxis.min) / ySpan) * plot.height;
  const tickX = xAxis.tick ?? ((v: number) => v.toFixed(2));
  const tickY = yAxis.tick ?? ((v: number) => v.toFixed(2));
  const ticks: string[] = [];
  for (let i = 0; i <= TICKS; i++) {
    const vx = xAxis.min + (xSpan * i) / TICKS;
    const vy = yAxis.min + (ySpan * i) / TICKS;
    ticks.push(`<line class="grid" x1="${px(x(vx))}" y1="${plot.top}" x2="${px(x(vx))}" y2="${plot.top + plot.height}"/>`);
    ticks.push(`<text class="tick" x="${px(x(vx))}" y="${plot.top + plot.height + 14}" text-anchor="middle">${esc(tickX(vx))}</text>`);
    ticks.push(`<line class="grid" x1="${plot.left}" y1="${px(y(vy))}" x2="${plot.left + plot.width}" y2="${px(y(vy))}"/>`);
    ticks.push(`<text class="tick" x="${plot.left - 6}" y="${px(y(vy) + 4)}" text-anchor="end">${esc(tickY(vy))}</text>`);
  }
  const open =
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${size.width} ${size.height}" width="${size.width}" height="${size.height}" ` +
    `data-chart="${esc(chart)}" data-plot="${plot.left} ${plot.top} ${plot.width} ${plot.height}" data-x="${xAxis.min} ${xAxis.max}" data-y="${yAxis.min} ${yAxis.max}">` +
    `<text class="title" x="${size.width / 2}" y="16" text-anchor="middle">${esc(title)}</text>`;
  const axes =
    ticks.join('') +
    `<rect class="axes" x="${plot.left}" y="${plot.top}" width="${plot.width}" height="${plot.height}"/>` +
    `<text class="label" x="${plot.left + plot.width / 2}" y="${size.height - 6}" text-anchor="middle">${esc(xAxis.label)}</text>` +
    `<text class="label" transform="translate(12 ${plot.top + plot.height / 2}) rotate(-90)" text-anchor="middle">${esc(yAxis.label)}</text>`;
  return { x, y, open, axes, close: '</svg>', plot };
}

/** The legend's entries, top right inside the plot. */
export function legend(frame: Frame, entries: readonly { name: string; cls: string }[]): string {
  return entries
    .map((e, i) => {
      const top = frame.plot.top + 8 + i * 14;
      const left = frame.plot.left + frame.plot.width - 110;
      return `<line class="${e.cls}" x1="${left}" y1="${top}" x2="${left + 16}" y2="${top}"/><text class="legend" x="${left + 20}" y="${top + 4}">${esc(e.name)}</text>`;
    })
    .join('');
}
