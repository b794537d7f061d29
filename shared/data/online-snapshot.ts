import { z } from 'zod';

/**
 * The embedded online feature store: windowed aggregate values per entity group as of one instant,
 * materialized from offline data with the same SQL that builds the training tables, written as one
 * JSON object to the serving bucket and loaded into memory by the prediction API.
 */

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');

/** An entity key value as the feature tables hold it: a string, or a number for numeric keys. */
export const entityKeyValueSchema = z.union([z.string(), z.number()]);
export type EntityKeyValue = z.infer<typeof entityKeyValueSchema>;

export const onlineSnapshotTableSchema = z.strictObject({
  /** The group-by key columns, in the order each entry's key lists their values. */
  groupBy: z.array(z.string()).min(1),
  /** Aggregate feature names, in the order each entry's values list them. */
  features: z.array(z.string()).min(1),
  /** [key values, feature values]; a group with nothing known before `asOf` has no entry. */
  entries: z.array(z.tuple([z.array(entityKeyValueSchema), z.array(z.number().nullable())])),
});
export type OnlineSnapshotTable = z.infer<typeof onlineSnapshotTableSchema>;

export const onlineSnapshotSchema = z.strictObject({
  kind: z.literal('sluice.online-feature-snapshot'),
  featureSpecHash: sha256,
  datasetVersion: sha256,
  /** Values cover what was known strictly before this instant (ISO 8601, UTC). */
  asOf: z.iso.datetime(),
  tables: z.array(onlineSnapshotTableSchema),
});
export type OnlineSnapshot = z.infer<typeof onlineSnapshotSchema>;
