import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../errors.ts';

export const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestIdentity {
  requestId: string;
  /** Set when the client sent an X-Request-Id that cannot be used; the request is refused with it. */
  problem: ApiError | undefined;
}

/**
 * A client may name its request (X-Request-Id) so it can send feedback for it by its own id;
 * otherwise the API makes one. A malformed id is refused rather than replaced, because a silently
 * different id would break the client's later feedback join.
 */
export function requestIdentity(req: IncomingMessage): RequestIdentity {
  const given = req.headers['x-request-id'];
  if (given === undefined) return { requestId: randomUUID(), problem: undefined };
  if (typeof given === 'string' && VALID_REQUEST_ID.test(given)) return { requestId: given, problem: undefined };
  return {
    requestId: randomUUID(),
    problem: new ApiError('InvalidRequest', 'X-Request-Id must be 1-128 characters of letters, digits and ._:-', { field: 'headers.x-request-id' }),
  };
}
