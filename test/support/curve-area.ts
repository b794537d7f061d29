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
