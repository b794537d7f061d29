import { type BinaryPrediction, binaryPredictionSchema, predictResponseSchema } from '../../shared/api/predict.ts';
import type { ReplayEvent } from './flights-data.ts';

/** An HTTP answer the replay did not expect: the route, the status and the API's own error body. */
export class ReplayRequestError extends Error {
  override readonly name = 'ReplayRequestError';
}

export interface ReplayTarget {
  /** Base URL of the prediction API. */
  url: string;
  /** A key with the predict and feedback scopes. */
  key: string;
}

export interface PendingLabel {
  requestId: string;
  eventIndex: number;
  label: boolean;
  /** Replayed instant the outcome becomes known. */
  knownAtMs: number;
}

async function post(target: ReplayTarget, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${target.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new ReplayRequestError(`POST ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

/** One request to `POST /v1/models/:name/predict` with the events, answered in order (the replay serves binary models). */
export async function predict(target: ReplayTarget, model: string, events: readonly ReplayEvent[]): Promise<{ requestId: string; predictions: BinaryPrediction[] }> {
  const answer = predictResponseSchema.parse(await post(target, `/v1/models/${encodeURIComponent(model)}/predict`, { events: events.map((e) => e.event) }));
  if (answer.predictions?.length !== events.length) throw new ReplayRequestError(`predict answered ${answer.predictions?.length ?? 0} predictions for ${events.length} events`);
  return { requestId: answer.requestId, predictions: answer.predictions.map((p) => binaryPredictionSchema.parse(p)) };
}

/** Outcomes to `POST /v1/feedback`, keyed by the request id and event index each prediction carried. */
export async function sendLabels(target: ReplayTarget, labels: readonly PendingLabel[], perRequest: number): Promise<void> {
  for (let i = 0; i < labels.length; i += perRequest) {
    await post(target, '/v1/feedback', { labels: labels.slice(i, i + perRequest).map(({ requestId, eventIndex, label }) => ({ requestId, eventIndex, label })) });
  }
}
