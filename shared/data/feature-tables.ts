import { z } from 'zod';
import { sha256Schema } from './dataset.ts';

/**
 * What a feature build leaves in the features bucket: one Parquet table per split, reference
 * statistics from the reference split for drift detection, and a manifest written last.
 */

export const numericReferenceSchema = z.strictObject({
  name: z.string(),
  kind: z.literal('numeric'),
  rows: z.number().int(),
  nullCount: z.number().int(),
  nullRate: z.number(),
  mean: z.number().nullable(),
  std: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  /**
   * Interior cut points, ascending and distinct: quantiles (actual values) at 1/bins ... (bins-1)/bins
   * of the reference split (of every k-th row when it has more than 200 000). Bin 0 holds x < edges[0],
   * bin i holds edges[i-1] <= x < edges[i], the last bin x >= edges[last]; `binCounts` (exact, over
   * every row) has edges.length + 1 entries and leaves NULLs out.
   */
  binEdges: z.array(z.number()),
  binCounts: z.array(z.number().int()),
});

export const categoricalReferenceSchema = z.strictObject({
  name: z.string(),
  kind: z.literal('categorical'),
  rows: z.number().int(),
  nullCount: z.number().int(),
  nullRate: z.number(),
  distinct: z.number().int(),
  /** Most frequent categories first (ties by value); frequencies are shares of all rows. */
  top: z.array(z.strictObject({ value: z.string(), count: z.number().int(), frequency: z.number() })),
  /** Non-NULL rows in categories outside `top`. */
  otherCount: z.number().int(),
  otherFrequency: z.number(),
});

export const referenceStatsSchema = z.strictObject({
  kind: z.literal('sluice.reference-stats'),
  featureSpecHash: sha256Schema,
  datasetVersion: sha256Schema,
  split: z.string(),
  rows: z.number().int(),
  label: z.strictObject({ name: z.string(), positives: z.number().int(), positiveRate: z.number().nullable() }),
  features: z.array(z.discriminatedUnion('kind', [numericReferenceSchema, categoricalReferenceSchema])),
});
export type ReferenceStats = z.infer<typeof referenceStatsSchema>;

export const featureTablesManifestSchema = z.strictObject({
  kind: z.literal('sluice.feature-tables'),
  featureSpecHash: sha256Schema,
  datasetVersion: sha256Schema,
  /** The parsed spec the tables were built from. */
  spec: z.record(z.string(), z.unknown()),
  columns: z.strictObject({
    entityKeys: z.array(z.string()),
    eventTime: z.string(),
    numeric: z.array(z.string()),
    categorical: z.array(z.string()),
    label: z.string(),
  }),
  /**
   * Per split; `key` may be a table of an earlier dataset version's build, when an incremental build
   * found that split unchanged. A split an incremental build appended rows to is several files:
   * `earlier` (keys of earlier builds' tables, in order), then `key`, the appended part (`splitKeys`).
   */
  splits: z.record(
    z.string(),
    z.strictObject({ key: z.string(), earlier: z.array(z.string()).min(1).optional(), rows: z.number().int(), from: z.iso.datetime().nullable(), until: z.iso.datetime().nullable() }),
  ),
  /** The dataset's newest event time, which splits relative to its end (`last`) were resolved against; absent in manifests written before they existed. */
  newestEventTime: z.iso.datetime().nullable().optional(),
  referenceStatsKey: z.string(),
  /** Events kept for an incremental build of a later version that only appends (`featureKeys.lookback`); absent in manifests written before it existed. */
  lookbackKey: z.string().optional(),
  /**
   * How the tables were built: from every event, or incrementally from `previousVersion`'s tables and
   * the appended partitions' events; for a full build of a dataset with an earlier version, why not incrementally.
   */
  build: z
    .strictObject({ mode: z.enum(['full', 'incremental']), previousVersion: sha256Schema.optional(), appendedEvents: z.number().int().optional(), reason: z.string().optional() })
    .optional(),
  /** Events read, and those left out of every table (no label, or outside every split). */
  events: z.strictObject({ total: z.number().int(), withoutLabel: z.number().int(), outsideSplits: z.number().int() }),
});
export type FeatureTablesManifest = z.infer<typeof featureTablesManifestSchema>;

/** The Parquet objects of a split, in order: concatenated, they are its rows in (event time, event number) order. */
export const splitKeys = (split: { key: string; earlier?: readonly string[] | undefined }): string[] => [...(split.earlier ?? []), split.key];
