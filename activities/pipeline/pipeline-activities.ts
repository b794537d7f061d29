import type { Config } from '../../shared/config.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { ModelRegistry } from '../../domain/registry/model-registry.ts';
import type { PipelineActivities } from './contract.ts';
import { createDataStages } from './data-stages.ts';
import { createEvaluateCandidate } from './evaluate-candidate.ts';
import { createRegistrySteps } from './registry-steps.ts';
import { createTrainCandidate } from './train-candidate.ts';

/** Every activity the training pipeline calls, wired to the object store and the registry. */
export function createPipelineActivities(deps: { store: ArtifactStore; buckets: Config['buckets'] }): PipelineActivities {
  const registry = new ModelRegistry(deps.store, deps.buckets.models);
  return {
    ...createDataStages(deps),
    trainCandidate: createTrainCandidate(deps),
    evaluateCandidate: createEvaluateCandidate({ ...deps, registry }),
    ...createRegistrySteps({ ...deps, registry }),
  };
}
