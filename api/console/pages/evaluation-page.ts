import type { EvaluationView } from '../../../shared/api/console.ts';
import type { BinaryCurves, RegressionCurves } from '../../../shared/evaluation-report.ts';
import { confusionMatrix } from '../charts/confusion-matrix.ts';
import { pairedHistogram } from '../charts/paired-histogram.ts';
import { prCurveChart } from '../charts/pr-curve.ts';
import { reliabilityChart } from '../charts/reliability-plot.ts';
import { rocCurveChart } from '../charts/roc-curve.ts';
import { boundsOf, scatterPlot } from '../charts/scatter-plot.ts';
import { sliceBars } from '../charts/slice-bars.ts';
import { esc, fmt } from '../html.ts';
import { type Viewer, layout, modelNav, runLink, statusTag } from './layout.ts';

/** The metric slices are drawn on when no slice gate names one. */
const DEFAULT_SLICE_METRIC = { binary: 'rocAuc', regression: 'rmse', multiclass: 'accuracy' } as const;

function binaryCharts(curves: BinaryCurves, positiveRate: number | undefined, champion: { version: number; curves: BinaryCurves } | undefined): string {
  const h = curves.scoreHistogram;
  const bins = h.edges.slice(0, -1).map((e) => e.toFixed(2));
  return (
    rocCurveChart(curves.roc, champion && { version: champion.version, roc: champion.curves.roc }) +
    prCurveChart(curves.pr, positiveRate, champion && { version: champion.version, pr: champion.curves.pr }) +
    reliabilityChart(curves.reliability, champion && { version: champion.version, bins: champion.curves.reliability }) +
    pairedHistogram('score-histogram', 'Scores by label', bins, { name: 'positive rows', counts: h.positives }, { name: 'negative rows', counts: h.negatives }, { label: 'score', tick: (i) => (h.edges[Math.round(i)] ?? 1).toFixed(2) })
  );
}

function regressionCharts(curves: RegressionCurves): string {
  const predicted = curves.sample.map((s) => s.predicted);
  const actual = curves.sample.map((s) => s.actual);
  const both = boundsOf([...predicted, ...actual], '');
  const residuals = curves.sample.map((s) => s.predicted - s.actual);
  return (
    scatterPlot('predicted-vs-actual', `Predicted vs actual (${curves.sample.length} of ${curves.rows} rows)`, { ...both, label: 'actual' }, { ...both, label: 'predicted' }, curves.sample.map((s) => ({ x: s.actual, y: s.predicted })), [{ x: both.min, y: both.min }, { x: both.max, y: both.max }]) +
    scatterPlot('residuals', 'Residuals (predicted − actual)', boundsOf(predicted, 'predicted'), boundsOf(residuals, 'residual'), curves.sample.map((s) => ({ x: s.predicted, y: s.predicted - s.actual })), [{ x: Math.min(...predicted), y: 0 }, { x: Math.max(...predicted), y: 0 }])
  );
}

/** A version's evaluation: its figures beside the champion's, the charts from the stored points, slices against their gates, the gate verdicts. */
export function evaluationPage(view: EvaluationView, viewer: Viewer): string {
  const champion = 'version' in view.champion ? view.champion : undefined;
  const names = [...new Set([...Object.keys(view.overall), ...Object.keys(champion?.overall ?? {})])].sort();
  const figures = `<table data-figures><tr><th>metric</th><th>v${view.version}</th>${champion ? `<th>champion v${champion.version}</th>` : ''}</tr>${names.map((n) => `<tr><td>${esc(n)}</td><td class="num" data-metric="${esc(n)}">${fmt(view.overall[n])}</td>${champion ? `<td class="num">${fmt(champion.overall[n])}</td>` : ''}</tr>`).join('')}</table>`;
  const championNote = champion ? `Champion v${champion.version} was scored on the same test rows in the same run${champion.curves ? '; its curves are drawn dashed.' : ', before curve points were stored.'}` : `No champion overlay: ${esc('skipped' in view.champion ? view.champion.skipped : '')}.`;

  let charts = '<p class="note">This report was written before evaluation runs stored curve points: no curves to draw.</p>';
  if (view.curves?.kind === 'binary') charts = binaryCharts(view.curves, view.overall.positiveRate, champion?.curves?.kind === 'binary' ? { version: champion.version, curves: champion.curves } : undefined);
  else if (view.curves?.kind === 'regression') charts = regressionCharts(view.curves);
  if (view.confusion) charts = confusionMatrix(view.confusion.classes, view.confusion.counts);

  const gated = view.sliceGates.length ? view.sliceGates : [{ metric: DEFAULT_SLICE_METRIC[view.labelKind] }];
  const slices = view.slices.length
    ? gated.map((g) => sliceBars(g.metric, view.slices.map((s) => ({ name: s.name, rows: s.rows, value: s.metrics[g.metric] })), view.sliceGates.length ? g : undefined)).join('')
    : '<p class="note">The run declared no slices.</p>';
  const gate = view.gate
    ? `<p>Gates ${view.gate.passed ? statusTag('pass') : statusTag('fail')}</p><table data-gates><tr><th>kind</th><th>metric</th><th>scope</th><th>value</th><th>rule</th><th>verdict</th></tr>${view.gate.checks
        .map((c) => `<tr><td>${esc(c.kind)}</td><td>${esc(c.metric)}</td><td>${esc(c.scope)}</td><td class="num">${fmt(c.value)}</td><td>${esc(c.comparator)} ${fmt(c.threshold)}</td><td>${statusTag(c.verdict)}${c.note ? ` <span class="note">${esc(c.note)}</span>` : ''}</td></tr>`)
        .join('')}</table>`
    : '<p class="note">No gate report stored.</p>';
  const body =
    `<h1>${esc(view.model)} v${view.version}: evaluation</h1>${modelNav(view.model)}` +
    `<p>${esc(view.labelKind)} model, ${view.testRows} test rows${view.threshold === null ? '' : `, threshold ${fmt(view.threshold)}`}; run ${runLink(view.runId, view.temporalUi)}. ${championNote}</p>` +
    `<div class="charts">${charts}</div><h2>Figures</h2>${figures}<h2>Slices</h2><div class="charts">${slices}</div><h2>Gate verdicts</h2>${gate}`;
  return layout(`${view.model} v${view.version} evaluation`, viewer, body, `/v1/console/models/${encodeURIComponent(view.model)}/versions/${view.version}/evaluation`);
}
