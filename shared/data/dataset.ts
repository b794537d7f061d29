import { z } from 'zod';

/**
 * Raw datasets: content-addressed (the version is the SHA-256 of the bytes as ingested), each with a
 * manifest that says what the bytes are and how to read them again with the same types, and a
 * per-name history so "the previous version of this dataset" has an answer.
 */

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');

export const datasetNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'expected a dataset name of lowercase letters, digits, dots, hyphens and underscores');

export const DATASET_FORMATS = ['parquet', 'csv'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export const ingestInputSchema = z.strictObject({
  datasetName: datasetNameSchema,
  /** A local path, an http(s) URL, or s3://bucket/key in sluice's object store. */
  source: z.string().min(1, 'expected a path, URL or s3:// URI'),
  /** Overrides detection from the file's content and extension. */
  format: z.enum(DATASET_FORMATS).optional(),
  /** When set, the content must hash to this version, or nothing is stored (a pipeline run is named after it). */
  expectedVersion: sha256Schema.optional(),
});
export type IngestInput = z.input<typeof ingestInputSchema>;

/** A column as DuckDB reads it: the type names DuckDB prints (BIGINT, VARCHAR, TIMESTAMP, DECIMAL(18,3), ...). */
export const datasetColumnSchema = z.strictObject({ name: z.string(), type: z.string() });
export type DatasetColumn = z.infer<typeof datasetColumnSchema>;

/** The CSV dialect detected at ingestion, so every later read parses the bytes the same way. */
export const csvDialectSchema = z.strictObject({
  delimiter: z.string(),
  quote: z.string(),
  escape: z.string(),
  newLine: z.string(),
  skipRows: z.number().int().nonnegative(),
  comment: z.string(),
  header: z.boolean(),
  dateFormat: z.string().nullable(),
  timestampFormat: z.string().nullable(),
});
export type CsvDialect = z.infer<typeof csvDialectSchema>;

export const datasetManifestSchema = z.strictObject({
  kind: z.literal('sluice.dataset'),
  /** The dataset version: SHA-256 of the raw bytes. */
  version: sha256Schema,
  /** The name it was first ingested under; later names are in their own histories. */
  name: datasetNameSchema,
  /** Where the bytes came from (URL credentials removed). */
  source: z.string(),
  format: z.enum(DATASET_FORMATS),
  sizeBytes: z.number().int().positive(),
  rowCount: z.number().int().positive(),
  schema: z.array(datasetColumnSchema).min(1),
  csv: csvDialectSchema.optional(),
  /** Key of the raw bytes in the datasets bucket. */
  sourceKey: z.string(),
  ingestedAt: z.iso.datetime(),
});
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;

export const datasetHistorySchema = z.strictObject({
  kind: z.literal('sluice.dataset-history'),
  name: datasetNameSchema,
  /** Oldest first, in order of first ingestion under this name; re-ingesting a listed version changes nothing. */
  versions: z.array(z.strictObject({ version: sha256Schema, ingestedAt: z.iso.datetime(), rowCount: z.number().int(), source: z.string() })),
});
export type DatasetHistory = z.infer<typeof datasetHistorySchema>;

export const ingestResultSchema = z.strictObject({
  datasetVersion: sha256Schema,
  datasetName: datasetNameSchema,
  manifestKey: z.string(),
  sourceKey: z.string(),
  format: z.enum(DATASET_FORMATS),
  rows: z.number().int(),
  bytes: z.number().int(),
  schema: z.array(datasetColumnSchema),
  /** True when this content was already stored: nothing new was written for it. */
  reused: z.boolean(),
  /** The version listed before this one in the name's history, if any. */
  previousVersion: sha256Schema.nullable(),
});
export type IngestResult = z.infer<typeof ingestResultSchema>;
