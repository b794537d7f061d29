import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { flightEvent, registerFlightsModel } from './support/flights-model.ts';
import { MemoryStore } from './support/memory-store.ts';
import { KEYS, type TestApi, startTestApi, testConfig, writeServingConfig } from './support/test-api.ts';

/** The routes around predictions: model views, feedback, health, docs, CORS and graceful shutdown. */

const MODEL = 'flight-delay';
const store = new MemoryStore();
const config = testConfig({ SLUICE_API_CORS_ORIGINS: 'https://app.example.com' });
let api: TestApi;

before(async () => {
  const manifest = await registerFlightsModel(new ModelRegistry(store, config.buckets.models), MODEL);
  await writeServingConfig(store, config, { [MODEL]: { primary: manifest.version } }, 1);
  api = await startTestApi({ store, config });
  await api.firstPoll;
});

after(async () => {
  await api.shutdown();
});

describe('routes', () => {
  test('GET /v1/models and /v1/models/{name} show routes, features and the event schema', async () => {
    const list = await api.request<{ models: { name: string; versions: { version: number; route: string; percent: number }[] }[] }>('GET', '/v1/models', { key: KEYS.predict });
    assert.deepEqual(list.json.models, [{ name: MODEL, versions: [{ version: 1, route: 'primary', percent: 100, task: { kind: 'binary' } }] }]);
    const view = await api.request<{ versions: { eventSchema: { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean }; threshold: number }[] }>('GET', `/v1/models/${MODEL}`, { key: KEYS.predict });
    const schema = view.json.versions[0]?.eventSchema;
    assert.deepEqual(schema?.required.sort(), ['date', 'destination', 'distance', 'origin']);
    assert.equal(schema?.additionalProperties, false);
    assert.equal(view.json.versions[0]?.threshold, 0.3);
    assert.equal((await api.request('GET', '/v1/models/unknown', { key: KEYS.predict })).status, 404);
    assert.equal((await api.request('GET', '/v1/models')).status, 401);
  });

  test('POST /v1/feedback stores the labels as JSON lines with who sent them, before answering', async () => {
    const predicted = await api.predict(MODEL, { events: [flightEvent(1), flightEvent(2)] });
    const requestId = predicted.json.requestId ?? '';
    const res = await api.request<{ accepted: number; key: string }>('POST', '/v1/feedback', {
      key: KEYS.feedback,
      body: { labels: [{ requestId, eventIndex: 1, label: true, observedAt: '2026-11-23T10:00:00Z' }, { requestId, label: false }] },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.accepted, 2);
    const lines = (await store.get(config.buckets.predictions, res.json.key)).toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => [l.request_id, l.event_index, l.label, l.received_from]), [
      [requestId, 1, true, 'app-feedback'],
      [requestId, 0, false, 'app-feedback'],
    ]);
    assert.equal(lines[0]?.observed_at, '2026-11-23T10:00:00Z');
    assert.equal((await api.request('POST', '/v1/feedback', { key: KEYS.predict, body: { labels: [{ requestId, label: true }] } })).status, 403);
  });

  test('/healthz, /readyz, /metrics, /openapi.json and /docs answer without a key', async () => {
    assert.equal((await api.request('GET', '/healthz')).status, 200);
    assert.equal((await api.request<{ status: string }>('GET', '/readyz')).json.status, 'ready');
    const metrics = await api.request('GET', '/metrics');
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
    assert.match(metrics.text, /^# TYPE sluice_predict_duration_seconds histogram$/m);
    assert.match(metrics.text, /^sluice_prediction_log_buffered_rows \d+$/m);
    assert.equal((await api.request<{ openapi: string }>('GET', '/openapi.json')).json.openapi, '3.1.0');
    assert.match((await api.request('GET', '/docs')).text, /<h1>sluice prediction API<\/h1>/);
  });

  test('CORS: a configured origin is allowed (preflight and answer), another gets no allow headers', async () => {
    const preflight = await fetch(`${api.url}/v1/models/${MODEL}/predict`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    const allowed = await api.request('POST', `/v1/models/${MODEL}/predict`, { key: KEYS.predict, body: { event: flightEvent(1) }, headers: { origin: 'https://app.example.com' } });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
    const other = await api.request('POST', `/v1/models/${MODEL}/predict`, { key: KEYS.predict, body: { event: flightEvent(1) }, headers: { origin: 'https://evil.example.com' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('a deployment route refuses a model name the registry cannot hold (400) before anything reaches Temporal', async () => {
    for (const [method, path] of [['GET', '/v1/deployments/0'], ['POST', '/v1/deployments/Flights_Delay/rollout'], ['POST', '/v1/deployments/x/pause']] as const) {
      const res = await api.request(method, path, { key: KEYS.admin, ...(method === 'POST' ? { body: { version: 1 } } : {}) });
      assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
      assert.equal(res.json.error?.code, 'InvalidRequest');
      assert.equal(res.json.error?.field, 'path.model');
      assert.match(res.json.error?.message ?? '', /^path\.model: expected a model name of 2-63 lowercase letters/);
    }
  });

  test('a known path asked with a method it does not serve is 405 with Allow; an unknown path stays 404', async () => {
    for (const [method, path, allow] of [
      ['GET', `/v1/models/${MODEL}/predict`, 'POST'],
      ['PUT', `/v1/models/${MODEL}/predict`, 'POST'],
      ['DELETE', `/v1/models/${MODEL}`, 'GET, HEAD'],
      ['POST', '/v1/models', 'GET, HEAD'],
      ['PATCH', '/v1/feedback', 'POST'],
      ['GET', '/v1/deployments/m/promote', 'POST'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['PUT', `/v1/models/${MODEL}/invocations`, 'POST'],
      // The console's routes live in a router of their own; they answer 405 the same way.
      ['DELETE', '/v1/console/models', 'GET, HEAD'],
      ['PUT', '/console/session', 'POST'],
    ] as const) {
      const res = await api.request(method, path, { key: KEYS.all, headers: { origin: 'https://app.example.com' } });
      assert.equal(res.status, 405, `${method} ${path}: ${res.text}`);
      assert.equal(res.headers.get('allow'), allow, `${method} ${path}`);
      assert.equal(res.json.error?.code, 'MethodNotAllowed');
      assert.equal(res.json.error?.message, `${method} is not served on ${path}; it serves ${allow} (see /docs)`);
      assert.equal(res.json.error?.requestId, res.headers.get('x-request-id'));
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example.com', 'the browser may read the refusal');
    }
    assert.equal((await api.request('HEAD', `/v1/models/${MODEL}`, { key: KEYS.predict })).status, 200, 'HEAD is served where GET is');
    const preflight = await fetch(`${api.url}/v1/models`, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
    assert.equal(preflight.status, 204, 'a CORS preflight is answered before any route');
    assert.equal((await api.request('GET', '/v1/models/x/predict/more', { key: KEYS.all })).status, 404);
  });
});

describe('request timeouts', () => {
  test('a predict or feedback request that cannot finish answers 503 Timeout at SLUICE_API_REQUEST_TIMEOUT_MS', async () => {
    const hanging = new MemoryStore();
    hanging.objects = store.objects;
    const stuck = new Promise<never>(() => {});
    hanging.put = () => stuck;
    const short = testConfig({ SLUICE_API_REQUEST_TIMEOUT_MS: '300' });
    await using slow = await startTestApi({
      store: hanging,
      config: short,
      assemblers: { forModel: async () => ({ eventFields: { origin: 'string', destination: 'string', date: 'timestamp', distance: 'number' }, assemble: () => stuck }) },
    });
    await slow.firstPoll;
    for (const res of [await slow.predict(MODEL, { event: flightEvent(1) }), await slow.request('POST', '/v1/feedback', { key: KEYS.feedback, body: { labels: [{ requestId: 'r-1', label: true }] } })]) {
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json.error?.code, 'Timeout');
      assert.match(res.json.error?.message ?? '', /no answer within 300 ms/);
    }
    assert.equal((await slow.request('GET', '/healthz')).status, 200);
  });

  test('a body that stops arriving answers 408 with the JSON error body and closes the connection, on every route', async () => {
    await using slow = await startTestApi({ store, config: testConfig({ SLUICE_API_REQUEST_TIMEOUT_MS: '300' }) });
    await slow.firstPoll;
    const { port } = new URL(slow.url);
    for (const path of [`/v1/models/${MODEL}/predict`, '/v1/feedback', '/v1/pipelines/p-1/approve']) {
      const started = performance.now();
      // Promises 100 bytes of body and sends 9: the server must not wait for the rest forever, nor keep the connection.
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(`POST ${path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${KEYS.all}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"event":`);
        });
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      assert.match(head, /^HTTP\/1\.1 408 /, `${path}: ${head}`);
      assert.match(head, /connection: close/i, path);
      const error = (JSON.parse(body) as { error: { code: string; message: string; field: string } }).error;
      assert.equal(error.code, 'RequestTimeout', path);
      assert.equal(error.field, 'body');
      assert.match(error.message, /did not arrive within 300 ms/);
      assert.ok(performance.now() - started < 3000, `${path} closed after ${Math.round(performance.now() - started)} ms`);
    }
    assert.equal((await slow.predict(MODEL, { event: flightEvent(1) })).status, 200, 'and the server keeps serving');
  });
});

describe('graceful shutdown', () => {
  test('requests being received when shutdown starts are answered; then the prediction log is flushed and the port closed', async () => {
    const own = await startTestApi({ store, config: testConfig({ SLUICE_SERVING_LOG_FLUSH_ROWS: '1000000', SLUICE_SERVING_LOG_FLUSH_INTERVAL_MS: '3600000' }) });
    await own.firstPoll;
    const logged = () => [...store.objects.keys()].filter((k) => k.includes('/predictions/model=')).length;
    assert.equal((await own.predict(MODEL, { event: flightEvent(0) })).status, 200);
    const before = logged();
    const url = new URL(`${own.url}/v1/models/${MODEL}/predict`);
    // Requests whose body is half sent when shutdown begins: accepted, so they must be answered.
    const pending = Array.from({ length: 5 }, (_, i) => {
      const body = JSON.stringify({ event: flightEvent(i) });
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: `Bearer ${KEYS.predict}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
      const answered = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
      req.write(body.slice(0, 10));
      return { finish: () => req.end(body.slice(10)), answered };
    });
    await sleep(100);
    const stopping = own.shutdown();
    await sleep(100);
    for (const p of pending) p.finish();
    assert.deepEqual(await Promise.all(pending.map((p) => p.answered)), [200, 200, 200, 200, 200]);
    await stopping;
    assert.ok(logged() > before, 'the buffered predictions were written at shutdown');
    await assert.rejects(fetch(`${own.url}/healthz`), 'no longer accepting connections');
  });
});
