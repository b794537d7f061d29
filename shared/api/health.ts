import { z } from 'zod';

/** `/readyz`: whether this replica should get traffic, and why not. */
export const readinessSchema = z
  .strictObject({
    status: z.enum(['ready', 'not-ready']),
    reasons: z.array(z.string()).describe('Why the replica is not ready; empty when ready'),
    servingConfig: z.strictObject({
      state: z.enum(['never-read', 'absent', 'current', 'stale']).describe('stale: the object store could not be read (or holds an unusable config) and the last good config is served'),
      revision: z.number().int().optional(),
      lastSuccessAt: z.string().optional(),
      lastError: z.string().optional(),
    }),
    models: z.record(z.string(), z.strictObject({ primary: z.number().int(), canary: z.unknown().optional(), shadow: z.unknown().optional() })),
    modelErrors: z.record(z.string(), z.string()),
    executionProviders: z.strictObject({
      preferences: z.array(z.string()),
      active: z.array(z.string()).describe('Providers the loaded model versions run on'),
      unavailable: z.record(z.string(), z.string()).describe('Configured providers that could not be used, with the reason'),
    }),
    predictionLog: z.strictObject({ heldRows: z.number().int(), droppedRows: z.number().int() }),
    onlineFeatures: z
      .record(
        z.string(),
        z.strictObject({
          featureSpecHash: z.string(),
          state: z.enum(['current', 'stale']).describe('stale: older than SLUICE_SERVING_FEATURES_MAX_AGE, or a newer snapshot could not be loaded; the last good snapshot is still served'),
          snapshotKey: z.string(),
          asOf: z.string(),
          ageSeconds: z.number(),
          refreshedAt: z.string().describe('When the served snapshot was written'),
          maxAgeSeconds: z.number(),
          lastError: z.string().optional(),
        }),
      )
      .describe('Per served model: the online feature snapshot its primary version reads (models whose features need none are absent)'),
  })
  .describe('Readiness: serving config and models loaded');
