import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import type { FeatureAssemblers } from '../../../api/features/feature-assembler.ts';
import { flightEvent, registerFlightsModel } from './support/flights-model.ts';
import { MemoryStore } from './support/memory-store.ts';
import { type Answer, KEYS, type TestApi, startTestApi, testConfig, writeServingConfig } from './support/test-api.ts';

/**
 * Every class of bad input to the predict route: status, error code, the field named, a message that
 * says what is wrong, the request id, no server detail; and after each, the server still serves and
 * the refused request left nothing behind (no logged prediction, no counted event).
 */

const MODEL = 'flight-delay';
const store = new MemoryStore();
const config = testConfig({ SLUICE_API_MAX_BATCH: '5', SLUICE_API_MAX_BODY_BYTES: '4096' });
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

const good = flightEvent(3);

function servedEvents(): number {
  const line = api.metrics.render().split('\n').find((l) => l.startsWith(`sluice_predictions_total{model="${MODEL}",version="1",role="primary"}`));
  return Number(line?.split(' ')[1] ?? 0);
}

interface Expected {
  status: number;
  code: string;
  field?: string;
  message: RegExp;
}

/** Sends a bad request; checks the answer, that nothing was recorded, and that a good request still works. */
async function refused(send: () => Promise<Answer>, expected: Expected): Promise<Answer> {
  const eventsBefore = servedEvents();
  const heldBefore = api.predictionLog.heldRows;
  const res = await send();
  assert.equal(res.status, expected.status, res.text);
  const error = res.json.error;
  assert.ok(error, res.text);
  assert.equal(error.code, expected.code, res.text);
  assert.match(error.message, expected.message);
  assert.equal(error.field, expected.field);
  assert.equal(error.requestId, res.headers.get('x-request-id'));
  assert.doesNotMatch(res.text, /\bat .*\.ts:\d+|node:internal|stack/);
  assert.equal(servedEvents(), eventsBefore, 'a refused request must not count as served');
  assert.equal(api.predictionLog.heldRows, heldBefore, 'a refused request must not be logged');
  const ok = await api.predict(MODEL, { event: good });
  assert.equal(ok.status, 200, `the server must keep serving after a refused request: ${ok.text}`);
  return res;
}

/** A test that sends a bad request and checks it is refused as expected. */
const refuses = (send: () => Promise<Answer>, expected: Expected) => async () => {
  await refused(send, expected);
};

const raw = (text: string, headers: Record<string, string> = {}) => () => api.request('POST', `/v1/models/${MODEL}/predict`, { key: KEYS.predict, raw: text, headers });
const body = (value: unknown) => () => api.predict(MODEL, value);

describe('predict: answers', () => {
  test('one event: score, label at the threshold, version, request id', async () => {
    const res = await api.predict(MODEL, { event: good });
    assert.equal(res.status, 200);
    const { prediction, requestId, model } = res.json;
    assert.ok(prediction);
    assert.equal(model, MODEL);
    assert.equal(requestId, res.headers.get('x-request-id'));
    assert.ok(prediction.score > 0 && prediction.score < 1);
    assert.equal(prediction.label, prediction.score >= 0.3);
    assert.equal(prediction.modelVersion, 1);
  });

  test('a batch answers in request order, each event scored as if alone', async () => {
    const events = [0, 1, 2, 3, 4].map(flightEvent);
    const batch = await api.predict(MODEL, { events });
    assert.equal(batch.status, 200);
    assert.equal(batch.json.predictions?.length, 5);
    for (const [i, event] of events.entries()) {
      const single = await api.predict(MODEL, { event });
      assert.equal(batch.json.predictions?.[i]?.score, single.json.prediction?.score);
    }
  });

  test('null marks a value as unknown and is scored as missing', async () => {
    const res = await api.predict(MODEL, { event: { ...good, distance: null, destination: null } });
    assert.equal(res.status, 200, res.text);
    assert.equal(typeof res.json.prediction?.score, 'number');
  });

  test("the client's X-Request-Id names the request", async () => {
    const res = await api.request('POST', `/v1/models/${MODEL}/predict`, { key: KEYS.predict, body: { event: good }, headers: { 'x-request-id': 'order-4711:a' } });
    assert.equal(res.json.requestId, 'order-4711:a');
  });
});

describe('predict: malformed and mistyped input is refused with the field named (400)', () => {
  test('malformed JSON', refuses(raw('{"event": {'), { status: 400, code: 'InvalidJson', field: 'body', message: /not valid JSON/ }));
  test('NaN is not JSON', refuses(raw('{"event": {"origin": "ORD", "destination": "LGA", "date": "2001-06-01", "distance": NaN}}'), { status: 400, code: 'InvalidJson', field: 'body', message: /not valid JSON/ }));
  test('an empty body', refuses(raw(''), { status: 400, code: 'InvalidJson', field: 'body', message: /empty/ }));
  test('a number that overflows to Infinity',
    refuses(raw(`{"event": {"origin": "ORD", "destination": "LGA", "date": "2001-06-01", "distance": 1e999}}`), { status: 400, code: 'InvalidRequest', field: 'event.distance', message: /too large to represent/ }));
  test('a number sent as a string is not coerced', refuses(body({ event: { ...good, distance: '733' } }), { status: 400, code: 'InvalidRequest', field: 'event.distance', message: /expected a number or null, got string "733"/ }));
  const { origin: _, ...withoutOrigin } = good;
  test('a missing field', refuses(body({ event: withoutOrigin }), { status: 400, code: 'InvalidRequest', field: 'event.origin', message: /required \(send null when the string is unknown\)/ }));
  test('an extra field (e.g. the outcome itself)', refuses(body({ event: { ...good, delay: 12 } }), { status: 400, code: 'InvalidRequest', field: 'event.delay', message: /unknown field "delay"/ }));
  test('a bad timestamp, in a batch',
    refuses(body({ events: [good, good, good, { ...good, date: '2001-02-30T10:00:00' }] }), { status: 400, code: 'InvalidRequest', field: 'events[3].date', message: /ISO 8601/ }));
  test('a boolean where a string belongs', refuses(body({ event: { ...good, origin: true } }), { status: 400, code: 'InvalidRequest', field: 'event.origin', message: /expected a string or null, got boolean/ }));
  test('an event that is not an object', refuses(body({ event: 'ORD-LGA' }), { status: 400, code: 'InvalidRequest', field: 'event', message: /object/ }));
  test('both event and events', refuses(body({ event: good, events: [good] }), { status: 400, code: 'InvalidRequest', message: /exactly one of "event" .*, "events" .* or "columns" with "data"/ }));
  test('neither event nor events', refuses(body({ routingKey: 'x' }), { status: 400, code: 'InvalidRequest', message: /exactly one of/ }));
  test('an empty batch', refuses(body({ events: [] }), { status: 400, code: 'InvalidRequest', field: 'events', message: /at least one event/ }));
  test('a body that is not an object', refuses(body([good]), { status: 400, code: 'InvalidRequest', message: /object/ }));
  test('an unknown top-level field', refuses(body({ event: good, model: 'x' }), { status: 400, code: 'InvalidRequest', field: 'model', message: /unknown field "model"/ }));
  test('a routing key of the wrong type', refuses(body({ event: good, routingKey: 42 }), { status: 400, code: 'InvalidRequest', field: 'routingKey', message: /string/ }));
  test('an unusable X-Request-Id',
    refuses(() => api.request('POST', `/v1/models/${MODEL}/predict`, { key: KEYS.predict, body: { event: good }, headers: { 'x-request-id': 'has spaces' } }), {
      status: 400,
      code: 'InvalidRequest',
      field: 'headers.x-request-id',
      message: /X-Request-Id must be/,
    }));
});

describe('predict: limits, media type, model, keys', () => {
  test('a batch over SLUICE_API_MAX_BATCH (413)', refuses(body({ events: [0, 1, 2, 3, 4, 5].map(flightEvent) }), { status: 413, code: 'BatchTooLarge', field: 'events', message: /at most 5 events; this one has 6/ }));
  test('a body over SLUICE_API_MAX_BODY_BYTES (413)', refuses(body({ event: { ...good, origin: 'x'.repeat(5000) } }), { status: 413, code: 'PayloadTooLarge', field: 'body', message: /exceeds the limit of 4096 bytes/ }));
  test('a body that is not declared as JSON (415)',
    refuses(raw(JSON.stringify({ event: good }), { 'content-type': 'text/plain' }), { status: 415, code: 'UnsupportedMediaType', field: 'headers.content-type', message: /expected Content-Type: application\/json/ }));
  test('an unknown model (404)', refuses(() => api.predict('no-such-model', { event: good }), { status: 404, code: 'UnknownModel', field: 'path.name', message: /no model named no-such-model/ }));
  test('no API key (401)', refuses(() => api.predict(MODEL, { event: good }, ''), { status: 401, code: 'Unauthenticated', field: 'headers.authorization', message: /missing API key/ }));
  test('an unknown API key (401)', refuses(() => api.predict(MODEL, { event: good }, 'not-a-key'), { status: 401, code: 'Unauthenticated', field: 'headers.authorization', message: /unknown API key/ }));
  test('a malformed Authorization header (401)',
    refuses(() => api.request('POST', `/v1/models/${MODEL}/predict`, { body: { event: good }, headers: { authorization: 'Basic abc' } }), { status: 401, code: 'Unauthenticated', field: 'headers.authorization', message: /Bearer/ }));
  test('a key without the predict scope (403)', refuses(() => api.predict(MODEL, { event: good }, KEYS.feedback), { status: 403, code: 'Forbidden', field: 'headers.authorization', message: new RegExp(`lacks the "predict:${MODEL}" scope \\(it has: feedback\\)`) }));
  test('the X-API-Key header works as well as Bearer', async () => {
    const res = await api.request('POST', `/v1/models/${MODEL}/predict`, { body: { event: good }, headers: { 'x-api-key': KEYS.predict } });
    assert.equal(res.status, 200);
  });
  test('a key over its rate limit (429 with Retry-After)', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await api.predict(MODEL, { event: good }, KEYS.limited)).status, 200);
    const res = await refused(() => api.predict(MODEL, { event: good }, KEYS.limited), { status: 429, code: 'RateLimited', message: /over its rate limit/ });
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
  });
});

describe('the other routes share the error contract', () => {
  test('an unknown route (404 JSON body)', async () => {
    const res = await api.request('GET', '/v1/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(res.json.error?.code, 'RouteNotFound');
  });
  test('feedback: malformed JSON (400) and a bad label (400 with field)', async () => {
    const before = store.objects.size;
    const bad = await api.request('POST', '/v1/feedback', { key: KEYS.feedback, raw: '{"labels": [' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error?.code, 'InvalidJson');
    const typed = await api.request('POST', '/v1/feedback', { key: KEYS.feedback, body: { labels: [{ requestId: 'r-1', label: 'yes' }] } });
    assert.equal(typed.status, 400);
    assert.equal(typed.json.error?.field, 'labels[0].label');
    assert.equal(store.objects.size, before, 'refused feedback stores nothing');
  });
  test('an unexpected failure is a 500 with a generic message; details stay in the server log', async () => {
    const lines: string[] = [];
    const failing: FeatureAssemblers = {
      async forModel(manifest) {
        return {
          eventFields: { origin: 'string', destination: 'string', date: 'timestamp', distance: 'number' },
          assemble: async () => {
            throw new Error(`secret detail in /srv/${manifest.name}/internal.ts`);
          },
        };
      },
    };
    await using broken = await startTestApi({ store, config, assemblers: failing, logLines: lines });
    await broken.firstPoll;
    const res = await broken.predict(MODEL, { event: good });
    assert.equal(res.status, 500);
    assert.equal(res.json.error?.code, 'Internal');
    assert.doesNotMatch(res.text, /secret|\/srv\/|internal\.ts/);
    const requestId = res.json.error?.requestId ?? 'missing';
    assert.ok(lines.some((l) => l.includes('secret detail') && l.includes(requestId)), 'the server log has the details under the request id');
  });
});

describe('predict: a batch in columns (MLflow dataframe_split)', () => {
  const COLUMNS = ['origin', 'destination', 'date', 'distance'] as const;
  const rowOf = (event: ReturnType<typeof flightEvent>) => COLUMNS.map((c) => event[c]);
  const columnar = (events: ReturnType<typeof flightEvent>[], columns: readonly string[] = COLUMNS) => ({ columns, data: events.map((e) => columns.map((c) => e[c as keyof typeof e])) });

  test('scores each row exactly as the same events sent as objects, in order, whatever the column order', async () => {
    const events = [0, 1, 2, 3, 4].map(flightEvent);
    const objects = await api.predict(MODEL, { events });
    for (const columns of [COLUMNS, ['distance', 'date', 'origin', 'destination']]) {
      const res = await api.predict(MODEL, columnar(events, columns));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json.predictions, objects.json.predictions);
    }
  });

  test('a value as null is scored as missing', async () => {
    const res = await api.predict(MODEL, { columns: COLUMNS, data: [[...rowOf(good).slice(0, 3), null]] });
    assert.equal(res.status, 200, res.text);
  });

  test('a column the features do not read', refuses(body({ columns: [...COLUMNS, 'delay'], data: [[...rowOf(good), 12]] }), { status: 400, code: 'InvalidRequest', field: 'columns[4]', message: /unknown field "delay": not read by this model's features/ }));
  test('a column given twice', refuses(body({ columns: [...COLUMNS, 'origin'], data: [[...rowOf(good), 'ORD']] }), { status: 400, code: 'InvalidRequest', field: 'columns[4]', message: /"origin" is given twice/ }));
  test('a missing column', refuses(body({ columns: ['origin', 'destination', 'date'], data: [rowOf(good).slice(0, 3)] }), { status: 400, code: 'InvalidRequest', field: 'columns', message: /missing "distance"/ }));
  test('a row of the wrong length', refuses(body({ columns: COLUMNS, data: [rowOf(good), rowOf(good).slice(1)] }), { status: 400, code: 'InvalidRequest', field: 'data[1]', message: /expected an array of 4 values \(one per column\), got 3/ }));
  test('a value of the wrong type, named by row and column',
    refuses(body({ columns: COLUMNS, data: [rowOf(good), rowOf(good), [...rowOf(good).slice(0, 3), '733']] }), { status: 400, code: 'InvalidRequest', field: 'data[2][3]', message: /expected a number or null, got string "733"/ }));
  test('a timestamp the features cannot read, named by row and column',
    refuses(body({ columns: COLUMNS, data: [rowOf(good), [good.origin, good.destination, '2001-02-30T10:00:00', good.distance]] }), { status: 400, code: 'InvalidRequest', field: 'data[1][2]', message: /ISO 8601/ }));
  test('columns without data, or beside events', async () => {
    await refused(body({ columns: COLUMNS }), { status: 400, code: 'InvalidRequest', field: undefined, message: /exactly one of "event" \(one event\), "events" \(a batch\) or "columns" with "data"/ });
    await refused(body({ events: [good], columns: COLUMNS, data: [rowOf(good)] }), { status: 400, code: 'InvalidRequest', field: undefined, message: /exactly one of/ });
  });
  test('more rows than a batch may hold', refuses(body({ columns: COLUMNS, data: Array.from({ length: 6 }, () => rowOf(good)) }), { status: 413, code: 'BatchTooLarge', field: 'data', message: /at most 5 events; this one has 6/ }));
});

describe("invocations: MLflow's scoring-server shapes", () => {
  const COLUMNS = ['origin', 'destination', 'date', 'distance'] as const;
  const rowOf = (event: ReturnType<typeof flightEvent>) => COLUMNS.map((c) => event[c]);
  const invoke = (value: unknown) => api.request('POST', `/v1/models/${MODEL}/invocations`, { key: KEYS.predict, body: value });
  const invokes = (value: unknown) => () => invoke(value);

  test('dataframe_split, dataframe_records and instances score as the predict route does, answered as {"predictions": [...]}', async () => {
    const events = [0, 1, 2, 3, 4].map(flightEvent);
    const expected = (await api.predict(MODEL, { events })).json.predictions;
    const eventsBefore = servedEvents();
    for (const shape of [{ dataframe_split: { columns: COLUMNS, data: events.map(rowOf), index: [10, 11, 12, 13, 14] } }, { dataframe_records: events }, { instances: events }]) {
      const res = await invoke(shape);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.json), ['predictions'], 'MLflow clients read `predictions`; the request id is in the header');
      assert.deepEqual(res.json.predictions, expected);
      assert.ok(res.headers.get('x-request-id'));
    }
    assert.equal(servedEvents(), eventsBefore + 15, 'counted (and logged) as served predictions');
  });

  test('a bad cell is named by its MLflow key', refuses(invokes({ dataframe_split: { columns: COLUMNS, data: [rowOf(good), [...rowOf(good).slice(0, 3), '733']] } }), { status: 400, code: 'InvalidRequest', field: 'dataframe_split.data[1][3]', message: /expected a number or null, got string "733"/ }));
  test('an unknown column is named by its MLflow key', refuses(invokes({ dataframe_split: { columns: [...COLUMNS, 'delay'], data: [[...rowOf(good), 1]] } }), { status: 400, code: 'InvalidRequest', field: 'dataframe_split.columns[4]', message: /unknown field "delay"/ }));
  test('a bad record is named by its MLflow key', refuses(invokes({ dataframe_records: [good, { ...good, distance: '733' }] }), { status: 400, code: 'InvalidRequest', field: 'dataframe_records[1].distance', message: /expected a number or null/ }));
  test("a timestamp the features cannot read, in MLflow's records", refuses(invokes({ instances: [{ ...good, date: '2001-02-30T10:00:00' }] }), { status: 400, code: 'InvalidRequest', field: 'instances[0].date', message: /ISO 8601/ }));
  test('two shapes at once', refuses(invokes({ dataframe_records: [good], instances: [good] }), { status: 400, code: 'InvalidRequest', field: undefined, message: /exactly one of "dataframe_split", "dataframe_records" or "instances"/ }));
  test("MLflow's tensor form and params are refused by name", async () => {
    await refused(invokes({ inputs: { origin: ['ORD'] } }), { status: 400, code: 'InvalidRequest', field: 'inputs', message: /tensor form "inputs" is not taken: send the events as "dataframe_split"/ });
    await refused(invokes({ dataframe_records: [good], params: { threshold: 0.2 } }), { status: 400, code: 'InvalidRequest', field: 'params', message: /no parameters at scoring time/ });
  });
  test('more rows than a batch may hold', refuses(invokes({ dataframe_records: Array.from({ length: 6 }, () => good) }), { status: 413, code: 'BatchTooLarge', field: 'dataframe_records', message: /at most 5 events; this one has 6/ }));
  test('a CSV body is refused as the wrong content type',
    refuses(() => api.request('POST', `/v1/models/${MODEL}/invocations`, { key: KEYS.predict, raw: 'origin,destination\nORD,LGA', headers: { 'content-type': 'text/csv' } }), { status: 415, code: 'UnsupportedMediaType', field: 'headers.content-type', message: /application\/json/ }));
  test('GET is 405 with Allow: POST', async () => {
    const res = await api.request('GET', `/v1/models/${MODEL}/invocations`, { key: KEYS.predict });
    assert.equal(res.status, 405, res.text);
    assert.equal(res.headers.get('allow'), 'POST');
  });
});
