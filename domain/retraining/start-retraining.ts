import { SluiceError } from '../../shared/errors.ts';
import { describeIssues } from '../../shared/parse-input.ts';
import { trainingSlotId } from '../../shared/pipeline-identity.ts';
import { pipelineSpecSchema } from '../../shared/pipeline.ts';
import type { RetrainingOutcome, RetrainingTrigger } from '../../shared/retraining.ts';

/**
 * When a retraining starts, whoever triggers it: a person (CLI, HTTP), a retraining Schedule or the
 * drift monitor. How a pipeline is started (a Temporal client) is a port the caller wires, so the
 * worker's activities reach the client only through what the worker injects.
 */

export class PipelineSpecError extends SluiceError {
  override readonly name = 'PipelineSpecError';
  readonly kind = 'InvalidInput';
  constructor(readonly problems: string[]) {
    super(`The pipeline spec has ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { details: { problems } });
  }
}


/** A retraining request that cannot be acted on as given; the message says what to change. */
export class RetrainingRequestError extends SluiceError {
  override readonly name = 'RetrainingRequestError';
  readonly kind = 'InvalidInput';
  constructor(readonly problems: string[]) {
    super(`The retraining request has ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { details: { problems } });
  }
}

/** A spec retrains `model` only if it is a valid pipeline spec for that model: checked before anything starts or is scheduled. */
export function checkRetrainingSpec(model: string, spec: unknown): void {
  const parsed = pipelineSpecSchema.safeParse(spec);
  if (!parsed.success) throw new PipelineSpecError(describeIssues(parsed.error));
  if (parsed.data.model.name !== model) throw new RetrainingRequestError([`spec.model.name is '${parsed.data.model.name}', but the retraining is for '${model}'`]);
}

/** What starting a retraining needs; the worker's activities and the CLI/API wire these differently. */
export interface RetrainingPorts {
  startPipeline: (request: { spec: unknown; requestedBy: string; trigger: Record<string, unknown> }) => Promise<PipelineStart>;
  /** Whether the model's training slot is held, and by which run when that is known. */
  slot: (model: string) => Promise<{ held: false } | { held: true; by: string | null }>;
}

/**
 * Starts a training pipeline for `model` with `spec` on the newest data of the spec's source. A model
 * whose training slot is held gets `already-running` and nothing is started, so a second trigger
 * while one run is in flight is reported rather than queued. (Two triggers racing past this check
 * still train once: the second pipeline finds the slot taken and ends as `slot-busy`.)
 */
export async function startRetraining(
  ports: RetrainingPorts,
  request: { model: string; spec: unknown; requestedBy: string; trigger: RetrainingTrigger },
): Promise<RetrainingOutcome> {
  checkRetrainingSpec(request.model, request.spec);
  const slot = await ports.slot(request.model);
  if (slot.held) {
    const message = `${request.model} is already training${slot.by ? ` (run ${slot.by})` : ''}: it holds ${trainingSlotId(request.model)}; nothing was started`;
    return { status: 'already-running', model: request.model, heldBy: slot.by, message, trigger: request.trigger };
  }
  const run = await ports.startPipeline({ spec: request.spec, requestedBy: request.requestedBy, trigger: request.trigger });
  return { status: run.started ? 'started' : 'attached', model: request.model, workflowId: run.workflowId, datasetVersion: run.datasetVersion, specHash: run.specHash, trigger: request.trigger };
}


/** What starting (or finding) a training pipeline run answers. */
export interface PipelineStart {
  workflowId: string;
  datasetVersion: string;
  specHash: string;
  /** False when this exact request (model, data, spec) already had a run: that run is returned instead. */
  started: boolean;
}
