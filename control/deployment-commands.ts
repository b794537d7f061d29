import { type Client, WithStartWorkflowOperation } from '@temporalio/client';
import { type DeploymentAction, type RolloutPlanInput, deploymentWorkflowId } from '../shared/deployment.ts';
import {
  type DeploymentView,
  type modelDeployment,
  deploymentStateQuery,
  pauseUpdate,
  promoteUpdate,
  resumeUpdate,
  rollbackUpdate,
  startRolloutUpdate,
} from '../workflows/model-deployment.ts';

/**
 * What a person asks of a model's deployment, as Temporal client calls: the CLI and the API's admin
 * routes both send exactly these, so the `modelDeployment` workflow's validation is the only one.
 */

const CONTROL = { promote: promoteUpdate, pause: pauseUpdate, resume: resumeUpdate, rollback: rollbackUpdate } as const;

/** Starts a rollout: update-with-start of `deploy-<model>`, so the model's first rollout also starts its workflow. */
export function startRollout(
  client: Client,
  taskQueue: string,
  model: string,
  request: { version: number; plan?: RolloutPlanInput; by: string; reason: string },
): Promise<DeploymentView> {
  return client.workflow.executeUpdateWithStart(startRolloutUpdate, {
    args: [{ version: request.version, ...(request.plan ? { plan: request.plan } : {}), by: request.by, reason: request.reason }],
    startWorkflowOperation: new WithStartWorkflowOperation<typeof modelDeployment>('modelDeployment', {
      workflowId: deploymentWorkflowId(model),
      taskQueue,
      args: [{ model }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
}

export function controlDeployment(client: Client, model: string, action: DeploymentAction, request: { by: string; reason: string }): Promise<DeploymentView> {
  return client.workflow.getHandle(deploymentWorkflowId(model)).executeUpdate(CONTROL[action], { args: [request] });
}

export function deploymentState(client: Client, model: string): Promise<DeploymentView> {
  return client.workflow.getHandle(deploymentWorkflowId(model)).query(deploymentStateQuery);
}
