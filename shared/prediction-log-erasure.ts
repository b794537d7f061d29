import { z } from 'zod';
import { routingKeySchema } from './api/predict.ts';
import { durationSchema } from './duration.ts';
import { COMPACTION_CLOSED_AFTER } from './prediction-log-compaction.ts';
import { modelNameSchema } from './registry.ts';

/**
 * Erasure of a subject's rows from a model's prediction log and from the feedback labels that name
 * the same requests (`eraseLoggedRows`, started by `sluice erase`).
 *
 * Concurrency: an hour's files are only rewritten once the hour is closed (the API writes no more
 * files for it, see shared/prediction-log-compaction.ts), and an erasure first compacts the hour so
 * each version's rows sit in one compacted file, then replaces that file only if it is still the one
 * it read (a conditional write on its etag). A compaction racing it writes its compacted file on the
 * same condition, so whichever comes second loses and redoes its work on what the first wrote:
 * neither can put erased rows back. Hours still open when the erasure starts are erased by a second
 * pass once they have closed (a durable timer in the workflow), so rows still buffered in the API or
 * uploading when it was asked for are erased too.
 */

const hourSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/, 'expected an hour partition such as 2026-01-01T13');
const requestIdSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected a request id (1-128 of A-Za-z0-9._:-)');

/** Which rows: every row of these requests, and every row logged with these routing keys. */
export const erasureMatchSchema = z
  .strictObject({
    requestIds: z.array(requestIdSchema).max(10_000).default([]),
    routingKeys: z.array(routingKeySchema).max(10_000).default([]),
  })
  .refine((m) => m.requestIds.length + m.routingKeys.length > 0, 'expected at least one request id or routing key');
export type ErasureMatch = z.output<typeof erasureMatchSchema>;

export const eraseLoggedRowsInputSchema = z.strictObject({
  model: modelNameSchema,
  match: erasureMatchSchema,
  requestedBy: z.string().min(1).max(200),
  reason: z.string().max(2000).default(''),
  /** When an hour counts as closed: as the compaction's (5 minutes after its end). */
  closedAfter: durationSchema.default(COMPACTION_CLOSED_AFTER),
  /** false: erase the closed hours only and list the open ones in the record as not erased (for tests and urgent partial erasures). */
  waitForOpenHours: z.boolean().default(true),
});
export type EraseLoggedRowsInput = z.input<typeof eraseLoggedRowsInputSchema>;

/** One pass of the erasure over a model's log: the hours in (after, through]. */
export const eraseLogHoursInputSchema = z.strictObject({
  model: modelNameSchema,
  match: erasureMatchSchema,
  through: hourSchema,
  after: hourSchema.optional(),
});

/** One file the erasure rewrote (or removed, when none of its rows was left). */
export const erasedFileSchema = z.strictObject({
  key: z.string(),
  rowsBefore: z.number().int().nonnegative(),
  rowsErased: z.number().int().positive(),
  outcome: z.enum(['rewritten', 'removed']),
});
export type ErasedFile = z.infer<typeof erasedFileSchema>;

export const logErasureSchema = z.strictObject({
  hoursVisited: z.number().int().nonnegative(),
  files: z.array(erasedFileSchema),
  rowsErased: z.number().int().nonnegative(),
  /** The requests whose rows were erased: the feedback labels of exactly these are erased after. */
  requestIds: z.array(z.string()),
});
export type LogErasure = z.infer<typeof logErasureSchema>;

export const eraseFeedbackInputSchema = z.strictObject({ model: modelNameSchema, requestIds: z.array(requestIdSchema) });

export const feedbackErasureSchema = z.strictObject({
  filesVisited: z.number().int().nonnegative(),
  files: z.array(erasedFileSchema),
  rowsErased: z.number().int().nonnegative(),
});
export type FeedbackErasure = z.infer<typeof feedbackErasureSchema>;

/**
 * What an erasure did, in the reports bucket (`erasureKeys.record`). The identifiers asked for are
 * kept only as SHA-256 digests: the record proves a given key was erased (hash it and look) without
 * holding the identifier the erasure removed everywhere else.
 */
export const erasureRecordSchema = z.strictObject({
  kind: z.literal('sluice.erasure'),
  erasureId: z.string(),
  model: modelNameSchema,
  requestedBy: z.string(),
  reason: z.string(),
  requestedAt: z.iso.datetime(),
  completedAt: z.iso.datetime(),
  match: z.strictObject({ requestIdSha256: z.array(z.string()), routingKeySha256: z.array(z.string()) }),
  predictionLog: z.strictObject({ hoursVisited: z.number().int().nonnegative(), rowsErased: z.number().int().nonnegative(), requests: z.number().int().nonnegative(), files: z.array(erasedFileSchema) }),
  feedback: feedbackErasureSchema,
  /** Hours that were still open and not erased (only with `waitForOpenHours: false`): run the erasure again once they have closed. */
  openHoursNotErased: z.array(hourSchema),
});
export type ErasureRecord = z.infer<typeof erasureRecordSchema>;

export const writeErasureRecordInputSchema = erasureRecordSchema.omit({ kind: true, completedAt: true, match: true }).extend({ match: erasureMatchSchema });

export const eraseWorkflowId = (model: string, suffix: string) => `erase-${model}-${suffix}`;

const HOUR_MS = 3_600_000;
const hourOf = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 13);

/**
 * At `nowMs`, the newest closed hour (ended at least `closedAfterMs` ago, as the compaction counts
 * it), the hours after it up to the current one (open: the API may still write them), and when the
 * last of those closes.
 */
export function erasureHours(nowMs: number, closedAfterMs: number): { lastClosed: string; openHours: string[]; openClosesAtMs: number } {
  const lastClosedStart = Math.floor((nowMs - closedAfterMs) / HOUR_MS) * HOUR_MS - HOUR_MS;
  const currentStart = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const openHours: string[] = [];
  for (let t = lastClosedStart + HOUR_MS; t <= currentStart; t += HOUR_MS) openHours.push(hourOf(t));
  return { lastClosed: hourOf(lastClosedStart), openHours, openClosesAtMs: currentStart + HOUR_MS + closedAfterMs };
}
