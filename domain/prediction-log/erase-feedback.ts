import { feedbackKeys } from '../../shared/api/prediction-log.ts';
import type { ErasedFile, FeedbackErasure } from '../../shared/prediction-log-erasure.ts';
import { type ArtifactStore, ObjectNotFoundError } from '../object-store/artifact-store.ts';

/**
 * Erasure of feedback labels: the JSON-lines files under `feedback/` (one per feedback request) lose
 * the lines of the erased requests. A line belongs to the model when it names it or names none (the
 * shared route; the judges read those for every model, see domain/monitoring/feedback-labels.ts).
 * Nobody else rewrites a feedback file, but the write is still conditional on what was read, and a
 * file left without lines is deleted.
 */

/** The file's text without the lines of `requestIds` that belong to `model`, and how many lines it had and lost. */
export function withoutRequests(text: string, requestIds: ReadonlySet<string>, model: string): { text: string; before: number; erased: number } {
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  const kept = lines.filter((line) => {
    const row = JSON.parse(line) as { request_id?: unknown; model?: unknown };
    const ours = row.model === undefined || row.model === null || row.model === model;
    return !(ours && typeof row.request_id === 'string' && requestIds.has(row.request_id));
  });
  return { text: kept.length > 0 ? `${kept.join('\n')}\n` : '', before: lines.length, erased: lines.length - kept.length };
}

/**
 * Erases the labels of `requestIds` from every feedback file. Labels arrive any time after their
 * prediction, so every file is read: an erasure is rare, and the feedback retention bounds how many
 * there are.
 */
export async function eraseFeedback(deps: { store: ArtifactStore; bucket: string; progress?: (detail: Record<string, unknown>) => void }, request: { model: string; requestIds: readonly string[] }): Promise<FeedbackErasure> {
  const { store, bucket } = deps;
  if (request.requestIds.length === 0) return { filesVisited: 0, files: [], rowsErased: 0 };
  const ids = new Set(request.requestIds);
  const objects = (await store.list(bucket, feedbackKeys.prefix)).filter((o) => o.key.endsWith('.jsonl'));
  const files: ErasedFile[] = [];
  for (const [i, object] of objects.entries()) {
    let body: Buffer;
    try {
      body = await store.get(bucket, object.key);
    } catch (err) {
      // Deleted since the listing (retention): nothing left to erase in it.
      if (err instanceof ObjectNotFoundError) continue;
      throw err;
    }
    const { text, before, erased } = withoutRequests(body.toString('utf8'), ids, request.model);
    if (erased === 0) continue;
    if (text.length === 0) {
      await store.remove(bucket, object.key);
      files.push({ key: object.key, rowsBefore: before, rowsErased: erased, outcome: 'removed' });
    } else {
      // Changed since the listing: PreconditionFailedError fails the activity and its retry reads it again.
      await store.put(bucket, object.key, text, { contentType: 'application/x-ndjson', onlyIf: { etag: object.etag } });
      files.push({ key: object.key, rowsBefore: before, rowsErased: erased, outcome: 'rewritten' });
    }
    if (i % 100 === 99) deps.progress?.({ stage: 'feedback', visited: i + 1, of: objects.length });
  }
  return { filesVisited: objects.length, files, rowsErased: files.reduce((s, f) => s + f.rowsErased, 0) };
}
