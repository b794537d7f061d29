import type { MonitoringView } from '../../../shared/api/console.ts';
import { linePlot } from '../charts/line-plot.ts';
import { pairedHistogram } from '../charts/paired-histogram.ts';
import { esc, fmt } from '../html.ts';
import { type Viewer, gapsBlock, layout, modelNav, runLink, statusTag } from './layout.ts';

const HOUR = 3_600_000;

/** Realized figures of each window over time (hours since the first window), one series per figure the windows have, and the label-free estimate beside them. */
function performanceChart(view: MonitoringView): string {
  const windows = view.windows.filter((w) => w.rocAuc !== null || w.rmse != null || w.accuracy != null || w.estimatedRocAuc != null);
  if (windows.length === 0) return '<p class="note">No window has realized or estimated performance yet (labels arrive as feedback).</p>';
  const start = Date.parse(windows[0]?.until ?? '');
  const x = (until: string) => (Date.parse(until) - start) / HOUR;
  const figure = (pick: (w: (typeof windows)[number]) => number | null | undefined) => windows.flatMap((w) => (pick(w) == null ? [] : [{ x: x(w.until), y: pick(w) as number }]));
  const series = [
    { name: 'ROC AUC', cls: 's1' as const, points: figure((w) => w.rocAuc), dots: true },
    { name: 'estimated ROC AUC (CBPE, from scores alone)', cls: 'ref' as const, points: figure((w) => w.estimatedRocAuc), dots: true },
    { name: 'accuracy', cls: 's1' as const, points: figure((w) => w.accuracy), dots: true },
    { name: 'log loss', cls: 's2' as const, points: figure((w) => w.logLoss), dots: true },
  ];
  const values = series.flatMap((s) => s.points.map((p) => p.y));
  const span = Math.max(1, x(windows.at(-1)?.until ?? ''));
  return linePlot('performance', 'Performance per window: realized, and estimated before labels', { min: 0, max: span, label: 'hours since the first window', tick: (v) => v.toFixed(0) }, { min: Math.min(0, ...values), max: Math.max(1, ...values), label: 'figure' }, series);
}

/** A model's monitoring: the windows with verdicts and realized performance, one window's drift per feature, the retrainings. */
export function monitoringPage(view: MonitoringView, viewer: Viewer): string {
  const base = `/console/models/${encodeURIComponent(view.model)}/monitoring`;
  const windows = [...view.windows]
    .reverse()
    .map((w) => `<tr><td><a href="${base}?until=${encodeURIComponent(w.until)}">${esc(w.from ?? '?')} → ${esc(w.until)}</a></td><td>v${w.version}</td><td>${statusTag(w.verdict)}</td><td class="num">${fmt(w.rocAuc)}</td><td class="num">${fmt(w.estimatedRocAuc)}</td><td class="num">${fmt(w.logLoss)}</td><td class="num">${w.labelled ?? 'n/a'} / ${w.served ?? 'n/a'}</td><td>${w.performance ? statusTag(w.performance) : ''}${w.performanceReasons?.length ? ` <span class="note">${esc(w.performanceReasons.join('; '))}</span>` : ''}</td></tr>`)
    .join('');
  const r = view.report;
  const drift = r
    ? `<p>Window ${esc(r.from)} → ${esc(r.until)} (v${r.version}, ${r.rows} predictions): ${r.judged ? statusTag(r.verdict) : statusTag('not judged')}, drifted share ${fmt(r.driftShare)}.</p>` +
      `<table><tr><th>feature</th><th>PSI</th><th>Jensen–Shannon</th><th>Wasserstein</th><th>verdict</th><th>why</th></tr>${[...r.features, ...(r.score ? [r.score] : [])]
        .map((f) => `<tr data-feature="${esc(f.name)}"><td>${esc(f.name)} <span class="note">${esc(f.kind)}</span></td><td class="num">${fmt(f.statistics.psi)}</td><td class="num">${fmt(f.statistics.jensenShannon)}</td><td class="num">${fmt(f.statistics.wasserstein)}</td><td>${statusTag(f.verdict)}</td><td class="note">${esc(f.reasons.join('; '))}</td></tr>`)
        .join('')}</table><div class="charts">${[...r.features, ...(r.score ? [r.score] : [])]
        .map((f) => pairedHistogram(`drift-${f.name}`, `${f.name}: reference vs current`, f.histogram.bins, { name: 'reference', counts: f.histogram.reference }, { name: 'current', counts: f.histogram.current }, { label: f.name }))
        .join('')}</div>`
    : '<p class="note">No drift report to show yet.</p>';
  const retrainings = view.retrainings.length
    ? `<table><tr><th>version</th><th>when</th><th>trigger</th><th>run</th></tr>${view.retrainings.map((t) => `<tr><td>${t.version === null ? 'not registered' : `v${t.version}`}</td><td>${esc(t.at)}</td><td>${esc(t.trigger)}</td><td>${runLink(t.workflowId, t.temporalUi)}</td></tr>`).join('')}</table>`
    : '<p class="note">No version was trained by a trigger yet.</p>';
  const body =
    `<h1>${esc(view.model)}: monitoring</h1>${modelNav(view.model)}${gapsBlock(view.gaps)}<h2>Performance over time</h2><div class="charts">${performanceChart(view)}</div>` +
    `<h2>Windows</h2><table><tr><th>window</th><th>version</th><th>drift</th><th>ROC AUC</th><th>estimated ROC AUC</th><th>log loss</th><th>labelled / served</th><th>performance</th></tr>${windows || '<tr><td colspan="8">No window judged yet.</td></tr>'}</table>` +
    `<h2>Drift by feature</h2>${drift}<h2>Retrainings and their triggers</h2>${retrainings}`;
  return layout(`${view.model} monitoring`, viewer, body, `/v1/console/models/${encodeURIComponent(view.model)}/monitoring${r ? `?until=${encodeURIComponent(r.until)}` : ''}`);
}
