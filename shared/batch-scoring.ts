import { z } from 'zod';

/**
 * Batch scoring: a Parquet dataset scored by a registered model version in chunks, each chunk an
 * activity on the scoring task queue writing its own output object (so a retried chunk rewrites the
 * same key and a finished one is skipped).
 */

export const objectRefSchema = z.strictObject({ bucket: z.string().min(1), key: z.string().min(1) });
export type ObjectRef = z.infer<typeof objectRefSchema>;

export const batchScoringInputSchema = z.strictObject({
  /** Names the job and its output prefix; the workflow id should be derived from it. */
  jobId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected a job id of letters, digits, dot, underscore or hyphen'),
  model: z.string(),
  version: z.number().int().positive(),
  input: objectRefSchema,
  /**
   * `features`: the input holds the model's feature columns. `events`: it holds raw events (the fields
   * a predict request carries), and the workflow computes their features first through the shared
   * online definitions, as the API would from the newest online snapshot.
   */
  inputKind: z.enum(['features', 'events']).default('features'),
  /** Where the parts go: `<prefix>part-00000.parquet`...; defaults to the predictions bucket under `batch/<jobId>/`. */
  output: z.strictObject({ bucket: z.string().min(1), prefix: z.string() }).optional(),
  chunkRows: z.number().int().positive().default(250_000),
  concurrency: z.number().int().positive().max(64).default(4),
});
export type BatchScoringInput = z.input<typeof batchScoringInputSchema>;

export const chunkSchema = z.strictObject({ index: z.number().int().nonnegative(), offset: z.number().int().nonnegative(), rows: z.number().int().positive() });
export type Chunk = z.infer<typeof chunkSchema>;

export const chunkResultSchema = z.strictObject({
  index: z.number().int(),
  key: z.string(),
  rows: z.number().int(),
  /** True when the part already existed (a retry or a re-run of the job) and was not scored again. */
  skipped: z.boolean(),
  provider: z.string(),
  seconds: z.number(),
});
export type ChunkResult = z.infer<typeof chunkResultSchema>;

export const batchScoringResultSchema = z.strictObject({
  jobId: z.string(),
  model: z.string(),
  version: z.number().int(),
  rows: z.number().int(),
  output: z.strictObject({ bucket: z.string(), prefix: z.string(), keys: z.array(z.string()) }),
  providers: z.array(z.string()),
  manifestKey: z.string(),
  /** Raw-events input: where its features were written, and the online snapshot they were read from. */
  featurized: z.strictObject({ key: z.string(), rows: z.number().int(), snapshotKey: z.string().nullable(), asOf: z.string() }).optional(),
});
export type BatchScoringResult = z.infer<typeof batchScoringResultSchema>;

export const batchScoringKeys = {
  prefix: (jobId: string) => `batch/${jobId}/`,
  part: (prefix: string, index: number) => `${prefix}part-${String(index).padStart(5, '0')}.parquet`,
  manifest: (prefix: string) => `${prefix}_manifest.json`,
  /** A raw-events input's feature columns, computed before scoring. */
  features: (prefix: string) => `${prefix}_features.parquet`,
} as const;

/** Chunks of `chunkRows` rows covering `rows` rows. */
export function planChunks(rows: number, chunkRows: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (let offset = 0, index = 0; offset < rows; offset += chunkRows, index++) chunks.push({ index, offset, rows: Math.min(chunkRows, rows - offset) });
  return chunks;
}
