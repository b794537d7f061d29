import { predictResponseSchema } from '../../shared/api/predict.ts';
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
  model: string;
}

async function post(target: ReplayTarget, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${target.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new ReplayRequestError(`POST ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

/**
 * Sends the events to `POST /v1/models/:name/predict` in batches (a few requests in flight, as a
 * busy client would), then what happened to each flight to `POST /v1/feedback`, keyed by the
 * request id and event index each answer carried.
 */
export async function replay(target: ReplayTarget, events: readonly ReplayEvent[], options: { batch: number; concurrency: number; labelsPerRequest: number }): Promise<{ requests: number; scored: number; labelled: number }> {
  const labels: { requestId: string; eventIndex: number; label: boolean }[] = [];
  let next = 0;
  let requests = 0;
  const sender = async () => {
    while (next < events.length) {
      const chunk = events.slice(next, next + options.batch);
      next += chunk.length;
      const answer = predictResponseSchema.parse(await post(target, `/v1/models/${encodeURIComponent(target.model)}/predict`, { events: chunk.map((e) => e.event) }));
      requests++;
      if (answer.predictions?.length !== chunk.length) throw new ReplayRequestError(`predict answered ${answer.predictions?.length ?? 0} predictions for ${chunk.length} events`);
      chunk.forEach((e, eventIndex) => labels.push({ requestId: answer.requestId, eventIndex, label: e.delayed }));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, sender));
  for (let i = 0; i < labels.length; i += options.labelsPerRequest) await post(target, '/v1/feedback', { labels: labels.slice(i, i + options.labelsPerRequest) });
  return { requests, scored: labels.length, labelled: labels.length };
}
