import type { ApprovalsView, PendingApproval } from '../../../shared/api/console.ts';
import { approvalStateQuery } from '../../../workflows/approval-gate.ts';
import type { ConsoleSources } from '../console-sources.ts';

/**
 * What awaits a decision: every registered version still a candidate, with the run whose approval
 * gate decides it and that gate's own state (how many approvals it needs, who approved so far).
 */
export async function loadApprovalsView(sources: ConsoleSources): Promise<ApprovalsView> {
  const gaps: string[] = [];
  const pending: PendingApproval[] = [];
  for (const model of await sources.registry.models()) {
    const index = await sources.registry.index(model);
    const candidates = Object.entries(index.versions).filter(([, entry]) => entry.history.at(-1)?.status === 'candidate');
    for (const [version, entry] of candidates) {
      const manifest = await sources.registry.manifest(model, Number(version));
      const pipeline = manifest.origin.workflowId;
      const state = await sources.query((client) => client.workflow.getHandle(pipeline).query(approvalStateQuery));
      if ('gap' in state) gaps.push(`${model} v${version}: the run ${pipeline} did not answer its approval query (${state.gap})`);
      pending.push({
        model,
        version: Number(version),
        pipeline,
        temporalUi: sources.runUrl(pipeline),
        registeredAt: entry.history[0]?.at ?? manifest.createdAt,
        requestedBy: entry.history[0]?.by ?? '',
        metrics: manifest.metrics,
        approval: 'value' in state ? { status: state.value.status, requiredApprovals: state.value.requiredApprovals, approvedBy: state.value.approvals.map((a) => a.by), deadline: state.value.deadline ?? null } : null,
      });
    }
  }
  return { pending: pending.sort((a, b) => a.registeredAt.localeCompare(b.registeredAt)), gaps };
}
