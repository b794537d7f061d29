import type { IncomingMessage } from 'node:http';
import { ApiError } from '../errors.ts';

/**
 * Reads a JSON request body with a size limit. Every JSON route uses this one reader, so a body that
 * is too large, not JSON, or not declared as JSON gets the same answer everywhere.
 */

const JSON_MEDIA_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export function checkJsonContentType(req: IncomingMessage): void {
  const type = req.headers['content-type'];
  if (type === undefined || !JSON_MEDIA_TYPE.test(type)) {
    throw new ApiError('UnsupportedMediaType', `expected Content-Type: application/json (UTF-8), got ${type === undefined ? 'none' : JSON.stringify(type.slice(0, 100))}`, {
      field: 'headers.content-type',
      closeConnection: true,
    });
  }
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError('PayloadTooLarge', `request body exceeds the limit of ${maxBytes} bytes`, { field: 'body', closeConnection: true });
}

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // Stop reading; the answer closes the connection, so the unread rest is never parsed.
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new ApiError('InvalidJson', 'request body is empty; expected a JSON object', { field: 'body' });
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    // V8's message names the offending token and position; it carries no server detail.
    throw new ApiError('InvalidJson', `request body is not valid JSON: ${(err as Error).message}`, { field: 'body' });
  }
}

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  checkJsonContentType(req);
  return parseJson(await readBody(req, maxBytes));
}

/** For routes whose every field is optional: a request without a body (no Content-Length, or 0) reads as `{}`. */
export async function readOptionalJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const length = req.headers['content-length'];
  if (length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined)) return {};
  return readJsonBody(req, maxBytes);
}
