import type { IncomingMessage } from 'node:http';
import type { ApiErrorCode } from '../shared/api/errors.ts';
import { SluiceError, ruleOf } from '../shared/errors.ts';

/** The one table from error code to HTTP status; a new code fails to compile until it has a status. */
export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  InvalidJson: 400,
  InvalidRequest: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  RouteNotFound: 404,
  UnknownModel: 404,
  PipelineNotFound: 404,
  DeploymentNotFound: 404,
  MethodNotAllowed: 405,
  ApprovalRefused: 409,
  DeploymentRefused: 409,
  RetrainingRefused: 409,
  RequestTimeout: 408,
  PayloadTooLarge: 413,
  BatchTooLarge: 413,
  UnsupportedMediaType: 415,
  RateLimited: 429,
  Internal: 500,
  ModelNotReady: 503,
  ServingNotReady: 503,
  TemporalUnavailable: 503,
  Timeout: 503,
  StorageUnavailable: 503,
};

export interface ApiErrorOptions {
  /** The request field at fault, e.g. `events[2].distance`. */
  field?: string;
  cause?: unknown;
  /** Seconds, for 429 and 503 answers. */
  retryAfterSeconds?: number;
  /** Close the connection after answering: the rest of the body was not read. */
  closeConnection?: boolean;
  /** The methods the path serves, for a 405's Allow header. */
  allow?: readonly string[];
}

/**
 * The answer for a request still unanswered at its deadline: a body that has not fully arrived is the
 * caller's slowness (408, and the connection is closed since the rest of the body was never read);
 * otherwise the server is waiting on something behind it (503).
 */
export function deadlineError(req: IncomingMessage, timeoutMs: number): ApiError {
  if (!req.complete) return new ApiError('RequestTimeout', `the request body did not arrive within ${timeoutMs} ms (SLUICE_API_REQUEST_TIMEOUT_MS)`, { field: 'body', closeConnection: true });
  return new ApiError('Timeout', `no answer within ${timeoutMs} ms (SLUICE_API_REQUEST_TIMEOUT_MS)`, { retryAfterSeconds: 1, closeConnection: true });
}

/**
 * An error the API answers with as it is: its message is written for the caller. Anything else that
 * reaches the error handler becomes `Internal` with a generic message, and its details go only to the
 * server log.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly field: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly closeConnection: boolean;
  readonly allow: readonly string[] | undefined;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.closeConnection = options.closeConnection ?? false;
    this.allow = options.allow;
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }
}

/** How a route words an error for its caller: the request field at fault, a message with the route's advice. */
export interface ApiWording {
  field?: string;
  message?: string;
}

/**
 * The answer for a SluiceError of a kind the API has a code for (`ERROR_KINDS` in shared/errors.ts),
 * in the route's words; undefined for any other error, which stays the route's to answer.
 */
export function kindApiError(err: unknown, wording: ApiWording = {}): ApiError | undefined {
  const code = err instanceof SluiceError ? ruleOf(err.kind).api : undefined;
  if (code === undefined) return undefined;
  return new ApiError(code, wording.message ?? (err as Error).message, { cause: err, ...(wording.field === undefined ? {} : { field: wording.field }) });
}

export const INTERNAL_MESSAGE = 'internal error; the server log has the details under this request id';

export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError('Internal', INTERNAL_MESSAGE, { cause: err });
}
