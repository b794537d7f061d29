import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { deploymentWorkflowId } from '../../../shared/deployment.ts';
import type { modelDeployment } from '../../../workflows/model-deployment.ts';
import { registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { KEYS, startTestApi } from '../../unit/api/support/test-api.ts';
import { stackConfig, stackForSuite } from '../../support/stack.ts';
import { isolatedConfig } from '../api/minio-support.ts';

/**
 * A console view over a running workflow whose task queue no worker polls (the demo's deployment
 * after the demo's worker has exited): a query would wait for its whole deadline, so the view asks
 * Temporal whether anyone polls first and names the gap with what to start.
 */

const store = MinioArtifactStore.fromConfig(stackConfig().minio);
const stack = stackForSuite(stackConfig());

test('the rollouts view names a deployment no worker can answer for, without waiting out the query', async () => {
  const config = await isolatedConfig(store);
  const model = `unpolled-${randomBytes(3).toString('hex')}`;
  await registerFlightsModel(new ModelRegistry(store, config.buckets.models), model);
  const taskQueue = `nobody-polls-${model}`;
  const handle = await stack.client.workflow.start<typeof modelDeployment>('modelDeployment', { taskQueue, workflowId: deploymentWorkflowId(model), args: [{ model }] });
  try {
    await using api = await startTestApi({ store, config });
    const view = await api.request<{ gaps: string[]; deployment: { phase: string | null } }>('GET', `/v1/console/models/${model}/rollouts`, { key: KEYS.admin });
    assert.equal(view.status, 200, view.text);
    assert.deepEqual(view.json.gaps, [`the deployment workflow ${deploymentWorkflowId(model)} did not answer its state query (no worker polls its task queue ${taskQueue}, so the running workflow cannot answer (start one: npm run worker))`]);
    assert.equal(view.json.deployment.phase, null);
  } finally {
    await handle.terminate('test done');
  }
});
