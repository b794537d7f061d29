import type { IncomingMessage, ServerResponse } from 'node:http';
import { type PredictRequest, type RawEvent, predictRequestSchema } from '../../shared/api/predict.ts';
import type { ApiScope } from '../../shared/api/key-scopes.ts';
import type { Logger } from '../../shared/logger.ts';
import type { KeyRing } from '../auth/key-ring.ts';
import { FeatureInputError } from '../features/feature-assembler.ts';
import { ApiError, asApiError } from '../errors.ts';
import type { CorsPolicy } from '../http/cors.ts';
import { checkJsonContentType, parseJson, readBody } from '../http/read-json-body.ts';
import { type InFlight, RequestLifecycle } from '../http/request-lifecycle.ts';
import { sendPrediction } from '../http/respond.ts';
import type { ApiMetrics } from '../metrics/api-metrics.ts';
import type { PredictionLog } from '../prediction-log/prediction-log.ts';
import type { Arrivals } from '../scoring/micro-batcher.ts';
import type { ModelRuntime } from '../scoring/model-runtime.ts';
import { type ServingConfigPoller, servedRoutes } from '../serving/config-poller.ts';
import { chooseRoute, shadowFor } from '../serving/routing.ts';
import { type EventBatch, PREDICT_PLACES, checkBatchSize } from './event-batch.ts';
import { invalidRequest, isPlainPredictRequest } from './event-schema.ts';
import { invocationBatch } from './invocation-request.ts';
import type { ShadowScorer } from './shadow-scorer.ts';

export interface PredictDeps {
  serving: ServingConfigPoller;
  keys: KeyRing;
  cors: CorsPolicy;
  predictionLog: PredictionLog;
  shadow: ShadowScorer;
  metrics: ApiMetrics;
  logger: Logger;
  limits: { maxBodyBytes: number; maxBatch: number; requestTimeoutMs: number };
  arrivals: Arrivals;
}

const PREDICT: readonly ApiScope[] = ['predict'];

const PREDICT_PATH = /^\/v1\/models\/([^/?#]+)\/(predict|invocations)(?:\?.*)?$/;

/** A URL the lean handler serves: the model, and whether the body is sluice's or MLflow's. */
export interface PredictTarget {
  model: string;
  shape: EventBatch['answer'];
}

/** The model and body shape of a predict (or MLflow invocations) URL, or undefined when the URL is not one. */
export function predictTarget(url: string | undefined): PredictTarget | undefined {
  const match = url === undefined ? null : PREDICT_PATH.exec(url);
  if (!match) return undefined;
  const shape = match[2] as EventBatch['answer'];
  try {
    return { model: decodeURIComponent(match[1] as string), shape };
  } catch {
    return { model: match[1] as string, shape };
  }
}

/** Where a field of event `index` sits in the request, for an error that names it. */
function fieldOf({ request, at }: EventBatch, index: number, field: string): string {
  if (request.event !== undefined) return `event.${field}`;
  if (request.columns !== undefined) return `${at.data}[${index}][${request.columns.indexOf(field)}]`;
  return `${at.events}[${index}].${field}`;
}

/** The model inputs of the events, with a value the features cannot read refused as the caller's error. */
async function assembleFeatures(runtime: ModelRuntime, events: readonly RawEvent[], batch: EventBatch) {
  try {
    return await runtime.assembler.assemble(events);
  } catch (err) {
    if (!(err instanceof FeatureInputError)) throw err;
    const field = fieldOf(batch, err.index, err.field);
    throw new ApiError('InvalidRequest', `${field}: ${err.problem}`, { field });
  }
}

/**
 * `POST /v1/models/{name}/predict`, written against node:http rather than Express: it is the route
 * that carries the traffic, and Express's per-request work (router, middleware chain, res helpers)
 * costs more than scoring a small model does. It keeps the same contract as every other route: the
 * same key ring, CORS policy, body reader and request lifecycle (id, deadline, error body, counts).
 *
 * Per request: identify, authorize (scope + rate), read and parse the body, check the envelope,
 * route to a version, validate each event against that version's schema, assemble features, score
 * through the micro-batcher, answer, then log (and shadow-score) off the answer's path.
 */
export class PredictHandler {
  private readonly lifecycle: RequestLifecycle;
  private readonly requestEvents;

  constructor(private readonly deps: PredictDeps) {
    this.requestEvents = deps.metrics.requestEvents.with();
    this.lifecycle = new RequestLifecycle({ metrics: deps.metrics, logger: deps.logger, requestTimeoutMs: deps.limits.requestTimeoutMs, routeOf: () => 'predict' });
  }

  handle(req: IncomingMessage, res: ServerResponse, { model, shape }: PredictTarget): void {
    const started = performance.now();
    const at = Date.now();
    const entry = this.lifecycle.begin(req, res);
    this.deps.cors.apply(req, res);
    this.serve(entry, model, shape, at, started)
      .catch((err: unknown) => this.lifecycle.fail(entry, err))
      .finally(() => this.lifecycle.end(entry));
  }

  private async serve(entry: InFlight, model: string, shape: EventBatch['answer'], at: number, started: number): Promise<void> {
    const { req, res, requestId } = entry;
    if (entry.problem) throw entry.problem;
    // The key's predict scope on this model: after the first request naming it, a Map lookup (api/auth/key-grants.ts).
    this.deps.keys.authorize(req, PREDICT, model);
    checkJsonContentType(req);
    let body: unknown;
    this.deps.arrivals.begin();
    try {
      body = parseJson(await readBody(req, this.deps.limits.maxBodyBytes));
    } finally {
      this.deps.arrivals.end();
    }
    const batch = shape === 'invocations' ? invocationBatch(body, this.deps.limits.maxBatch) : { request: this.parseEnvelope(body), at: PREDICT_PLACES, answer: shape };
    const { request } = batch;
    const routes = servedRoutes(this.deps.serving, model);
    const { runtime, route } = chooseRoute(model, routes, request.routingKey);
    const shadow = shadowFor(model, routes, request.routingKey);
    // Held from routing to answer, so a config swap cannot free a version a request is using.
    runtime.acquire();
    shadow?.acquire();
    let shadowEvents: readonly RawEvent[] | undefined;
    // A 5xx after routing is the chosen version's failure (a caller's 4xx is not): logged for the rollout judge's error rate.
    let failure: string | undefined;
    try {
      const events = this.validateEvents(runtime, batch);
      const features = await assembleFeatures(runtime, events, batch);
      const scores = await runtime.score(features);
      if (res.writableEnded) {
        failure = 'Timeout'; // the sweeper answered 503 while this version worked
        return;
      }
      this.answer(entry, model, runtime, scores, batch.answer === 'invocations' ? 'invocations' : request.event !== undefined ? 'single' : 'batch', events.length);
      const latencyMs = performance.now() - started;
      runtime.latency.observe(latencyMs / 1000);
      runtime.predictions[route].inc(events.length);
      this.requestEvents.observe(events.length);
      this.deps.predictionLog.record(runtime, { requestId, routingKey: request.routingKey, at, route, latencyMs, features, scores });
      shadowEvents = events;
    } catch (err) {
      const apiError = asApiError(err);
      if (apiError.status >= 500 && !res.writableEnded) failure = apiError.code;
      throw err;
    } finally {
      if (failure !== undefined) this.deps.predictionLog.recordFailure(runtime, { requestId, routingKey: request.routingKey, at, route, events: request.events?.length ?? request.data?.length ?? 1, error: failure, latencyMs: performance.now() - started });
      runtime.done();
      if (shadow) {
        if (shadowEvents) this.deps.shadow.submit({ runtime: shadow, events: shadowEvents, requestId, routingKey: request.routingKey, at });
        else shadow.done();
      }
    }
  }

  private parseEnvelope(body: unknown): PredictRequest {
    for (const key of ['events', 'data'] as const) checkBatchSize((body as Record<string, unknown> | null)?.[key], this.deps.limits.maxBatch, key);
    if (isPlainPredictRequest(body)) return body;
    const parsed = predictRequestSchema.safeParse(body);
    if (!parsed.success) throw invalidRequest(parsed.error, '');
    return parsed.data;
  }

  private validateEvents(runtime: ModelRuntime, { request, at }: EventBatch): RawEvent[] {
    if (request.event !== undefined) return [runtime.events.check(request.event, 'event')];
    if (request.columns !== undefined) return runtime.events.checkColumns(request.columns, request.data ?? [], at);
    const raw = request.events ?? [];
    const events = new Array<RawEvent>(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const event = raw[i];
      events[i] = runtime.events.accepts(event) ? event : runtime.events.check(event, `${at.events}[${i}]`);
    }
    return events;
  }

  /**
   * The answer's JSON, built directly: the shape is fixed and this runs for every event served.
   * MLflow's answer is `predictions` alone (its clients read that key); the request id is in the header.
   */
  private answer(entry: InFlight, model: string, runtime: ModelRuntime, outputs: Float32Array, shape: 'single' | 'batch' | 'invocations', events: number): void {
    const { res, requestId } = entry;
    const prediction = runtime.predictionJson;
    let body = shape === 'invocations' ? '{' : `{"requestId":${JSON.stringify(requestId)},"model":${JSON.stringify(model)},`;
    if (shape === 'single') body += `"prediction":${prediction(outputs, 0)}}`;
    else {
      const parts = new Array<string>(events);
      for (let i = 0; i < events; i++) parts[i] = prediction(outputs, i);
      body += `"predictions":[${parts.join(',')}]}`;
    }
    sendPrediction(res, body, requestId);
    this.lifecycle.answered(entry, 200);
  }

  close(): void {
    this.lifecycle.close();
  }
}
