import type { ModelsView } from '../../../shared/api/console.ts';
import { esc, fmt } from '../html.ts';
import { type Viewer, layout, statusTag } from './layout.ts';

const HEADLINE = ['rocAuc', 'rmse', 'accuracy'] as const;

/** Every model: champion with its headline figure, versions in flight, last drift verdict, feature freshness, approvals waiting. */
export function modelsPage(view: ModelsView, viewer: Viewer): string {
  const rows = view.models
    .map((m) => {
      const href = `/console/models/${encodeURIComponent(m.name)}`;
      const headline = m.champion ? HEADLINE.find((k) => m.champion?.metrics[k] !== undefined) : undefined;
      const champion = m.champion ? `v${m.champion.version}${headline ? ` <span class="note">${headline} ${fmt(m.champion.metrics[headline])}</span>` : ''}` : '<span class="note">none</span>';
      const inFlight = m.inFlight.length ? m.inFlight.map((v) => `<a href="${href}/versions/${v.version}/evaluation">v${v.version}</a> ${statusTag(v.status)}`).join('<br>') : '<span class="note">none</span>';
      const drift = m.lastDrift ? `${statusTag(m.lastDrift.verdict)}${m.lastDrift.performance ? ` / ${statusTag(m.lastDrift.performance)}` : ''} <span class="note">v${m.lastDrift.version}, window to ${esc(m.lastDrift.until)}</span>` : '<span class="note">not monitored yet</span>';
      const features = m.features ? `${statusTag(m.features.state)} <span class="note">as of ${esc(m.features.asOf)} (${Math.round(m.features.ageSeconds / 60)} min old)</span>` : '<span class="note">no snapshot served here</span>';
      const approvals = m.pendingApprovals ? `<a href="/console/approvals">${m.pendingApprovals} waiting</a>` : '0';
      return `<tr data-model="${esc(m.name)}"><td><a href="${href}">${esc(m.name)}</a></td><td>${champion}</td><td>${inFlight}</td><td>${drift}</td><td>${features}</td><td>${approvals}</td><td><a href="${href}/rollouts">rollouts</a> · <a href="${href}/monitoring">monitoring</a></td></tr>`;
    })
    .join('');
  const body = `<h1>Models</h1><table><tr><th>model</th><th>champion</th><th>versions in flight</th><th>last drift verdict</th><th>online features</th><th>approvals</th><th></th></tr>${rows || '<tr><td colspan="7">No model is registered yet.</td></tr>'}</table><p class="note">As of ${esc(view.generatedAt)}.</p>`;
  return layout('Models', viewer, body, '/v1/console/models');
}
