import type { EstimateError, JudgedWindow, PolicyFigures } from './policy-months.ts';

/** The replay's printed tables: Markdown, so the README can quote them as printed. */

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${header.map((_, i) => (cells[i] ?? '').padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}

export const fixed = (n: number | null | undefined, digits: number) => (n === null || n === undefined ? '-' : n.toFixed(digits));

/** `v1` when one version served the period, else each with its share: `v1 40%, v2 60%`. */
export function versionsCell(versions: PolicyFigures['periods'][number]['versions']): string {
  if (versions.length === 0) return '-';
  if (versions.length === 1) return `v${versions[0]?.version}`;
  return versions.map((v) => `v${v.version} ${(v.share * 100).toFixed(0)}%`).join(', ');
}

/** Month by month, each policy in a row of its own: versions served, ROC AUC and log loss on the labelled traffic, retrainings started. */
export function policyTable(policies: readonly PolicyFigures[]): string[] {
  const periods = policies[0]?.periods.map((p) => p.period) ?? [];
  const rows = periods.flatMap((period, i) =>
    policies.map((p) => {
      const r = p.periods[i];
      return [period, p.policy, versionsCell(r?.versions ?? []), String(r?.events ?? 0), fixed(r?.rocAuc, 4), fixed(r?.logLoss, 4), String(r?.retrainingsStarted ?? 0)];
    }),
  );
  const overall = policies.map((p) => ['mean Mar-Jun', p.policy, '', '', fixed(p.meanRocAuc, 4), fixed(p.meanLogLoss, 4), String(p.retrainings)]);
  return markdownTable(['replayed', 'policy', 'versions served', 'labelled events', 'ROC AUC', 'log loss', 'retrainings started'], [...rows, ...overall]);
}

const replayedDate = (ms: number) => new Date(ms).toISOString().slice(5, 16).replace('T', ' ');

/** The default policy's monitor windows: verdicts with their reasons, the CBPE estimate beside the realized AUC, and what it started. */
export function verdictTable(windows: readonly JudgedWindow[]): string[] {
  const rows = windows.map((w) => [
    `${replayedDate(w.fromMs)} – ${replayedDate(w.untilMs)}`,
    `v${w.version}`,
    w.driftReasons.length > 0 ? `${w.drift}: ${w.driftReasons.join('; ')}` : w.drift,
    w.performanceReasons.length > 0 ? `${w.performance}: ${w.performanceReasons.join('; ')}` : w.performance,
    fixed(w.realizedRocAuc, 4),
    fixed(w.estimatedRocAuc, 4),
    w.retraining ?? '-',
  ]);
  return markdownTable(['window (replayed, UTC)', 'version', 'drift', 'performance', 'realized AUC', 'CBPE AUC', 'retraining'], rows);
}

export function estimateTable(errors: readonly EstimateError[]): string[] {
  return markdownTable(
    ['replayed', 'windows', 'mean error (est − realized)', 'mean |error|', 'max |error|'],
    errors.map((e) => [e.period, String(e.windows), fixed(e.meanError, 4), fixed(e.meanAbsError, 4), fixed(e.maxAbsError, 4)]),
  );
}
