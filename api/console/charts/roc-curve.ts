import type { RocPoint } from '../../../shared/evaluation-report.ts';
import { linePlot } from './line-plot.ts';

const UNIT = { min: 0, max: 1 };

/** ROC curves from the report's stored vertices: this version's, and the champion's from the same run when it was scored. */
export function rocCurveChart(candidate: readonly RocPoint[], champion?: { version: number; roc: readonly RocPoint[] }): string {
  return linePlot('roc', 'ROC curve', { ...UNIT, label: 'false positive rate' }, { ...UNIT, label: 'true positive rate' }, [
    { name: 'chance', cls: 'ref', points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
    ...(champion ? [{ name: `champion v${champion.version}`, cls: 's2' as const, points: champion.roc.map((p) => ({ x: p.fpr, y: p.tpr })) }] : []),
    { name: 'this version', cls: 's1', points: candidate.map((p) => ({ x: p.fpr, y: p.tpr })) },
  ]);
}
