import type { ModelDetailView } from '../../../shared/api/console.ts';
import { esc, fmt } from '../html.ts';
import { type Viewer, layout, modelNav, runLink, statusTag } from './layout.ts';

const short = (hash: string) => `<code title="${esc(hash)}">${esc(hash.slice(0, 12))}</code>`;

/** A model's versions (status history, lineage) and two of them compared metric by metric. */
export function modelPage(view: ModelDetailView, viewer: Viewer): string {
  const base = `/console/models/${encodeURIComponent(view.name)}`;
  const versions = [...view.versions]
    .reverse()
    .map((v) => {
      const history = v.history.map((h) => `${statusTag(h.status)} <span class="note">${esc(h.at)} by ${esc(h.by)}${h.reason ? `: ${esc(h.reason)}` : ''}</span>`).join('<br>');
      const l = v.lineage;
      const lineage = `dataset ${short(l.datasetVersion)}<br>features ${short(l.featureDefinitionHash)}<br>code <code>${esc(l.codeVersion)}</code><br>trainer ${esc(l.trainer)}, seed ${l.seed}<br>trigger ${esc(l.trigger)}<br>run ${runLink(l.workflowId, l.temporalUi)}`;
      const evaluation = v.hasEvaluation ? `<a href="${base}/versions/${v.version}/evaluation">evaluation</a>` : '<span class="note">no report</span>';
      return `<tr data-version="${v.version}"><td>v${v.version}${view.champion === v.version ? ' <b>champion</b>' : ''}<br><span class="note">${esc(v.createdAt)}</span></td><td>${statusTag(v.status)}</td><td>${history}</td><td>${lineage}</td><td>${evaluation}</td></tr>`;
    })
    .join('');
  const options = (selected: number | undefined) => view.versions.map((v) => `<option value="${v.version}"${v.version === selected ? ' selected' : ''}>v${v.version}</option>`).join('');
  const c = view.comparison;
  const comparison = c
    ? `<table data-comparison="${c.a}-${c.b}"><tr><th>metric</th><th>v${c.a}</th><th>v${c.b}</th><th>v${c.b} − v${c.a}</th></tr>${c.metrics.map((m) => `<tr><td>${esc(m.metric)}</td><td class="num">${fmt(m.a)}</td><td class="num">${fmt(m.b)}</td><td class="num">${m.delta === null ? 'n/a' : `${m.delta > 0 ? '+' : ''}${fmt(m.delta)}`}</td></tr>`).join('')}</table>`
    : '<p class="note">One version only: nothing to compare yet.</p>';
  const body =
    `<h1>${esc(view.name)}</h1>${modelNav(view.name)}<h2>Versions</h2><table><tr><th>version</th><th>status</th><th>status history</th><th>lineage</th><th></th></tr>${versions}</table>` +
    `<h2>Compare two versions</h2><form method="get" action="${base}">version <select name="a">${options(c?.a)}</select> against <select name="b">${options(c?.b)}</select> <button>compare</button></form>${comparison}`;
  return layout(view.name, viewer, body, `/v1/console/models/${encodeURIComponent(view.name)}${c ? `?a=${c.a}&b=${c.b}` : ''}`);
}
