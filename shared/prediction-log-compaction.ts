import { z } from 'zod';
import { durationSchema } from './duration.ts';
import { modelNameSchema } from './registry.ts';

/**
 * The hourly compaction of the prediction log (`compactPredictionLog` on a Temporal Schedule): each
 * model version's small files of a closed hour become one zstd Parquet file.
 *
 * When an hour is closed: the API writes a version's rows of hour H into batches of that hour and
 * flushes a batch at most `SLUICE_SERVING_LOG_FLUSH_INTERVAL_MS` (10 s by default) after its first
 * row, so H's last file is written seconds after H ends and uploaded at once. An hour counts as closed
 * `closedAfter` (default 5 minutes: the flush interval plus a wide margin for slow uploads) after it
 * ends. A file that still arrives later (an upload retried after a store outage) is read by every
 * reader anyway, beside the compacted file that does not hold it, and merged by a later run if it
 * lands within `COMPACTION_LOOKBACK_HOURS` of the model's compaction watermark.
 */

export const COMPACTION_CLOSED_AFTER = '5m';
export const COMPACTION_LOOKBACK_HOURS = 24;
export const compactionScheduleId = 'prediction-log-compaction';

const hourSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/, 'expected an hour partition such as 2026-01-01T13');

export const compactPredictionLogInputSchema = z.strictObject({
  closedAfter: durationSchema.default(COMPACTION_CLOSED_AFTER),
  /** Only these models; by default every model in the registry. */
  models: z.array(modelNameSchema).optional(),
});
export type CompactPredictionLogInput = z.input<typeof compactPredictionLogInputSchema>;

export const compactModelLogInputSchema = z.strictObject({
  model: modelNameSchema,
  closedAfter: durationSchema.default(COMPACTION_CLOSED_AFTER),
});

/** What the compaction of one model remembers between runs, in the predictions bucket. */
export const compactionStateSchema = z.strictObject({
  model: modelNameSchema,
  /** Every closed hour up to this one was visited. */
  through: hourSchema,
  updatedAt: z.iso.datetime(),
});
export type CompactionState = z.infer<typeof compactionStateSchema>;

export const versionHourCompactionSchema = z.strictObject({
  hour: hourSchema,
  version: z.number().int().positive(),
  /** `compacted`: a new compacted file was written; `cleaned`: only small files it already held were deleted; `raced`: another compaction changed the hour meanwhile, left to the next run. */
  outcome: z.enum(['compacted', 'cleaned', 'raced']),
  merged: z.number().int().nonnegative(),
  removed: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
});
export type VersionHourCompaction = z.infer<typeof versionHourCompactionSchema>;

export const modelCompactionSchema = z.strictObject({
  model: modelNameSchema,
  through: hourSchema,
  hoursVisited: z.number().int().nonnegative(),
  changed: z.array(versionHourCompactionSchema),
});
export type ModelCompaction = z.infer<typeof modelCompactionSchema>;
