/** The trapezoid area under a polyline from left to right: what a ROC chart drawn from these vertices encloses. */
export function trapezoidArea(points: readonly { x: number; y: number }[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as { x: number; y: number };
    const b = points[i] as { x: number; y: number };
    area += ((b.x - a.x) * (a.y + b.y)) / 2;
  }
  return area;
}

/**
 * The data points of a path a console chart drew: its `d` (M/L commands in pixels) mapped back
 * through the chart's plot area and data ranges, which the <svg> carries as `data-plot`, `data-x`
 * and `data-y`.
 */
export function pathPoints(d: string, svg: { plot: string; x: string; y: string }): { x: number; y: number }[] {
  const [left, top, width, height] = svg.plot.split(' ').map(Number) as [number, number, number, number];
  const [xMin, xMax] = svg.x.split(' ').map(Number) as [number, number];
  const [yMin, yMax] = svg.y.split(' ').map(Number) as [number, number];
  return [...d.matchAll(/[ML]\s*(-?[\d.]+)[ ,](-?[\d.]+)/g)].map((m) => ({
    x: xMin + ((Number(m[1]) - left) / width) * (xMax - xMin),
    y: yMin + ((top + height - Number(m[2])) / height) * (yMax - yMin),
  }));
}
