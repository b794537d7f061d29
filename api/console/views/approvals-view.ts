import type { ApprovalsView, PendingApproval } from '../../../shared/api/console.ts';
import { approvalStateQuery } from '../../../workflows/approval-gate.ts';
import type { ConsoleSources } from '../console-sources.ts';

/**
 * What awaits a decision: every registered version still a candidate (of the models the reader may see), with the run whose approval
 * gate decides it and that gate's own state (how many approvals it needs, who approved so far). The
 * runs are asked at once, so a run that does not answer costs the page one query deadline, not one each.
 */
export async function loadApprovalsView(sources: ConsoleSources, visible: (model: string) => boolean): Promise<ApprovalsView> {
  const candidates = (
    await Promise.all(
      (await sources.registry.models()).filter(visible).map(async (model) => {
        const index = await sources.registry.index(model);
        return Object.entries(index.versions).flatMap(([version, entry]) => (entry.history.at(-1)?.status === 'candidate' ? [{ model, version: Number(version), history: entry.history }] : []));
      }),
    )
  ).flat();
  const gaps: string[] = [];
  const pending = await Promise.all(
    candidates.map(async ({ model, version, history }): Promise<PendingApproval> => {
      const manifest = await sources.registry.manifest(model, version);
      const pipeline = manifest.origin.workflowId;
      const state = await sources.query(pipeline, (client) => client.workflow.getHandle(pipeline).query(approvalStateQuery));
      if ('gap' in state) gaps.push(`${model} v${version}: the run ${pipeline} did not answer its approval query (${state.gap})`);
      return {
        model,
        version,
        pipeline,
        temporalUi: sources.runUrl(pipeline),
        registeredAt: history[0]?.at ?? manifest.createdAt,
        requestedBy: history[0]?.by ?? '',
        metrics: manifest.metrics,
        approval: 'value' in state ? { status: state.value.status, requiredApprovals: state.value.requiredApprovals, approvedBy: state.value.approvals.map((a) => a.by), deadline: state.value.deadline ?? null } : null,
      };
    }),
  );
  return { pending: pending.sort((a, b) => a.registeredAt.localeCompare(b.registeredAt)), gaps };
}
