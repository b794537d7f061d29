import type { DriftReport } from '../../shared/monitoring.ts';
import type { DriftMonitorResult } from '../../workflows/drift-monitor.ts';

/** One replayed slice (a month, or the held-out sample) and the scheduled monitor run that judged its window. */
export interface MonthRow {
  slice: string;
  events: number;
  workflowId: string;
  result: DriftMonitorResult;
  report: DriftReport | undefined;
}

const fixed = (n: number | null | undefined, digits: number) => (n === null || n === undefined ? '-' : n.toFixed(digits));

function retrainingCell(result: DriftMonitorResult, consecutiveN: number): string {
  const r = result.retraining;
  const decision = result.decision ? `alerting windows of the last ${consecutiveN}: ${result.decision.alerts}` : '';
  if (!r) return result.decision?.coolingDown ? `no (${decision}; cooling down)` : `no (${decision})`;
  if ('refused' in r) return `refused: ${r.refused}`;
  return `${r.started ? 'STARTED' : 'already running'} ${r.workflowId}`;
}

/** The month-by-month table: drift share, the most drifted features with PSI, score PSI, verdict, AUC from the feedback labels, retraining. */
export function printTable(rows: readonly MonthRow[], consecutiveN: number, write: (line: string) => void): void {
  const header = ['replayed', 'events', 'judged rows', 'drifted features', 'top drifted (PSI)', 'score PSI', 'verdict', 'ROC AUC (labels)', 'retraining'];
  const body = rows.map((r) => {
    const d = r.result.drift;
    const features = r.report?.features ?? [];
    const top = [...features].sort((a, b) => b.statistics.psi - a.statistics.psi).slice(0, 3).map((f) => `${f.name} ${f.statistics.psi.toFixed(3)}`).join(', ');
    return [
      r.slice,
      String(r.events),
      String(d?.rows ?? 0),
      d ? `${d.drifted.length}/${features.length} (${(d.driftShare * 100).toFixed(0)}%)` : '-',
      top || '-',
      fixed(r.report?.score?.statistics.psi, 3),
      d?.verdict ?? r.result.status,
      r.result.performance?.rocAuc != null ? `${fixed(r.result.performance.rocAuc, 4)} (${r.result.performance.labelled})` : '-',
      retrainingCell(r.result, consecutiveN),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  write(line(header));
  write(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of body) write(line(row));
}
