import { type Client, WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { DeploymentAction, DeploymentControlRequest, RolloutRequest } from '../../shared/api/deployments.ts';
import { deploymentWorkflowId } from '../../shared/deployment.ts';
import type { Logger } from '../../shared/logger.ts';
import {
  type DeploymentView,
  type modelDeployment,
  deploymentStateQuery,
  pauseUpdate,
  promoteUpdate,
  resumeUpdate,
  rollbackUpdate,
  startRolloutUpdate,
} from '../../workflows/model-deployment.ts';
import { ApiError } from '../errors.ts';
import type { TemporalLink } from '../temporal/temporal-link.ts';

const CONTROL = { promote: promoteUpdate, pause: pauseUpdate, resume: resumeUpdate, rollback: rollbackUpdate } as const;

/**
 * Relays deployment commands to the model's `modelDeployment` workflow, the single writer of its
 * serving config: the same Updates the CLI sends, so HTTP, CLI and the Temporal UI act alike and the
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
    return this.relay(model, 'state', (client) => client.workflow.getHandle(deploymentWorkflowId(model)).query(deploymentStateQuery));
  }

  startRollout(model: string, by: string, request: RolloutRequest): Promise<DeploymentView> {
    return this.relay(model, 'rollout', (client) =>
      client.workflow.executeUpdateWithStart(startRolloutUpdate, {
        args: [{ version: request.version, ...(request.plan ? { plan: request.plan } : {}), by, reason: request.reason }],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof modelDeployment>('modelDeployment', {
          workflowId: deploymentWorkflowId(model),
          taskQueue: this.taskQueue,
          args: [{ model }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      }),
    );
  }

  control(model: string, action: DeploymentAction, by: string, request: DeploymentControlRequest): Promise<DeploymentView> {
    return this.relay(model, action, (client) => client.workflow.getHandle(deploymentWorkflowId(model)).executeUpdate(CONTROL[action], { args: [{ by, reason: request.reason }] }));
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
