import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.ts';
import { type ApiError, asApiError, deadlineError } from '../errors.ts';
import type { ApiMetrics } from '../metrics/api-metrics.ts';
import type { CounterChild } from '../metrics/exposition.ts';
import { sendError } from './respond.ts';
import { requestIdentity } from './request-id.ts';

/** One request between `begin` and `end`. */
export interface InFlight {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** Set when the client sent an X-Request-Id that cannot be used; the request is refused with it. */
  readonly problem: ApiError | undefined;
  /** `performance.now()` past which the request is answered with `deadlineError`. */
  readonly deadline: number;
  /** Whether `answered` or `fail` has counted it, so it is counted once. */
  counted: boolean;
}

export interface LifecycleDeps {
  metrics: ApiMetrics;
  logger: Logger;
  requestTimeoutMs: number;
  /** The route label of metrics: a constant on the predict path, the matched Express route elsewhere. */
  routeOf: (req: IncomingMessage) => string;
}

/**
 * What happens to every API request around its handler, on the lean predict path and in the Express
 * app alike: it gets an id (the client's X-Request-Id or a new one), a deadline (503, or 408 while
 * the body is still arriving), and it ends either answered or with the JSON error body of whatever
 * was thrown, logged and counted. Deadlines are checked by one coarse timer rather than a timer per
 * request, and counters are bound once per route and status, so the lean path pays for no timer,
 * closure or label object per request.
 */
export class RequestLifecycle {
  private readonly inFlight = new Set<InFlight>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly counters = new Map<string, Map<number, CounterChild>>();

  constructor(private readonly deps: LifecycleDeps) {
    this.sweeper = setInterval(() => this.expire(), Math.min(250, deps.requestTimeoutMs));
    this.sweeper.unref();
  }

  /** Starts watching a request; `end` must follow once it is answered or abandoned. */
  begin(req: IncomingMessage, res: ServerResponse): InFlight {
    const { requestId, problem } = requestIdentity(req);
    const entry: InFlight = { req, res, requestId, problem, deadline: performance.now() + this.deps.requestTimeoutMs, counted: false };
    this.inFlight.add(entry);
    return entry;
  }

  end(entry: InFlight): void {
    this.inFlight.delete(entry);
  }

  /** Counts the request's answer once, by route and status. */
  answered(entry: InFlight, status: number): void {
    if (entry.counted) return;
    entry.counted = true;
    const route = this.deps.routeOf(entry.req);
    let byStatus = this.counters.get(route);
    if (!byStatus) this.counters.set(route, (byStatus = new Map<number, CounterChild>()));
    let counter = byStatus.get(status);
    if (!counter) byStatus.set(status, (counter = this.deps.metrics.requests.with({ route, status: String(status) })));
    counter.inc();
  }

  /** Answers with the error body of `err` (unless the request is already answered), logs and counts it. No stack trace leaves the server. */
  fail(entry: InFlight, err: unknown): void {
    const apiError = asApiError(err);
    const { req, res, requestId } = entry;
    const path = req.url?.split('?', 1)[0];
    if (apiError.code === 'Internal') this.deps.logger.error('request failed', { requestId, method: req.method, path, error: (err as Error).message, stack: (err as Error).stack });
    else this.deps.logger.debug('request refused', { requestId, method: req.method, path, code: apiError.code, message: apiError.message });
    if (res.headersSent) return;
    sendError(res, apiError, requestId);
    this.answered(entry, apiError.status);
    this.deps.metrics.errors.with({ route: this.deps.routeOf(req), code: apiError.code }).inc();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private expire(): void {
    const now = performance.now();
    for (const entry of this.inFlight) {
      if (entry.deadline > now || entry.res.writableEnded) continue;
      this.inFlight.delete(entry);
      this.fail(entry, deadlineError(entry.req, this.deps.requestTimeoutMs));
    }
  }
}
