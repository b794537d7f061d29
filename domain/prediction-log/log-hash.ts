import { createHmac } from 'node:crypto';

/**
 * How a feature marked `log: "hash"` is written to the prediction log: HMAC-SHA-256 of the value under
 * the deployment's key (SLUICE_LOG_HASH_KEY), base64url, first 16 characters (96 bits). Keyed, so
 * nobody without the key can hash a list of candidate identifiers and look them up; deterministic, so
 * every API replica writes the same text for the same value and the drift monitor, hashing the training
 * reference's categories with the same key, compares like with like. 96 bits make a collision between
 * two categories of one feature practically impossible.
 */
export const LOG_HASH_CHARS = 16;

export function hashLogValue(key: string, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('base64url').slice(0, LOG_HASH_CHARS);
}
