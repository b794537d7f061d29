import { z } from 'zod';
import { durationSchema } from './duration.ts';
import { modelNameSchema } from './registry.ts';

/**
 * Keeping a served model's online features fresh: the `refreshOnlineFeatures` workflow ingests the
 * model's dataset source again (a grown source gives a new dataset version) and materializes a new
 * online snapshot, which the API's snapshot poller picks up. A Temporal Schedule per served model
 * runs it (`refresh-features-<model>`).
 *
 * `asOf` says which instant the snapshot describes:
 * - `data-end` (default): just after the newest event in the data. Every value is what the offline
 *   point-in-time SQL gives an event at that instant, so online == offline holds at the snapshot's
 *   instant as it does after training, and `sluice_online_features_age_seconds` (now − as-of) shows
 *   the real lag of the data. A source whose newest partition lands late does not make windows
 *   look emptier than they are.
 * - `now`: the run's own time. Windows slide with the clock even when no data arrived (counts over
 *   the last 7 days decay), which fits a source that is complete up to the present; on a source that
 *   lags, the newest window undercounts until its data lands.
 */
export const REFRESH_AS_OF = ['data-end', 'now'] as const;
export type RefreshAsOf = (typeof REFRESH_AS_OF)[number];

export const DEFAULT_REFRESH_EVERY = '15m';
export const DEFAULT_KEEP_SNAPSHOTS = 8;

export const refreshOnlineFeaturesInputSchema = z.strictObject({
  model: modelNameSchema,
  asOf: z.enum(REFRESH_AS_OF).default('data-end'),
  /** Snapshots of the spec kept after a refresh, newest first (older ones are removed once an hour old): 8 is two hours of 15-minute refreshes. */
  keepSnapshots: z.number().int().min(2).max(10_000).default(DEFAULT_KEEP_SNAPSHOTS),
});
export type RefreshOnlineFeaturesInput = z.input<typeof refreshOnlineFeaturesInputSchema>;

/** How the newest snapshot differs from the one it replaces, counted over entity keys of every group-by table. */
export const snapshotChangesSchema = z.strictObject({
  /** Keys in the new snapshot. */
  keys: z.number().int(),
  added: z.number().int(),
  removed: z.number().int(),
  /** Keys in both whose values differ. */
  changed: z.number().int(),
});
export type SnapshotChanges = z.infer<typeof snapshotChangesSchema>;

export interface RefreshOutcome {
  model: string;
  /** The champion whose manifest named the feature spec and the source. */
  version: number;
  featureSpecHash: string;
  datasetVersion: string;
  /** Rows of a dataset version this run stored for the first time; 0 when the source had nothing new. */
  rowsIngested: number;
  /** Rows of the whole dataset version the snapshot was built from. */
  datasetRows: number;
  snapshotKey: string;
  /** The snapshot replaced, or null for the spec's first. */
  previousSnapshotKey: string | null;
  asOf: string;
  asOfMode: RefreshAsOf;
  /** Keys changed against the previous snapshot (all keys added when there was none). */
  changes: SnapshotChanges;
  /** Older snapshots of the spec this run removed (`keepSnapshots`); absent in runs before retention. */
  snapshotsRemoved?: number;
}

/** One refresh Schedule per model. */
export const refreshScheduleId = (model: string) => `refresh-features-${model}`;

export const refreshScheduleRequestSchema = z.strictObject({
  model: modelNameSchema,
  /** How often; unset keeps the schedule's interval, or `15m` for a new one. */
  every: durationSchema.optional(),
  /** Unset keeps the schedule's choice, or `data-end` for a new one. */
  asOf: z.enum(REFRESH_AS_OF).optional(),
  /** Snapshots kept after each run; unset keeps the schedule's choice, or 8 for a new one. */
  keepSnapshots: z.number().int().min(2).max(10_000).optional(),
  /** Unset leaves a schedule's state as it is (a new one runs). */
  paused: z.boolean().optional(),
});
export type RefreshScheduleRequest = z.input<typeof refreshScheduleRequestSchema>;
