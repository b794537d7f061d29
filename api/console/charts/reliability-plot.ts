import type { ReliabilityBin } from '../../../shared/model-diagnostics.ts';
import { linePlot } from './line-plot.ts';

const UNIT = { min: 0, max: 1 };

const points = (bins: readonly ReliabilityBin[]) => bins.flatMap((b) => (b.meanScore === null || b.positiveRate === null ? [] : [{ x: b.meanScore, y: b.positiveRate }]));

/** The reliability diagram: each score bin's mean score against its observed positive rate; the diagonal is perfect calibration. */
export function reliabilityChart(candidate: readonly ReliabilityBin[], champion?: { version: number; bins: readonly ReliabilityBin[] }): string {
  return linePlot('reliability', 'Calibration (reliability)', { ...UNIT, label: 'mean predicted probability' }, { ...UNIT, label: 'observed positive rate' }, [
    { name: 'perfect', cls: 'ref', points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
    ...(champion ? [{ name: `champion v${champion.version}`, cls: 's2' as const, points: points(champion.bins), dots: true }] : []),
    { name: 'this version', cls: 's1', points: points(candidate), dots: true },
  ]);
}
