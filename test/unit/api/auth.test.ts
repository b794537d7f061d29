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
import { modelMatcher, parseKeyScope } from '../../../shared/api/key-scopes.ts';
import { ANY_MODEL, EVERY_MODEL, KeyGrants } from '../../../api/auth/key-grants.ts';
import { trainingPipelineId, trainingPipelineModel } from '../../../shared/pipeline-identity.ts';

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
    assert.equal(ring.authorize(request({ authorization: 'Bearer secret-app' }), 'predict', 'flights-delay').id, 'app');
    assert.equal(ring.authorize(request({ 'x-api-key': 'secret-app' }), 'predict', 'flights-delay').id, 'app');
  });

  test('401 without a key or with an unknown one, 403 without the scope', () => {
    assert.equal(refusal(() => ring.authorize(request({}), 'predict', 'flights-delay')).status, 401);
    assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer nope' }), 'predict', 'flights-delay')).status, 401);
    assert.equal(refusal(() => ring.authorize(request({ authorization: 'Token secret-app' }), 'predict', 'flights-delay')).status, 401);
    const forbidden = refusal(() => ring.authorize(request({ authorization: 'Bearer secret-app' }), 'admin', 'flights-delay'));
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.message, /"app" lacks the "admin:flights-delay" scope/);
  });

  test("429 once a key's own bucket is empty, with the wait; other keys are unaffected", () => {
    ring.authorize(request({ authorization: 'Bearer secret-ana' }), 'admin', 'flights-delay');
    const limited = refusal(() => ring.authorize(request({ authorization: 'Bearer secret-ana' }), 'admin', 'flights-delay'));
    assert.equal(limited.status, 429);
    assert.ok((limited.retryAfterSeconds ?? 0) > 0);
    assert.equal(ring.authorize(request({ authorization: 'Bearer secret-app' }), 'predict', 'flights-delay').id, 'app');
    now += 1000;
    assert.equal(ring.authorize(request({ authorization: 'Bearer secret-ana' }), 'admin', 'flights-delay').id, 'ana');
  });

  test('with no keys configured every request is refused, and says why', () => {
    const empty = new KeyRing({ keys: [] }, { perSecond: 1, burst: 1 });
    assert.match(refusal(() => empty.authorize(request({}), 'predict', 'flights-delay')).message, /no API keys are configured/);
  });

  test('the keys file refuses duplicate ids and hashes, and anything but a hex SHA-256', () => {
    const entry = { id: 'a', sha256: hashApiKey('x'), scopes: ['predict'] };
    assert.equal(apiKeysFileSchema.safeParse({ keys: [entry, { ...entry, id: 'b' }] }).success, false);
    assert.equal(apiKeysFileSchema.safeParse({ keys: [entry, { ...entry, sha256: hashApiKey('y') }] }).success, false);
    assert.equal(apiKeysFileSchema.safeParse({ keys: [{ ...entry, sha256: 'plain-text-key' }] }).success, false);
    assert.equal(apiKeysFileSchema.safeParse({ keys: [{ ...entry, scopes: ['root'] }] }).success, false);
  });
});

describe('per-model scopes', () => {
  test('the grammar: a right alone (every model), or with a model name or a glob; anything else is refused and says why', () => {
    assert.deepEqual(parseKeyScope('predict'), { scope: { right: 'predict' } });
    assert.deepEqual(parseKeyScope('predict:flights-delay'), { scope: { right: 'predict', models: 'flights-delay' } });
    assert.deepEqual(parseKeyScope('admin:flights-*'), { scope: { right: 'admin', models: 'flights-*' } });
    assert.deepEqual(parseKeyScope('feedback:*-delay'), { scope: { right: 'feedback', models: '*-delay' } });
    for (const bad of ['root', 'Predict', 'predict:', 'predict:Flights', 'predict:f', 'predict:9lives', 'predict:flights_delay', 'predict:flights.*', 'predict:a:b', 'admin:flights/*', ` predict`]) {
      const parsed = parseKeyScope(bad);
      assert.ok('problem' in parsed, `${bad} was accepted`);
      assert.match(parsed.problem, new RegExp(`^"${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" (is not a scope|names no model)`));
    }
    const file = (scopes: string[]) => apiKeysFileSchema.safeParse({ keys: [{ id: 'a', sha256: hashApiKey('x'), scopes }] });
    assert.equal(file(['predict:flights-*', 'admin']).success, true);
    const refused = file(['predict', 'predict:Flights']);
    assert.equal(refused.success, false);
    assert.deepEqual(refused.error?.issues.map((i) => [i.path.join('.'), i.message]), [['keys.0.scopes.1', refused.error?.issues[0]?.message]]);
    assert.match(refused.error?.issues[0]?.message ?? '', /"predict:Flights" names no model/);
  });

  test('globs match model names only: * is any run of a-z, 0-9 and hyphens, anchored at both ends', () => {
    const flights = modelMatcher('flights-*');
    assert.deepEqual(['flights-delay', 'flights-', 'flights-x-2', 'flights', 'my-flights-delay', 'flights-delay/../weather', 'flights-Delay'].map(flights), [true, true, true, false, false, false, false]);
    const middle = modelMatcher('*-delay-*');
    assert.deepEqual(['flights-delay-v2', 'a-delay-', 'delay-v2', 'flights-delay'].map(middle), [true, true, false, false]);
    const exact = modelMatcher('flights-delay');
    assert.deepEqual(['flights-delay', 'flights-delay2', 'flights-dela'].map(exact), [true, false, false]);
    assert.equal(modelMatcher('*')('anything-9'), true);
  });

  test('a training run id names its model, hyphens and all; other ids name none', () => {
    assert.equal(trainingPipelineModel(trainingPipelineId('flights-delay-2', 'a'.repeat(64), 'b'.repeat(64))), 'flights-delay-2');
    assert.equal(trainingPipelineModel('deploy-flights-delay'), undefined);
    assert.equal(trainingPipelineModel('train-flights-aaaaaaaaaaaa'), undefined);
  });

  const ring = new KeyRing(
    {
      keys: [
        { id: 'app-east', sha256: hashApiKey('east'), scopes: ['predict:flights-*', 'predict:weather-now', 'feedback:flights-delay'] },
        { id: 'ops-flights', sha256: hashApiKey('ops'), scopes: ['admin:flights-*', 'predict'] },
      ],
    },
    { perSecond: 1000, burst: 1000 },
  );
  const as = (key: string) => request({ authorization: `Bearer ${key}` });

  test('several scopes: each right reaches the models its patterns name, and a refusal names the missing scope and the key\'s scopes', () => {
    assert.equal(ring.authorize(as('east'), 'predict', 'flights-delay').id, 'app-east');
    assert.equal(ring.authorize(as('east'), 'predict', 'flights-delay').id, 'app-east', 'the remembered decision');
    assert.equal(ring.authorize(as('east'), 'predict', 'weather-now').id, 'app-east');
    assert.equal(ring.authorize(as('east'), 'feedback', 'flights-delay').id, 'app-east');
    const other = refusal(() => ring.authorize(as('east'), 'predict', 'weather-later'));
    assert.equal(other.status, 403);
    assert.equal(other.field, 'headers.authorization');
    assert.equal(other.message, 'API key "app-east" lacks the "predict:weather-later" scope (it has: predict:flights-*, predict:weather-now, feedback:flights-delay)');
    assert.match(refusal(() => ring.authorize(as('east'), 'feedback', 'flights-other')).message, /lacks the "feedback:flights-other" scope/);
    assert.match(refusal(() => ring.authorize(as('east'), ['predict', 'admin'], 'trains')).message, /lacks the "predict:trains" or "admin:trains" scope/);
    // A scope on every model reaches any model; a per-model one reaches no route about no one model.
    assert.equal(ring.authorize(as('ops'), 'predict', 'trains').id, 'ops-flights');
    assert.equal(ring.authorize(as('ops'), 'predict', EVERY_MODEL).id, 'ops-flights');
    assert.equal(ring.authorize(as('ops'), 'admin', 'flights-delay').id, 'ops-flights');
    const everyModel = refusal(() => ring.authorize(as('ops'), 'admin', EVERY_MODEL));
    assert.equal(everyModel.message, 'API key "ops-flights" lacks the "admin" scope (it has: admin:flights-*, predict); this request names no one model, so only a scope on every model reaches it');
    // A list: a scope on any one model lets the key in.
    assert.equal(ring.authorize(as('east'), ['predict', 'admin'], ANY_MODEL).id, 'app-east');
    assert.match(refusal(() => ring.authorize(as('east'), 'admin', ANY_MODEL)).message, /lacks the "admin" scope \(on any model\)/);
  });

  test('remembered decisions are capped, and stay right past the cap', () => {
    const grants = new KeyGrants(['predict:flights-*']);
    for (let i = 0; i < 3000; i++) assert.equal(grants.allows(['predict'], `${i % 2 ? 'flights' : 'weather'}-${i}`), i % 2 === 1);
    assert.equal(grants.allows(['predict'], 'flights-1'), true);
    assert.equal(grants.allows(['predict'], 'weather-0'), false);
  });

  test('a reload takes effect at once, remembered decisions included', () => {
    const reloaded = new KeyRing({ keys: [{ id: 'app', sha256: hashApiKey('k'), scopes: ['predict:flights-*'] }] }, { perSecond: 1000, burst: 1000 });
    assert.equal(reloaded.authorize(as('k'), 'predict', 'flights-delay').id, 'app');
    reloaded.replace({ keys: [{ id: 'app', sha256: hashApiKey('k'), scopes: ['predict:weather-*'] }] });
    assert.match(refusal(() => reloaded.authorize(as('k'), 'predict', 'flights-delay')).message, /lacks the "predict:flights-delay" scope \(it has: predict:weather-\*\)/);
    assert.equal(reloaded.authorize(as('k'), 'predict', 'weather-now').id, 'app');
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
      assert.equal(ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict', 'flights-delay').id, 'old-app');
      assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict', 'flights-delay')).code, 'RateLimited');

      // Rotation: a new key added, the old one kept with the same limit (its bucket, still empty, stays).
      write([
        { id: 'old-app', sha256: hashApiKey('old-key'), scopes: ['predict'], rateLimit: { perSecond: 1, burst: 1 } },
        { id: 'new-app', sha256: hashApiKey('new-key'), scopes: ['predict', 'feedback'] },
      ]);
      await watcher.check(true);
      assert.equal(ring.authorize(request({ authorization: 'Bearer new-key' }), 'feedback', 'flights-delay').id, 'new-app');
      assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict', 'flights-delay')).code, 'RateLimited', 'a reload does not reset a rate limit');

      // A broken edit: logged, and both keys still work.
      writeFileSync(path, '{"keys": [ {"id": "half');
      await watcher.check(true);
      now = 2000;
      assert.equal(ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict', 'flights-delay').id, 'old-app');
      assert.match(lines.join('\n'), /cannot be used; keeping the keys in use.*not JSON/);

      // Revocation.
      write([{ id: 'new-app', sha256: hashApiKey('new-key'), scopes: ['predict'] }]);
      await watcher.check(false);
      assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer old-key' }), 'predict', 'flights-delay')).code, 'Unauthenticated');
      assert.equal(refusal(() => ring.authorize(request({ authorization: 'Bearer new-key' }), 'feedback', 'flights-delay')).code, 'Forbidden');
      assert.equal(ring.size, 1);
    } finally {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
