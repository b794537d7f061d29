import type { PrPoint } from '../../../shared/evaluation-report.ts';
import { linePlot } from './line-plot.ts';

const UNIT = { min: 0, max: 1 };

/** Precision–recall curves from the stored vertices, with the positive rate (a model without skill) as reference. */
export function prCurveChart(candidate: readonly PrPoint[], positiveRate: number | undefined, champion?: { version: number; pr: readonly PrPoint[] }): string {
  return linePlot('pr', 'Precision–recall curve', { ...UNIT, label: 'recall' }, { ...UNIT, label: 'precision' }, [
    ...(positiveRate === undefined ? [] : [{ name: 'positive rate', cls: 'ref' as const, points: [{ x: 0, y: positiveRate }, { x: 1, y: positiveRate }] }]),
    ...(champion ? [{ name: `champion v${champion.version}`, cls: 's2' as const, points: champion.pr.map((p) => ({ x: p.recall, y: p.precision })) }] : []),
    { name: 'this version', cls: 's1', points: candidate.map((p) => ({ x: p.recall, y: p.precision })) },
  ]);
}
