import { randomBytes } from 'node:crypto';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import type { FeedbackLabel } from '../../shared/api/feedback.ts';
import { feedbackKeys, hourPartition } from '../../shared/api/prediction-log.ts';

/**
 * Ground-truth labels, stored before the request is answered (a 2xx means they are in the bucket):
 * one JSON-lines object per request under `feedback/hour=…/`, in the prediction log's column names,
 * so DuckDB joins them to the Parquet log on (request_id, event_index).
 */
export class FeedbackStore {
  constructor(
    private readonly store: ArtifactStore,
    private readonly bucket: string,
  ) {}

  /** `model`: the model the labels were sent for, when they came through its own route. */
  async save(labels: readonly FeedbackLabel[], from: { keyId: string; requestId: string }, model?: string): Promise<string> {
    const now = Date.now();
    const receivedAt = new Date(now).toISOString();
    const lines = labels.map((l) =>
      JSON.stringify({
        request_id: l.requestId,
        event_index: l.eventIndex,
        label: l.label,
        observed_at: l.observedAt ?? receivedAt,
        received_at: receivedAt,
        received_from: from.keyId,
        feedback_request_id: from.requestId,
        ...(model === undefined ? {} : { model }),
      }),
    );
    const key = feedbackKeys.file(hourPartition(now), `${now}-${from.requestId}-${randomBytes(4).toString('hex')}`);
    await this.store.put(this.bucket, key, `${lines.join('\n')}\n`, { contentType: 'application/x-ndjson' });
    return key;
  }
}
