import { z } from 'zod';
import { COMPACTION_CLOSED_AFTER } from './prediction-log-compaction.ts';
import { durationSchema } from './duration.ts';
import { modelNameSchema } from './registry.ts';

/**
 * Retention of a model's prediction log and feedback labels: `enforceRetention`, run by the model's
 * Schedule (`retentionScheduleId`), deletes every hour whose rows are all older than the retention.
 * The durations live in the Schedule's action, one Schedule per model: they are the model's retention
 * config, visible and editable in the Temporal UI, and changing them needs no retraining.
 *
 * Only compacted hours are deleted: a run compacts the model's closed hours first and then deletes
 * an expired hour only when it holds compacted files alone. A compaction racing the delete writes its
 * compacted file on the condition that the one it read is still there, so it cannot bring the hour
 * back; a small file that lands late in an expired hour is compacted and deleted by a later run.
 */

export const retentionScheduleId = (model: string) => `prediction-log-retention-${model}`;

const hourSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/);

export const retentionSchema = z.strictObject({
  /** How long prediction-log rows (and the failed-prediction log) are kept. */
  predictionLog: durationSchema,
  /** How long the feedback labels sent for the model are kept. */
  feedback: durationSchema,
});
export type Retention = z.infer<typeof retentionSchema>;

export const enforceRetentionInputSchema = z.strictObject({
  model: modelNameSchema,
  retention: retentionSchema,
  closedAfter: durationSchema.default(COMPACTION_CLOSED_AFTER),
});
export type EnforceRetentionInput = z.input<typeof enforceRetentionInputSchema>;

export const expireModelDataInputSchema = z.strictObject({ model: modelNameSchema, retention: retentionSchema });

export const retentionOutcomeSchema = z.strictObject({
  model: modelNameSchema,
  predictionLog: z.strictObject({
    /** The newest hour whose rows are all past the retention. */
    expiredThrough: hourSchema,
    hoursDeleted: z.array(hourSchema),
    filesDeleted: z.number().int().nonnegative(),
    /** Expired hours kept this run because small files are left in them (not compacted yet). */
    awaitingCompaction: z.array(hourSchema),
    failureFilesDeleted: z.number().int().nonnegative(),
  }),
  feedback: z.strictObject({
    expiredThrough: hourSchema,
    filesVisited: z.number().int().nonnegative(),
    filesRewritten: z.number().int().nonnegative(),
    filesDeleted: z.number().int().nonnegative(),
    labelsDeleted: z.number().int().nonnegative(),
  }),
});
export type RetentionOutcome = z.infer<typeof retentionOutcomeSchema>;

/** What a model's retention remembers between runs, in the predictions bucket: feedback hours up to here were visited (none is ever written to again). */
export const retentionStateSchema = z.strictObject({ model: modelNameSchema, feedbackThrough: hourSchema, updatedAt: z.iso.datetime() });
export type RetentionState = z.infer<typeof retentionStateSchema>;
