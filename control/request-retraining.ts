import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Config } from '../shared/config.ts';
import { describeIssues } from '../shared/parse-input.ts';
import { trainingSlotId } from '../shared/pipeline-identity.ts';
import { pipelineInputSchema } from '../shared/pipeline.ts';
import { type RetrainingOutcome, type RetrainingRequest, retrainingRequestSchema } from '../shared/retraining.ts';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import { type RetrainingPorts, RetrainingRequestError, startRetraining } from '../domain/retraining/start-retraining.ts';
import { startTrainingPipeline } from './start-training-pipeline.ts';
import { SluiceError } from '../shared/errors.ts';

/** No spec was given and none can be found for the model's current version. */
export class RecordedSpecUnavailableError extends SluiceError {
  override readonly name = 'RecordedSpecUnavailableError';
  readonly kind = 'RetrainingRefused';
  constructor(readonly model: string, readonly version: number, why: string) {
    super(`No pipeline spec is recorded for ${model} v${version} (${why}); pass the spec to retrain with (CLI: --spec spec.json; HTTP: "spec" in the body)`);
  }
}

/** Ports over a Temporal client: what the CLI and the API use. */
export function clientRetrainingPorts(deps: { client: Client; config: Config; store: ArtifactStore }): RetrainingPorts {
  return {
    startPipeline: (request) => startTrainingPipeline(deps, request),
    async slot(model) {
      try {
        const description = await deps.client.workflow.getHandle(trainingSlotId(model)).describe();
        if (description.status.name !== 'RUNNING') return { held: false };
        return { held: true, by: description.parentExecution?.workflowId ?? null };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { held: false };
        throw err;
      }
    },
  };
}

/**
 * The spec the model's champion (else its newest version) was trained with: the copy its manifest
 * points at (`reports.spec` in the reports bucket), else the input of the run that trained it, read
 * from Temporal while the run's history is retained.
 */
export async function recordedSpec(
  deps: { store: ArtifactStore; buckets: Config['buckets']; client: Client },
  model: string,
): Promise<{ spec: unknown; version: number; from: 'registry' | 'run-history' }> {
  const registry = new ModelRegistry(deps.store, deps.buckets.models);
  const index = await registry.index(model);
  const version = index.aliases.champion ?? index.latestVersion;
  const manifest = await registry.manifest(model, version);
  const specKey = manifest.reports.spec;
  if (specKey) return { spec: JSON.parse((await deps.store.get(deps.buckets.reports, specKey)).toString('utf8')), version, from: 'registry' };

  const run = deps.client.workflow.getHandle(manifest.origin.workflowId);
  try {
    // describe() says "not found" as WorkflowNotFoundError; fetchHistory() would only give a bare gRPC status.
    await run.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new RecordedSpecUnavailableError(model, version, `the history of its run ${manifest.origin.workflowId} is no longer retained`);
    throw err;
  }
  const history = await run.fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const input = pipelineInputSchema.safeParse(payload ? defaultPayloadConverter.fromPayload(payload) : undefined);
  if (!input.success) throw new RecordedSpecUnavailableError(model, version, `run ${manifest.origin.workflowId} was not started with a pipeline spec`);
  return { spec: input.data.spec, version, from: 'run-history' };
}

/**
 * A person's retraining request (the CLI's `sluice retrain` and the API's `POST /v1/models/:name/retrain`
 * both call this). The trigger `{ kind: 'manual', reason, requestedBy }` is recorded in the new
 * version's lineage. Throws `RetrainingRequestError` or `PipelineSpecError` for bad input,
 * `ModelNotFoundError` for an unknown model without a spec, `RecordedSpecUnavailableError` when no
 * spec is given and none is recorded.
 */
export async function requestRetraining(
  deps: { client: Client; config: Config; store: ArtifactStore },
  request: RetrainingRequest,
): Promise<RetrainingOutcome & { specFrom: 'request' | 'registry' | 'run-history' }> {
  const parsed = retrainingRequestSchema.safeParse(request);
  if (!parsed.success) throw new RetrainingRequestError(describeIssues(parsed.error));
  const { model, reason, requestedBy } = parsed.data;
  const recorded = parsed.data.spec ? undefined : await recordedSpec({ store: deps.store, buckets: deps.config.buckets, client: deps.client }, model);
  const outcome = await startRetraining(clientRetrainingPorts(deps), {
    model,
    spec: parsed.data.spec ?? recorded?.spec,
    requestedBy,
    trigger: { kind: 'manual', reason, requestedBy },
  });
  return { ...outcome, specFrom: recorded?.from ?? 'request' };
}
