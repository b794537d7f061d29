import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { controlDeployment, deploymentState, startRollout } from '../../control/deployment-commands.ts';
import type { DeploymentControlRequest, RolloutRequest } from '../../shared/api/deployments.ts';
import type { DeploymentAction } from '../../shared/deployment.ts';
import type { Logger } from '../../shared/logger.ts';
import type { DeploymentView } from '../../workflows/model-deployment.ts';
import { ApiError } from '../errors.ts';
import type { TemporalLink } from '../temporal/temporal-link.ts';

/**
 * Relays deployment commands to the model's `modelDeployment` workflow, the single writer of its
 * serving config: the same calls the CLI makes (`control/deployment-commands.ts`), so HTTP, CLI and the Temporal UI act alike and the
 * workflow's validation is the only one. A refusal (no rollout to promote, a version not approved…)
 * is the workflow's message as a 409.
 */
export class DeploymentRelay {
  constructor(
    private readonly temporal: TemporalLink,
    private readonly taskQueue: string,
    private readonly log: Logger,
  ) {}

  state(model: string): Promise<DeploymentView> {
    return this.relay(model, 'state', (client) => deploymentState(client, model));
  }

  startRollout(model: string, by: string, request: RolloutRequest): Promise<DeploymentView> {
    return this.relay(model, 'rollout', (client) => startRollout(client, this.taskQueue, model, { ...request, by }));
  }

  control(model: string, action: DeploymentAction, by: string, request: DeploymentControlRequest): Promise<DeploymentView> {
    return this.relay(model, action, (client) => controlDeployment(client, model, action, { by, reason: request.reason }));
  }

  private async relay(model: string, action: string, call: (client: Client) => Promise<DeploymentView>): Promise<DeploymentView> {
    try {
      return await this.temporal.run(call);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (err instanceof WorkflowNotFoundError) {
        throw new ApiError('DeploymentNotFound', `model "${model}" has no deployment yet; start one with POST /v1/deployments/${encodeURIComponent(model)}/rollout`, { field: 'path.model' });
      }
      if (err instanceof WorkflowUpdateFailedError) {
        throw new ApiError('DeploymentRefused', `the deployment of "${model}" refused to ${action}: ${err.cause instanceof Error ? err.cause.message : err.message}`, { cause: err });
      }
      this.log.warn('deployment relay failed', { model, action, error: (err as Error).message });
      throw new ApiError('TemporalUnavailable', `Temporal did not take the ${action}: ${(err as Error).message}`, { retryAfterSeconds: 5, cause: err });
    }
  }
}
