import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../shared/config.ts';
import { deploymentWorkflowId, type RolloutRecord } from '../shared/deployment.ts';
import type { ModelManifest } from '../shared/registry.ts';
import { deploymentState } from './deployment-commands.ts';
import { MonitorStateStore } from '../domain/monitoring/monitor-state.ts';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { ModelNotFoundError, ModelRegistry } from '../domain/registry/model-registry.ts';
import { buildTimeline, type ModelTimeline } from '../domain/timeline/model-timeline.ts';

/** How long to wait for the deployment workflow to answer its state query before leaving rollouts out. */
const DEPLOYMENT_QUERY_MS = 5000;

async function readRollouts(client: Client, model: string, gaps: string[]): Promise<RolloutRecord[]> {
  const id = deploymentWorkflowId(model);
  try {
    // Without a worker, Temporal holds a query until its own deadline; a few seconds is enough to know.
    const state = await client.connection.withDeadline(Date.now() + DEPLOYMENT_QUERY_MS, () => deploymentState(client, model));
    return state.current ? [...state.history, state.current] : state.history;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return []; // never deployed
    gaps.push(`rollouts: the deployment workflow ${id} did not answer its state query (${(err as Error).message}); is a pipeline worker running?`);
    return [];
  }
}

/**
 * Gathers a model's timeline from the registry, the deployment workflow and the drift monitor's
 * state. What cannot be read (a rollout history while no worker answers) is named in `gaps` rather
 * than failing the whole page. Throws `ModelNotFoundError` for a model nobody registered.
 */
export async function loadModelTimeline(
  deps: { store: ArtifactStore; buckets: Config['buckets']; client: Client },
  model: string,
  now: Date = new Date(),
): Promise<ModelTimeline> {
  const registry = new ModelRegistry(deps.store, deps.buckets.models);
  const index = await registry.index(model);
  const gaps: string[] = [];
  const manifests: ModelManifest[] = [];
  for (const version of Object.keys(index.versions).map(Number)) {
    try {
      manifests.push(await registry.manifest(model, version));
    } catch (err) {
      // A registration whose manifest is not written yet (its activity is being retried).
      if (!(err instanceof ModelNotFoundError)) throw err;
      gaps.push(`v${version}: no manifest yet`);
    }
  }
  const [rollouts, monitor] = await Promise.all([readRollouts(deps.client, model, gaps), new MonitorStateStore(deps.store, deps.buckets).read(model)]);
  return buildTimeline({ model, index, manifests, rollouts, monitor, gaps, now });
}
