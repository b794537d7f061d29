import { z } from 'zod';
import { durationSchema } from './duration.ts';

/** How a candidate gets approved; part of the pipeline spec. */
export const approvalPolicySchema = z.strictObject({
  /** Distinct people who must approve before the model may take traffic. */
  requiredApprovals: z.number().int().min(1).max(10).default(1),
  /** Refuse an approval from whoever requested the pipeline run (four-eyes rule). */
  forbidSelfApproval: z.boolean().default(false),
  /** How long to wait for a decision before `onTimeout` applies. */
  timeout: durationSchema.default('7 days'),
  /** `reject`: the candidate is rejected with the reason recorded. `escalate`: notify `escalateTo` and wait `escalationTimeout` more, then reject. */
  onTimeout: z.enum(['reject', 'escalate']).default('reject'),
  escalateTo: z.string().min(1).optional(),
  escalationTimeout: durationSchema.default('2 days'),
  /**
   * Accept a decision only with an Ed25519 signature by a key in the approvers registry (shared/approvers.ts),
   * so `by` is a verified identity and `forbidSelfApproval` and the approver rules below cannot be
   * defeated by typing another name. The three fields are optional, not defaulted: a spec that does
   * not set them hashes as before, so an identical request still finds its earlier run.
   */
  requireVerifiedIdentity: z.boolean().optional(),
  /** Approvers (registry ids) who must each approve, besides `requiredApprovals` in all. */
  requiredApprovers: z.array(z.string().trim().min(1)).min(1).optional(),
  /** Roles (from the approvers registry) each held by at least one of the approvers. */
  requiredRoles: z.array(z.string().trim().min(1)).min(1).optional(),
}).superRefine((policy, ctx) => {
  // Who holds a role, or whether "ana" is really ana, is only known from a verified signature.
  for (const field of ['requiredApprovers', 'requiredRoles'] as const) {
    if (policy[field] && !policy.requireVerifiedIdentity) ctx.addIssue({ code: 'custom', path: [field], message: `${field} needs requireVerifiedIdentity: true (without a signature the approver's identity is only a typed name)` });
  }
});
export type ApprovalPolicy = z.output<typeof approvalPolicySchema>;

/** The two decisions a run awaiting approval takes: the names of its Updates and Signals. */
export const DECISIONS = ['approve', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];

/**
 * Proof that `by` made this decision: an Ed25519 signature over `signedDecisionMessage` (shared/decision-proof.ts),
 * by `by`'s own key or by a delegate's (the API, for an authenticated key holder).
 */
export const decisionProofSchema = z.strictObject({
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  decision: z.enum(DECISIONS),
  signedAt: z.iso.datetime({ offset: true, error: 'expected signedAt as an ISO 8601 time' }),
  /** Whose key signed: absent means `by` itself; otherwise a delegate's id. */
  signer: z.string().min(1).optional(),
  /** 64 bytes as 128 hex digits. */
  signature: z.string().regex(/^[0-9a-f]{128}$/, 'expected an Ed25519 signature as 128 lowercase hex digits'),
});
export type DecisionProof = z.infer<typeof decisionProofSchema>;

/** The payload of the `approve` and `reject` updates and signals. */
export const decisionInputSchema = z.strictObject({
  by: z.string().trim().min(1, 'approver identity (by) is required'),
  comment: z.string().max(2000).default(''),
  proof: decisionProofSchema.optional(),
});
export type DecisionInput = z.input<typeof decisionInputSchema>;

/** Who a verified decision came from, as recorded with it (and in the registry's status history). */
export const verifiedIdentitySchema = z.object({
  approver: z.string(),
  /** The key that signed: the approver's own, or a delegate's (e.g. the API) acting for them. */
  signer: z.string(),
  keyFingerprint: z.string(),
  signedAt: z.string(),
  roles: z.array(z.string()),
});
export type VerifiedIdentity = z.infer<typeof verifiedIdentitySchema>;

export const approvalDecisionSchema = z.object({
  decision: z.enum(DECISIONS),
  by: z.string(),
  comment: z.string(),
  at: z.string(),
  via: z.enum(['update', 'signal', 'timeout']),
  /** Present when the policy required a verified identity and the signature checked out. */
  verified: verifiedIdentitySchema.extend({ signature: z.string() }).optional(),
});
export type ApprovalDecision = z.infer<typeof approvalDecisionSchema>;

/**
 * The policy's rules for one more approval from `by`, once its identity is settled (verified when the
 * policy requires it): why it is refused, or undefined. Pure, so the gate and its unit tests share it.
 */
export function approvalRefusal(policy: ApprovalPolicy, requestedBy: string, approvals: ApprovalDecision[], by: string, verified: VerifiedIdentity | undefined): string | undefined {
  if (policy.forbidSelfApproval && by === requestedBy) {
    const how = verified ? ` (verified: signed with ${verified.signer}'s key ${verified.keyFingerprint})` : '';
    return `${by}${how} requested this run and cannot approve it (policy forbidSelfApproval); ask someone else`;
  }
  if (approvals.some((a) => a.by === by)) return `${by} has already approved; ${policy.requiredApprovals} distinct approvers are required`;
  return undefined;
}

/** Whether approvals settle the policy: `requiredApprovals` in all, every required approver among them, every required role held by one of them (verified roles only). */
export function approvalsSatisfy(policy: ApprovalPolicy, approvals: ApprovalDecision[]): boolean {
  if (approvals.length < policy.requiredApprovals) return false;
  if (!(policy.requiredApprovers ?? []).every((id) => approvals.some((a) => a.verified?.approver === id))) return false;
  return (policy.requiredRoles ?? []).every((role) => approvals.some((a) => a.verified?.roles.includes(role)));
}
