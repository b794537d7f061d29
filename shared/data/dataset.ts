import { z } from 'zod';
import { datasetContractSchema } from './dataset-contract.ts';
import { sha256Schema } from './sha256.ts';

/**
 * Raw datasets: content-addressed (the version is the SHA-256 of the bytes as ingested), each with a
 * manifest that says what the bytes are and how to read them again with the same types, and a
 * per-name history so "the previous version of this dataset" has an answer.
 */

export { sha256Schema };

export const datasetNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'expected a dataset name of lowercase letters, digits, dots, hyphens and underscores');

export const DATASET_FORMATS = ['parquet', 'csv'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** Every Parquet or CSV file at any depth under the source. */
export const DEFAULT_PARTITION_GLOB = '**/*.{parquet,pq,csv,tsv,txt}';

export const partitionGlobSchema = z
  .string()
  .min(1, 'expected a glob such as date=*/*.parquet')
  .max(500)
  .refine((glob) => !glob.startsWith('/') && !glob.split('/').includes('..'), 'expected a glob relative to the source folder (no leading / and no ..)');

/** Why `partitions` cannot apply to `source` (undefined when it can, or when it is not given). */
export function partitionedSourceProblem(source: string, partitions: string | undefined): string | undefined {
  if (partitions === undefined) return undefined;
  if (/^https?:\/\//i.test(source)) return `a partitioned source must be a local directory or an s3://bucket/prefix/, not an http(s) URL (${source})`;
  if (/^s3:\/\/[^/]+\/?$/.test(source)) return undefined;
  if (source.startsWith('s3://') && !source.endsWith('/')) return `with partitions, an s3:// source names a prefix and must end in / (${source}/)`;
  return undefined;
}

export const ingestInputSchema = z.strictObject({
  datasetName: datasetNameSchema,
  /** A local path, an http(s) URL, or s3://bucket/key in sluice's object store. */
  source: z.string().min(1, 'expected a path, URL or s3:// URI'),
  /** Overrides detection from the file's content and extension. */
  format: z.enum(DATASET_FORMATS).optional(),
  /** When set, the content must hash to this version, or nothing is stored (a pipeline run is named after it). */
  expectedVersion: sha256Schema.optional(),
  /**
   * A glob over paths relative to a partitioned source (a local directory, or `s3://bucket/prefix/`),
   * e.g. `date=*\/*.parquet`. A directory or a prefix ending in `/` is partitioned without it too,
   * with `DEFAULT_PARTITION_GLOB`.
   */
  partitions: partitionGlobSchema.optional(),
  /**
   * For a partitioned source: the contract whose value checks (range, allowed_values, null_rate,
   * not_in_future, timestamp_range) each new partition must pass on its own before anything is stored.
   */
  contract: datasetContractSchema.optional(),
}).superRefine((input, ctx) => {
  const problem = partitionedSourceProblem(input.source, input.partitions);
  if (problem) ctx.addIssue({ code: 'custom', path: ['partitions'], message: problem });
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

/**
 * One file of a partitioned dataset, stored once by its content hash whatever its path.
 * `stamp` is what a later ingest of the same source trusts instead of re-reading the file: the local
 * file's mtime (`mtime:<ms>`) or the S3 object's ETag (`etag:<etag>`), with the same path and size.
 */
export const datasetPartitionSchema = z.strictObject({
  /** Relative to the source folder, with / separators. */
  path: z.string().min(1),
  sha256: sha256Schema,
  sizeBytes: z.number().int().positive(),
  rowCount: z.number().int().positive(),
  stamp: z.string(),
  /** Key of the bytes in the datasets bucket (`datasetKeys.partition`). */
  key: z.string(),
});
export type DatasetPartition = z.infer<typeof datasetPartitionSchema>;

export const datasetManifestSchema = z.strictObject({
  kind: z.literal('sluice.dataset'),
  /**
   * The dataset version: SHA-256 of the raw bytes; for a partitioned source, SHA-256 of its distinct
   * partitions' content hashes, sorted and joined by newlines (`partitionedVersion`).
   */
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
  /** Key of the raw bytes in the datasets bucket; absent for a partitioned source (see `partitions`). */
  sourceKey: z.string().optional(),
  ingestedAt: z.iso.datetime(),
  /** The glob a partitioned source was listed with; absent for a single file. */
  partitionGlob: z.string().optional(),
  /** The files of a partitioned dataset, sorted by path; every later stage reads all of them, in this order. */
  partitions: z.array(datasetPartitionSchema).min(1).optional(),
  /** Files whose bytes equal an earlier partition's: stored and read once (listed here, not in `partitions`). */
  duplicates: z.array(z.strictObject({ path: z.string(), sameAs: z.string() })).optional(),
}).refine((m) => (m.sourceKey === undefined) !== (m.partitions === undefined), 'a dataset manifest has either sourceKey (one file) or partitions');
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;

/**
 * What the last ingest of a partitioned source saw (key: `datasetKeys.latestOfSource`): a file listed
 * again with the same path, size and stamp is taken to have the same bytes and is not read again.
 * Written only after a successful ingest, so it always describes the newest good version of the source.
 */
export const partitionedSourceStateSchema = z.strictObject({
  kind: z.literal('sluice.partitioned-source'),
  source: z.string(),
  glob: z.string(),
  version: sha256Schema,
  format: z.enum(DATASET_FORMATS),
  partitions: z.array(datasetPartitionSchema),
});
export type PartitionedSourceState = z.infer<typeof partitionedSourceStateSchema>;

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
  /** Null for a partitioned source, whose files are listed in the manifest. */
  sourceKey: z.string().nullable(),
  format: z.enum(DATASET_FORMATS),
  rows: z.number().int(),
  bytes: z.number().int(),
  schema: z.array(datasetColumnSchema),
  /** True when this content was already stored: nothing new was written for it. */
  reused: z.boolean(),
  /** The version listed before this one in the name's history, if any. */
  previousVersion: sha256Schema.nullable(),
  /** For a partitioned source: partitions in the version, uploaded by this ingest, already stored, read (not trusted from the previous manifest), and duplicates skipped. */
  partitions: z
    .strictObject({ total: z.number().int(), uploaded: z.number().int(), alreadyStored: z.number().int(), read: z.number().int(), duplicates: z.number().int() })
    .optional(),
});
export type IngestResult = z.infer<typeof ingestResultSchema>;
