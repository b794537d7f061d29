import { z } from 'zod';
import { approvalDecisionSchema } from '../approval.ts';

/** Body of `POST /v1/pipelines/{id}/approve|reject`; who decides comes from the API key, never the body. */
export const decisionRequestSchema = z
  .strictObject({ comment: z.string().max(2000, 'expected a comment of at most 2000 characters').default('') })
  .describe('Who decides is the API key holder; the body only carries a comment');
export type DecisionRequest = z.output<typeof decisionRequestSchema>;

export const approvalStateSchema = z
  .object({
    status: z.enum(['not-yet', 'waiting', 'escalated', 'approved', 'rejected']),
    requiredApprovals: z.number().int(),
    approvals: z.array(approvalDecisionSchema),
    rejection: approvalDecisionSchema.optional(),
    deadline: z.string().optional(),
  })
  .describe("The pipeline run's approval state after the decision");

export const decisionResponseSchema = z
  .strictObject({ requestId: z.string(), pipeline: z.string(), decidedBy: z.string(), state: approvalStateSchema })
  .describe('The decision was recorded in the pipeline run');
