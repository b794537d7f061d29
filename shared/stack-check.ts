import { z } from 'zod';

export const stackCheckInputSchema = z.strictObject({
  /** Buckets to probe; each gets one object written and read back. */
  buckets: z.array(z.string().min(3)).min(1),
  /** Text stored in the probe object, so a person can find it in the MinIO console. */
  note: z.string().max(1000).default('sluice stack check'),
});
export type StackCheckInput = z.input<typeof stackCheckInputSchema>;

export const probeResultSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  bytes: z.number().int(),
  sha256: z.string().length(64),
  etag: z.string(),
  writeMs: z.number(),
  readMs: z.number(),
});
export type ProbeResult = z.infer<typeof probeResultSchema>;

export interface StackCheckResult {
  workflowId: string;
  probes: ProbeResult[];
}
