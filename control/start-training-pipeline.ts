import { createHash } from 'node:crypto';
import { type Client, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../shared/config.ts';
import { canonicalJson } from '../shared/data/canonical-json.ts';
import { describeIssues } from '../shared/parse-input.ts';
import { type PipelineSpec, pipelineInputSchema, pipelineSpecSchema } from '../shared/pipeline.ts';
import { searchAttributeKeys } from '../shared/search-attributes.ts';
import { trainingPipelineId } from '../shared/pipeline-identity.ts';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { currentCodeVersion } from './code-version.ts';
import { fingerprintSource } from '../domain/datasets/dataset-fingerprint.ts';
import { type PipelineStart, PipelineSpecError } from '../domain/retraining/start-retraining.ts';

export const specHash = (spec: PipelineSpec) => createHash('sha256').update(canonicalJson(spec)).digest('hex');

export interface StartedPipeline extends PipelineStart {
  handle: WorkflowHandle;
}

/**
 * Starts a training pipeline run, or finds the one this exact request already started: the run's id
 * is derived from the model name, the dataset's content hash and the spec's hash, so asking twice
 * trains once. The spec is validated here too, so a person sees every problem before anything runs.
 */
export async function startTrainingPipeline(
  deps: { client: Client; config: Config; store: ArtifactStore },
  request: { spec: unknown; requestedBy: string; trigger?: Record<string, unknown>; codeVersion?: string; heartbeatTimeout?: string },
): Promise<StartedPipeline> {
  const parsedSpec = pipelineSpecSchema.safeParse(request.spec);
  if (!parsedSpec.success) throw new PipelineSpecError(describeIssues(parsedSpec.error));
  const spec = parsedSpec.data;
  const { sha256: datasetVersion } = await fingerprintSource(spec.dataset.source, deps.store, { partitions: spec.dataset.partitions, datasetsBucket: deps.config.buckets.datasets });
  const hash = specHash(spec);
  const workflowId = trainingPipelineId(spec.model.name, datasetVersion, hash);
  const input = pipelineInputSchema.parse({ spec, datasetVersion, requestedBy: request.requestedBy, trigger: request.trigger, codeVersion: request.codeVersion ?? currentCodeVersion(), heartbeatTimeout: request.heartbeatTimeout });

  try {
    const handle = await deps.client.workflow.start('trainingPipeline', {
      taskQueue: deps.config.taskQueues.pipeline,
      workflowId,
      args: [input],
      // A completed or running identical request is not run again; a failed one may be retried.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: searchAttributeKeys.ModelName, value: spec.model.name },
        { key: searchAttributeKeys.DatasetVersion, value: datasetVersion },
        { key: searchAttributeKeys.PipelineStage, value: 'ingesting' },
      ],
      staticSummary: `Train ${spec.model.name} (${spec.trainer.kind}) on ${spec.dataset.name} ${datasetVersion.slice(0, 12)}`,
    });
    return { handle, workflowId, datasetVersion, specHash: hash, started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: deps.client.workflow.getHandle(workflowId), workflowId, datasetVersion, specHash: hash, started: false };
  }
}
