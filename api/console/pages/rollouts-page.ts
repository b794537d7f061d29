import type { RolloutsView } from '../../../shared/api/console.ts';
import { esc, fmt } from '../html.ts';
import { type Viewer, gapsBlock, layout, modelNav, runLink, statusTag } from './layout.ts';

/** The figures of one health check, candidate beside champion, as the workflow judged them. */
function figuresOf(figures: Record<string, unknown>): string {
  const side = (name: string) => (figures[name] && typeof figures[name] === 'object' ? (figures[name] as Record<string, unknown>) : {});
  const candidate = side('candidate');
  const champion = side('champion');
  const names = ['samples', 'labelled', 'errorRate', 'p99LatencyMs', 'auc', 'logLoss', 'rmse', 'mae', 'accuracy'].filter((n) => typeof candidate[n] === 'number' || typeof champion[n] === 'number');
  const num = (v: unknown) => (typeof v === 'number' ? fmt(v) : 'n/a');
  const psi = typeof figures.psi === 'number' ? `<br>PSI ${fmt(figures.psi)}` : '';
  return `<table>${names.map((n) => `<tr><td>${esc(n)}</td><td class="num">${num(candidate[n])}</td><td class="num">${num(champion[n])}</td></tr>`).join('')}</table><span class="note">candidate | champion${psi}</span>`;
}

/** A model's rollouts: each step with its health figures and verdicts, and how traffic is split now. */
export function rolloutsPage(view: RolloutsView, viewer: Viewer): string {
  const split = view.split
    ? `<table data-split><tr><th>version</th><th>route</th><th>share</th></tr>${view.split.routes.map((r) => `<tr><td>v${r.version}</td><td>${esc(r.route)}</td><td class="num">${fmt(r.percent)}%</td></tr>`).join('')}</table><p class="note">Serving config revision ${view.split.revision}.</p>`
    : '<p class="note">The model is not in the serving config.</p>';
  const rollouts = view.rollouts
    .map((r) => {
      const steps = r.steps
        .map((s) => {
          const checks = s.checks.length ? s.checks.map((c) => `<div>${statusTag(c.verdict)} <span class="note">${c.whileBaking ? 'while baking, ' : ''}${esc(c.at)}${c.reasons.length ? `: ${esc(c.reasons.join('; '))}` : ''}</span>${figuresOf(c.figures)}</div>`).join('') : '<span class="note">not judged yet</span>';
          return `<tr><td>${esc(s.kind)} ${fmt(s.percent)}%</td><td><span class="note">${esc(s.startedAt)} → ${esc(s.endedAt ?? 'now')}</span></td><td>${checks}</td></tr>`;
        })
        .join('');
      const outcome = r.outcome ? `${statusTag(r.outcome.kind)} <span class="note">${esc(r.outcome.at)} by ${esc(r.outcome.by)}: ${esc(r.outcome.reason)}</span>` : statusTag('in progress');
      return `<h2>v${r.version}${r.champion === null ? ' (first version)' : ` against champion v${r.champion}`}</h2><p>started ${esc(r.startedAt)} by ${esc(r.by)}; ${outcome}</p><table><tr><th>step</th><th>when</th><th>health checks</th></tr>${steps}</table>`;
    })
    .join('');
  const d = view.deployment;
  const body =
    `<h1>${esc(view.model)}: rollouts</h1>${modelNav(view.model)}${gapsBlock(view.gaps)}` +
    `<p>Deployment workflow ${runLink(d.workflowId, d.temporalUi)}: phase ${d.phase === null ? '<span class="note">none</span>' : statusTag(d.phase)}, champion ${d.champion === null ? 'none' : `v${d.champion}`}.</p>` +
    `<h2>Traffic now</h2>${split}${rollouts || '<p class="note">No rollout yet.</p>'}`;
  return layout(`${view.model} rollouts`, viewer, body, `/v1/console/models/${encodeURIComponent(view.model)}/rollouts`);
}
