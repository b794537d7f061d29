import { type ApprovalResult, ApprovalGate } from '../../../workflows/approval-gate.ts';
import { approvalPolicySchema } from '../../../shared/approval.ts';

/** The pipeline's real approval gate on its own, so the HTTP relay can be tested without a training run. */
export async function approvalOnly(input: { requiredApprovals: number; requestedBy: string; forbidSelfApproval: boolean }): Promise<ApprovalResult> {
  const gate = new ApprovalGate(approvalPolicySchema.parse({ requiredApprovals: input.requiredApprovals, forbidSelfApproval: input.forbidSelfApproval, timeout: '1 hour' }), input.requestedBy);
  return gate.wait(async () => {});
}
