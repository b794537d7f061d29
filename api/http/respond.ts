import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ErrorBody } from '../../shared/api/errors.ts';
import type { ApiError } from '../errors.ts';

/**
 * Writes a JSON answer on a plain `ServerResponse`, so the lean predict route and the Express routes
 * (whose `res` is one) answer alike. `body` is already JSON text: the hot path builds it by hand.
 */
export function sendJson(res: ServerResponse, status: number, body: string, headers?: OutgoingHttpHeaders): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  if (headers) for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
  res.end(body);
}

/**
 * The predict route's 200: one `writeHead` with the headers as a flat list, the cheapest form node
 * offers, keeping headers set earlier on `res` (CORS, Connection).
 */
export function sendPrediction(res: ServerResponse, body: string, requestId: string): void {
  res.writeHead(200, ['Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(Buffer.byteLength(body)), 'X-Request-Id', requestId]);
  res.end(body);
}

export function errorBody(err: ApiError, requestId: string): ErrorBody {
  return { error: { code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }), requestId } };
}

/** Answers with the error body; a request already answered (e.g. by its timeout) is left as it is. */
export function sendError(res: ServerResponse, err: ApiError, requestId: string): void {
  if (res.headersSent) return;
  const headers: OutgoingHttpHeaders = { 'X-Request-Id': requestId };
  if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
  if (err.closeConnection) headers.Connection = 'close';
  if (err.allow !== undefined) headers.Allow = err.allow.join(', ');
  sendJson(res, err.status, JSON.stringify(errorBody(err, requestId)), headers);
}
