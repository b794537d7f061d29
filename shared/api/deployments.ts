import { z } from 'zod';
import { rolloutPlanSchema } from '../deployment.ts';

/**
 * Bodies of the deployment admin routes (`/v1/deployments/{model}/…`), relayed to the model's
 * `modelDeployment` workflow. Who acts comes from the API key, never the body.
 */

const reason = z.string().max(2000, 'expected a reason of at most 2000 characters').default('');

export const rolloutRequestSchema = z
  .strictObject({
    version: z.number().int('expected a whole version number').positive('expected a version number of 1 or more'),
    plan: rolloutPlanSchema.optional().describe('Shadow phase, canary steps with bake times, health thresholds; the default is 5% → 25% → 50% → 100%'),
    reason,
  })
  .describe('Starts a rollout of a registered, approved version; the deployment workflow is started if the model has none');
export type RolloutRequest = z.output<typeof rolloutRequestSchema>;

export const deploymentControlRequestSchema = z.strictObject({ reason }).describe('Why; recorded in the rollout history');
export type DeploymentControlRequest = z.output<typeof deploymentControlRequestSchema>;


export const deploymentResponseSchema = z
  .strictObject({
    requestId: z.string(),
    model: z.string(),
    by: z.string().optional().describe('The API key holder who acted (absent on reads)'),
    state: z.looseObject({}).describe('The deployment: phase, champion, current rollout and its steps with health figures and verdicts, history'),
  })
  .describe("The model's deployment after the action");
