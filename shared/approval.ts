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
});
export type ApprovalPolicy = z.output<typeof approvalPolicySchema>;

/** The payload of the `approve` and `reject` updates and signals. */
export const decisionInputSchema = z.strictObject({
  by: z.string().trim().min(1, 'approver identity (by) is required'),
  comment: z.string().max(2000).default(''),
});
export type DecisionInput = z.input<typeof decisionInputSchema>;

export const approvalDecisionSchema = z.object({
  decision: z.enum(['approve', 'reject']),
  by: z.string(),
  comment: z.string(),
  at: z.string(),
  via: z.enum(['update', 'signal', 'timeout']),
});
export type ApprovalDecision = z.infer<typeof approvalDecisionSchema>;
