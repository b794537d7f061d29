import { z } from 'zod';
import { modelNameSchema } from './registry.ts';

/**
 * Which model versions take online traffic. One object in the serving bucket holds every model's
 * routes; its single writer is the deployment workflow (a canary rollout moves `canary.percent`
 * 5 → 25 → 100 and then makes the canary primary). Every API replica polls the object and serves the
 * last version it could load, so the object store, not Temporal, is what serving depends on.
 */

export const SERVING_CONFIG_KEY = 'serving-config.json';

const version = z.number().int('expected a whole version number').positive('expected a version number ≥ 1');

/** A share of requests in percent; hundredths of a percent are the finest split routing resolves. */
const percent = z.number().gt(0, 'expected a percentage above 0').max(100, 'expected a percentage of at most 100');

export const modelRoutesSchema = z
  .strictObject({
    /** Takes every request the canary does not. */
    primary: version,
    /** Takes `percent` of requests; with a routing key the same key always lands on the same version. */
    canary: z.strictObject({ version, percent: percent.lt(100, 'a canary at 100% is a primary: make it primary') }).optional(),
    /** Scores `percent` of requests off the request path; its scores are logged and never returned. */
    shadow: z.strictObject({ version, percent: percent.default(100) }).optional(),
  })
  .superRefine((routes, ctx) => {
    const used = [routes.primary, routes.canary?.version, routes.shadow?.version].filter((v) => v !== undefined);
    if (new Set(used).size !== used.length) ctx.addIssue({ code: 'custom', message: 'primary, canary and shadow must be different versions' });
  });
export type ModelRoutesConfig = z.output<typeof modelRoutesSchema>;

export const servingConfigSchema = z.strictObject({
  kind: z.literal('sluice.serving-config'),
  /** Grows with every write; a replica never goes back to a lower revision than the one it serves. */
  revision: z.number().int().nonnegative(),
  updatedAt: z.iso.datetime(),
  updatedBy: z.string().min(1),
  reason: z.string().default(''),
  models: z.record(modelNameSchema, modelRoutesSchema),
});
export type ServingConfig = z.output<typeof servingConfigSchema>;
export type ServingConfigInput = z.input<typeof servingConfigSchema>;
