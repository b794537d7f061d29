import type { PredictRequest } from '../../shared/api/predict.ts';
import { ApiError } from '../errors.ts';

/**
 * A request's events as the predict handler serves them, whichever route's body they came in: the
 * request in the predict route's shapes, where each shape sat in the body (so an error names the
 * caller's own key, `events[2].distance` or `dataframe_split.data[2][1]`), and which answer shape
 * the caller expects.
 */
export interface EventBatch {
  request: PredictRequest;
  at: { events: string; columns: string; data: string };
  answer: 'predict' | 'invocations';
}

export const PREDICT_PLACES: EventBatch['at'] = { events: 'events', columns: 'columns', data: 'data' };

/** Refuses a batch longer than the configured limit before it is parsed further, naming where it sits (`events`, `dataframe_records`, ...). */
export function checkBatchSize(rows: unknown, maxBatch: number, field: string): void {
  if (Array.isArray(rows) && rows.length > maxBatch) throw new ApiError('BatchTooLarge', `a batch holds at most ${maxBatch} events; this one has ${rows.length}`, { field });
}
