import type { ApprovalsView } from '../../../shared/api/console.ts';
import { esc, fmt } from '../html.ts';
import { type Viewer, gapsBlock, layout, runLink, statusTag } from './layout.ts';

/** What awaits a decision, with approve and reject forms for a signed-in admin (they carry the session's CSRF token). */
export function approvalsPage(view: ApprovalsView, viewer: Viewer, flash?: string): string {
  const rows = view.pending
    .map((p) => {
      const metrics = ['rocAuc', 'averagePrecision', 'rmse', 'accuracy'].filter((m) => p.metrics[m] !== undefined).map((m) => `${m} ${fmt(p.metrics[m])}`).join(', ');
      const gate = p.approval ? `${statusTag(p.approval.status)} <span class="note">${p.approval.approvedBy.length} of ${p.approval.requiredApprovals} approvals${p.approval.approvedBy.length ? ` (${p.approval.approvedBy.map(esc).join(', ')})` : ''}${p.approval.deadline ? `; decides itself at ${esc(p.approval.deadline)}` : ''}</span>` : '<span class="note">the run did not answer</span>';
      // One form, two buttons: the comment goes with whichever decision is pressed.
      const actions =
        viewer.canDecide(p.model) && viewer.csrfToken
          ? `<form method="post" action="/console/approvals/${encodeURIComponent(p.pipeline)}"><input type="hidden" name="csrf" value="${esc(viewer.csrfToken)}"><input name="comment" size="24" placeholder="comment"> <button name="decision" value="approve" data-action="approve">approve</button> <button name="decision" value="reject" data-action="reject">reject</button></form>`
          : `<span class="note">needs a session with the admin:${esc(p.model)} scope</span>`;
      const href = `/console/models/${encodeURIComponent(p.model)}/versions/${p.version}/evaluation`;
      return `<tr data-pending="${esc(p.model)}-v${p.version}"><td><a href="${href}">${esc(p.model)} v${p.version}</a><br><span class="note">${esc(metrics)}</span></td><td>${runLink(p.pipeline, p.temporalUi)}</td><td>${esc(p.requestedBy)}<br><span class="note">${esc(p.registeredAt)}</span></td><td>${gate}</td><td>${actions}</td></tr>`;
    })
    .join('');
  const body =
    `<h1>Approvals</h1>${flash ? `<p class="flash" data-flash>${esc(flash)}</p>` : ''}${gapsBlock(view.gaps)}` +
    `<table><tr><th>version</th><th>run</th><th>requested by</th><th>approval gate</th><th>decision</th></tr>${rows || '<tr><td colspan="5">Nothing awaits a decision.</td></tr>'}</table>` +
    '<p class="note">A decision is the same Update the CLI and <code>POST /v1/pipelines/{id}/approve</code> send, recorded as the signed-in key\'s holder.</p>';
  return layout('Approvals', viewer, body, '/v1/console/approvals');
}
