import { z } from 'zod';

const UNIT_MS = {
  ms: 1, millisecond: 1, milliseconds: 1,
  s: 1000, second: 1000, seconds: 1000,
  m: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
} as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/;

/** Milliseconds of a duration string such as `30 seconds`, `2h` or `7 days`; undefined if it is not one. */
export function durationMs(duration: string): number | undefined {
  const match = DURATION.exec(duration.trim());
  const factor = match?.[2] !== undefined ? (UNIT_MS as Record<string, number>)[match[2]] : undefined;
  return match && factor !== undefined ? Number(match[1]) * factor : undefined;
}

/** Temporal duration strings: a number and a unit, e.g. `30 seconds`, `2h`, `7 days`. */
export const durationSchema = z.string().refine((d) => durationMs(d) !== undefined, 'expected a duration such as "30 seconds", "2 hours" or "7 days"');

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
