import { z } from 'zod';
import { durationSchema } from './duration.ts';
import { modelNameSchema } from './registry.ts';

/**
 * Retraining a model outside the drift monitor: asked for by a person (CLI, HTTP) or by the model's
 * own retraining Schedule. Either way the run trains on the newest data of the spec's source, and
 * its trigger lands in the new version's lineage (`manifest.origin.trigger`).
 */

const specObject = z.record(z.string(), z.unknown());

/** A person's request. Without `spec`, the spec recorded for the model's champion (else newest version) is used. */
export const retrainingRequestSchema = z.strictObject({
  model: modelNameSchema,
  spec: specObject.optional(),
  reason: z.string().trim().min(1, 'expected a reason: it is recorded in the new version\'s lineage'),
  requestedBy: z.string().trim().min(1, 'expected who asks'),
});
export type RetrainingRequest = z.input<typeof retrainingRequestSchema>;

/** The input of one `scheduledRetraining` run; the Schedule carries the spec it was created with. */
export const scheduledRetrainingInputSchema = z.strictObject({
  model: modelNameSchema,
  scheduleId: z.string().min(1),
  spec: specObject,
});
export type ScheduledRetrainingInput = z.input<typeof scheduledRetrainingInputSchema>;

export const retrainingScheduleRequestSchema = z.strictObject({
  model: modelNameSchema,
  /** How often: `7d`, `12h`. */
  every: durationSchema,
  spec: specObject,
});

export type RetrainingTrigger =
  | { kind: 'manual'; reason: string; requestedBy: string }
  | { kind: 'schedule'; scheduleId: string }
  /** The drift monitor's evidence: window, verdicts, drift and performance summaries (see driftMonitor). */
  | { kind: 'drift-monitor'; [evidence: string]: unknown };

export type RetrainingOutcome =
  | { status: 'started' | 'attached'; model: string; workflowId: string; datasetVersion: string; specHash: string; trigger: RetrainingTrigger }
  /** The model's training slot is held: nothing was started; `heldBy` is the run holding it when known. */
  | { status: 'already-running'; model: string; heldBy: string | null; message: string; trigger: RetrainingTrigger };

/** One retraining Schedule per model. */
export const retrainingScheduleId = (model: string) => `retrain-${model}`;
