import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing, hashApiKey, readKeysFile } from '../../../api/auth/key-ring.ts';
import { KeysFileWatcher } from '../../../api/auth/keys-file-watcher.ts';
import { createLogger } from '../../../shared/logger.ts';
import { TokenBucket } from '../../../api/auth/token-bucket.ts';
import { ApiError } from '../../../api/errors.ts';
import { apiKeysFileSchema } from '../../../shared/api/keys.ts';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('TokenBucket', () => {
  test('allows a burst, then refills at the rate, and says how long to wait', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 3, () => now);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [0, 0, 0]);
    assert.equal(bucket.take(), 0.5);
    now = 499;
    assert.ok(bucket.take() > 0);
    now = 1000;
    assert.equal(bucket.take(), 0);
    now = 100_000;
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [0, 0, 0], 'never more than the burst after idling');
    assert.ok(bucket.take() > 0);
  });
});

describe('KeyRing', () => {
  let now = 0;
  const ring = new KeyRing(
    {
      keys: [
        { id: 'app', sha256: hashApiKey('secret-app'), scopes: ['predict'] },
        { id: 'ana', sha256: hashApiKey('secret-ana'), scopes: ['admin', 'feedback'], rateLimit: { perSecond: 1, burst: 1 } },
      ],
    },
    { perSecond: 100, burst: 100 },
    () => now,
  );

  test('finds the holder of a presented key by its hash, as Bearer or X-API-Key', () => {
    assert.equal(ring.authorize(request({ authorization: 'Bearer secret-app' }), 'predict').id, 'app');
    assert.equal(ring.authorize(request({ 'x-api-key': 'secret-app' }), 'predict').id, 'app');
  });

  test('401 without a key or with an unknown one, 403 without the scope', () => {
    assert.equal(refusal(() => ring.authorize(request({}), 'predict')).status, 401);
    assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer nope' }), 'predict')).status, 401);
    assert.equal(refusal(() => ring.authorize(request({ authorization: 'Token secret-app' }), 'predict')).status, 401);
    const forbidden = refusal(() => ring.authorize(request({ authorization: 'Bearer secret-app' }), 'admin'));
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.message, /"app" lacks the "admin" scope/);
  });

  test("429 once a key's own bucket is empty, with the wait; other keys are unaffected", () => {
    ring.authorize(request({ authorization: 'Bearer secret-ana' }), 'admin');
    const limited = refusal(() => ring.authorize(request({ authorization: 'Bearer secret-ana' }), 'admin'));
    assert.equal(limited.status, 429);
    assert.ok((limited.retryAfterSeconds ?? 0) > 0);
    assert.equal(ring.authorize(request({ authorization: 'Bearer secret-app' }), 'predict').id, 'app');
    now += 1000;
    assert.equal(ring.authorize(request({ authorization: 'Bearer secret-ana' }), 'admin').id, 'ana');
  });

  test('with no keys configured every request is refused, and says why', () => {
    const empty = new KeyRing({ keys: [] }, { perSecond: 1, burst: 1 });
    assert.match(refusal(() => empty.authorize(request({}), 'predict')).message, /no API keys are configured/);
  });

  test('the keys file refuses duplicate ids and hashes, and anything but a hex SHA-256', () => {
    const entry = { id: 'a', sha256: hashApiKey('x'), scopes: ['predict'] };
    assert.equal(apiKeysFileSchema.safeParse({ keys: [entry, { ...entry, id: 'b' }] }).success, false);
    assert.equal(apiKeysFileSchema.safeParse({ keys: [entry, { ...entry, sha256: hashApiKey('y') }] }).success, false);
    assert.equal(apiKeysFileSchema.safeParse({ keys: [{ ...entry, sha256: 'plain-text-key' }] }).success, false);
    assert.equal(apiKeysFileSchema.safeParse({ keys: [{ ...entry, scopes: ['root'] }] }).success, false);
  });
});

describe('KeysFileWatcher', () => {
  test('a changed keys file is used at once; an invalid one is logged and the keys in use stay; buckets survive a reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-keys-'));
    const path = join(dir, 'keys.json');
    const write = (keys: unknown) => writeFileSync(path, JSON.stringify({ keys }));
    write([{ id: 'old-app', sha256: hashApiKey('old-key'), scopes: ['predict'], rateLimit: { perSecond: 1, burst: 1 } }]);
    let now = 0;
    const ring = new KeyRing(await readKeysFile(path), { perSecond: 1000, burst: 1000 }, () => now);
    const lines: string[] = [];
    const watcher = new KeysFileWatcher(path, ring, 3_600_000, createLogger('info', {}, (line) => lines.push(line)));
    try {
      assert.equal(ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict').id, 'old-app');
      assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict')).code, 'RateLimited');

      // Rotation: a new key added, the old one kept with the same limit (its bucket, still empty, stays).
      write([
        { id: 'old-app', sha256: hashApiKey('old-key'), scopes: ['predict'], rateLimit: { perSecond: 1, burst: 1 } },
        { id: 'new-app', sha256: hashApiKey('new-key'), scopes: ['predict', 'feedback'] },
      ]);
      await watcher.check(true);
      assert.equal(ring.authorize(request({ authorization: 'Bearer new-key' }), 'feedback').id, 'new-app');
      assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict')).code, 'RateLimited', 'a reload does not reset a rate limit');

      // A broken edit: logged, and both keys still work.
      writeFileSync(path, '{"keys": [ {"id": "half');
      await watcher.check(true);
      now = 2000;
      assert.equal(ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict').id, 'old-app');
      assert.match(lines.join('\n'), /cannot be used; keeping the keys in use.*not JSON/);

      // Revocation.
      write([{ id: 'new-app', sha256: hashApiKey('new-key'), scopes: ['predict'] }]);
      await watcher.check(false);
      assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict')).code, 'Unauthenticated');
      assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer new-key' }), 'feedback')).code, 'Forbidden');
      assert.equal(ring.size, 1);
    } finally {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
