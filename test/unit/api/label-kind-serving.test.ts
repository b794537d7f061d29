import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Readiness } from '../../../api/health/readiness.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import type { MulticlassPrediction, RegressionPrediction } from '../../../shared/api/predict.ts';
import { feedbackKeys } from '../../../shared/api/prediction-log.ts';
import { FLIGHT_CLASSES, type FlightsModelOptions, flightEvent, registerTrainedFlightsModel, trainFlightsModel } from './support/flights-model.ts';
import { MemoryStore } from './support/memory-store.ts';
import { KEYS, type TestApi, startTestApi, testConfig, writeServingConfig } from './support/test-api.ts';

/**
 * Every label kind is served by the same API: its answer shaped by the kind, the kind shown in the
 * model views, feedback labels checked against it. A graph that disagrees with its manifest about
 * the kind or the classes is refused at load, named.
 */

const SMALL: FlightsModelOptions = { rows: 1200, trainer: { kind: 'gbdt', nTrees: 5, maxLeaves: 7, minSamplesLeaf: 20 } };
const store = new MemoryStore();
const config = testConfig({ SLUICE_SERVING_POLL_INTERVAL_MS: '100' });
const registry = new ModelRegistry(store, config.buckets.models);
let api: TestApi;

async function waitForModelError(target: TestApi, model: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const ready = await target.request<Readiness>('GET', '/readyz');
    const error = ready.json.modelErrors[model];
    if (error !== undefined || Date.now() > deadline) return error ?? '';
    await sleep(20);
  }
}

const feedbackFiles = async () => (await store.list(config.buckets.predictions, feedbackKeys.prefix)).length;
const feedback = (model: string, labels: unknown[]) => api.request('POST', `/v1/models/${model}/feedback`, { key: KEYS.feedback, body: { labels } });

before(async () => {
  const binary = await registerTrainedFlightsModel(registry, 'delay', await trainFlightsModel(SMALL));
  const minutes = await registerTrainedFlightsModel(registry, 'delay-minutes', await trainFlightsModel({ ...SMALL, task: 'regression' }));
  const classes = await registerTrainedFlightsModel(registry, 'delay-class', await trainFlightsModel({ ...SMALL, task: 'multiclass' }));
  await writeServingConfig(store, config, { delay: { primary: binary.version }, 'delay-minutes': { primary: minutes.version }, 'delay-class': { primary: classes.version } }, 1);
  api = await startTestApi({ store, config });
  await api.firstPoll;
});

after(() => api.shutdown());

describe('serving each label kind', () => {
  test('a regression model answers a value, a multiclass model its class and every probability, a binary one as before', async () => {
    const value = await api.request<{ prediction: RegressionPrediction }>('POST', '/v1/models/delay-minutes/predict', { key: KEYS.predict, body: { event: flightEvent(1) } });
    assert.equal(value.status, 200, value.text);
    const regression = value.json.prediction;
    assert.deepEqual(Object.keys(regression), ['value', 'modelVersion']);
    assert.ok(Number.isFinite(regression.value) && regression.value > -10 && regression.value < 60, `value in the label's range: ${regression.value}`);

    const batch = await api.request<{ predictions: MulticlassPrediction[] }>('POST', '/v1/models/delay-class/predict', { key: KEYS.predict, body: { events: [flightEvent(1), flightEvent(2), flightEvent(3)] } });
    assert.equal(batch.status, 200, batch.text);
    const predictions = batch.json.predictions;
    assert.equal(predictions.length, 3);
    for (const p of predictions) {
      assert.deepEqual(Object.keys(p), ['class', 'probabilities', 'modelVersion']);
      assert.deepEqual(Object.keys(p.probabilities), [...FLIGHT_CLASSES], 'one probability per class, in the model order');
      const values = Object.values(p.probabilities);
      assert.ok(Math.abs(values.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      assert.equal(p.probabilities[p.class], Math.max(...values), 'the class is the most probable one');
    }

    const binary = await api.predict('delay', { event: flightEvent(1) });
    assert.deepEqual(Object.keys(binary.json.prediction ?? {}), ['score', 'label', 'modelVersion']);
  });

  test('GET /v1/models and /v1/models/{name} say each version’s kind, classes and threshold where they apply', async () => {
    const list = await api.request<{ models: { name: string; versions: { task: unknown }[] }[] }>('GET', '/v1/models', { key: KEYS.predict });
    const tasks = Object.fromEntries(list.json.models.map((m) => [m.name, m.versions[0]?.task]));
    assert.deepEqual(tasks, { delay: { kind: 'binary' }, 'delay-minutes': { kind: 'regression' }, 'delay-class': { kind: 'multiclass', classes: [...FLIGHT_CLASSES] } });
    const view = await api.request<{ versions: { task: unknown; threshold?: number }[] }>('GET', '/v1/models/delay-class', { key: KEYS.predict });
    assert.deepEqual(view.json.versions[0]?.task, { kind: 'multiclass', classes: [...FLIGHT_CLASSES] });
    assert.equal(view.json.versions[0]?.threshold, undefined, 'a threshold means nothing to a multiclass model');
    const binary = await api.request<{ versions: { threshold?: number }[] }>('GET', '/v1/models/delay', { key: KEYS.predict });
    assert.equal(binary.json.versions[0]?.threshold, 0.3);
  });

  test('feedback on a model’s route takes its kind of label; the wrong type or an unknown class is a 400 naming the field and the kind, and nothing is stored', async () => {
    const before = await feedbackFiles();
    const refused: [string, unknown[], RegExp][] = [
      ['delay-class', [{ requestId: 'r-1', label: 3 }], /^labels\[0\]\.label: expected one of the classes "early-on-time", "on-time", "delayed": model "delay-class" is a multiclass model$/],
      ['delay-class', [{ requestId: 'r-1', label: 'on-time' }, { requestId: 'r-2', label: 'late' }], /^labels\[1\]\.label: "late" is not a class of multiclass model "delay-class"; its classes are "early-on-time", "on-time", "delayed"$/],
      ['delay-minutes', [{ requestId: 'r-1', label: 'abc' }], /^labels\[0\]\.label: expected a finite number: model "delay-minutes" is a regression model$/],
      ['delay', [{ requestId: 'r-1', label: 'on-time' }], /^labels\[0\]\.label: expected true or false: model "delay" is a binary model$/],
    ];
    for (const [model, labels, message] of refused) {
      const res = await feedback(model, labels);
      assert.equal(res.status, 400, `${model}: ${res.text}`);
      assert.equal(res.json.error?.code, 'InvalidRequest');
      assert.match(res.json.error?.message ?? '', message);
      assert.match(res.json.error?.field ?? '', /^labels\[\d\]\.label$/);
    }
    // JSON has no Infinity, but a literal too large for a double parses as one.
    const infinite = await api.request('POST', '/v1/models/delay-minutes/feedback', { key: KEYS.feedback, raw: '{"labels":[{"requestId":"r-1","label":1e999}]}' });
    assert.equal(infinite.status, 400);
    const unknown = await feedback('no-such-model', [{ requestId: 'r-1', label: 1 }]);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error?.code, 'UnknownModel');
    assert.equal(await feedbackFiles(), before, 'no refused request stored anything');

    const minutes = await feedback('delay-minutes', [{ requestId: 'r-1', label: 12.5 }, { requestId: 'r-2', eventIndex: 1, label: -3 }]);
    assert.equal(minutes.status, 200, minutes.text);
    const late = await feedback('delay-class', [{ requestId: 'r-3', label: 'delayed' }]);
    assert.equal(late.status, 200, late.text);
    const delayed = await feedback('delay', [{ requestId: 'r-4', label: true }]);
    assert.equal(delayed.status, 200, delayed.text);
    const stored = async (key: string) => (await store.get(config.buckets.predictions, key)).toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const lines = [...(await stored((minutes.json as { key: string }).key)), ...(await stored((late.json as { key: string }).key)), ...(await stored((delayed.json as { key: string }).key))];
    assert.deepEqual(
      lines.map((l) => [l.request_id, l.event_index, l.label, l.model]),
      [
        ['r-1', 0, 12.5, 'delay-minutes'],
        ['r-2', 1, -3, 'delay-minutes'],
        ['r-3', 0, 'delayed', 'delay-class'],
        ['r-4', 0, true, 'delay'],
      ],
    );
  });

  test('a graph whose kind or classes differ from its manifest is refused at load, named', async () => {
    const multiclass = await trainFlightsModel({ ...SMALL, task: 'multiclass' });
    const reordered = await registerTrainedFlightsModel(registry, 'classes-reordered', { ...multiclass, task: { kind: 'multiclass', classes: [...FLIGHT_CLASSES].reverse() } });
    const binary = await registerTrainedFlightsModel(registry, 'kind-mismatch', { ...(await trainFlightsModel(SMALL)), task: { kind: 'regression' } });
    const local = testConfig({ SLUICE_SERVING_POLL_INTERVAL_MS: '100', SLUICE_BUCKET_SERVING: 'other-serving' });
    await writeServingConfig(store, local, { 'classes-reordered': { primary: reordered.version }, 'kind-mismatch': { primary: binary.version } }, 1);
    await using other = await startTestApi({ store, config: local });
    await other.firstPoll;
    assert.match(await waitForModelError(other, 'classes-reordered'), /classes-reordered version 1: the graph's classes \["early-on-time","on-time","delayed"\] differ from the manifest's \["delayed","on-time","early-on-time"\]/);
    assert.match(await waitForModelError(other, 'kind-mismatch'), /kind-mismatch version 1: the graph is a binary model, the manifest says regression/);
    const res = await other.predict('kind-mismatch', { event: flightEvent(1) });
    assert.equal(res.status, 503);
    assert.equal(res.json.error?.code, 'ModelNotReady');
  });
});
