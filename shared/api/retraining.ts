import { z } from 'zod';

/** Body of `POST /v1/models/{name}/retrain`; who asks comes from the API key, never the body. */
export const retrainRequestSchema = z
  .strictObject({
    reason: z.string().trim().min(1, "expected a reason: it is recorded in the new version's lineage").max(2000, 'expected a reason of at most 2000 characters'),
    spec: z.record(z.string(), z.unknown()).optional().describe("Pipeline spec to train with; without it, the spec recorded for the model's champion (else newest version)"),
  })
  .describe('Starts a training pipeline for the model on the newest data of its source; it passes the same gates, approval and canary as any run');
export type RetrainRequest = z.output<typeof retrainRequestSchema>;

export const retrainResponseSchema = z
  .strictObject({
    requestId: z.string(),
    model: z.string(),
    status: z.enum(['started', 'attached']).describe('`attached`: this exact run (same model, data and spec) was already started'),
    workflowId: z.string().describe('The training pipeline run (Temporal workflow id); follow it in the Temporal UI or with `sluice pipeline status`'),
    datasetVersion: z.string(),
    specFrom: z.enum(['request', 'registry', 'run-history']).describe('Where the spec came from'),
    trigger: z.looseObject({}).describe("Recorded in the new version's lineage"),
  })
  .describe('The retraining run');
