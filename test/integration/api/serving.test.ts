import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import type { Config } from '../../../shared/config.ts';
import { createLogger } from '../../../shared/logger.ts';
import { feedbackKeys, predictionLogKeys } from '../../../shared/api/prediction-log.ts';
import { flightEvent, flightsSnapshot, registerFlightsModel, registerTrainedFlightsModel, trainFlightsModel } from '../../unit/api/support/flights-model.ts';
import { KEYS, startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { stackConfig } from '../../support/stack.ts';
import { isolatedConfig, queryObjects, storeFlightsFeatures } from './minio-support.ts';

/**
 * The API on the real stack's MinIO: models from the registry, features from what the feature
 * pipeline stored (spec in the features bucket, online snapshot in the serving bucket), the serving
 * config polled by etag, and the prediction log written as Parquet and read back with DuckDB.
 */

const store = MinioArtifactStore.fromConfig(stackConfig().minio);
const uniqueModel = () => `flights-${Math.random().toString(36).slice(2, 8)}`;

async function servingStack(env: Record<string, string> = {}) {
  const config = await isolatedConfig(store, { SLUICE_SERVING_POLL_INTERVAL_MS: '150', ...env });
  await storeFlightsFeatures(store, config);
  const registry = new ModelRegistry(store, config.buckets.models);
  const definitions = new StoredFeatureDefinitions(store, config.buckets, 150, createLogger('error'));
  const start = async () => {
    const api = await startTestApi({ store, config, assemblers: new OnlineFeatureAssemblers(definitions) });
    await api.firstPoll;
    return api;
  };
  return { config, registry, definitions, start };
}

async function until(condition: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const logFiles = (config: Config, model: string) => store.list(config.buckets.predictions, predictionLogKeys.prefix(model));

describe('serving on MinIO', () => {
  test('features come from the stored spec and snapshot; a newer snapshot is picked up', async () => {
    const { config, registry, definitions, start } = await servingStack();
    const model = uniqueModel();
    const v1 = await registerFlightsModel(registry, model);
    await writeServingConfig(store, config, { [model]: { primary: v1.version } }, 1);
    await using api = await start();
    const event = flightEvent(4);
    const before = (await api.predict(model, { event })).json.prediction?.score;
    assert.equal(typeof before, 'number');

    // The materialization writes a later snapshot in which this origin's recent delays are much worse.
    const later = flightsSnapshot();
    later.asOf = '2001-06-08T00:00:00.000Z';
    for (const table of later.tables) for (const entry of table.entries) entry[1] = entry[1].map((v, i) => (i === 0 && v !== null ? Math.min(1, v + 0.5) : v));
    await storeFlightsFeatures(store, config, later);
    await until(async () => (await api.predict(model, { event })).json.prediction?.score !== before, 'the newer snapshot to be used');
    definitions.close();
  });

  test('hot swap under load on MinIO: every request succeeds and the new version takes over', async () => {
    const { config, registry, definitions, start } = await servingStack();
    const model = uniqueModel();
    const v1 = await registerFlightsModel(registry, model, { seed: 1 });
    const v2 = await registerFlightsModel(registry, model, { seed: 2 });
    await writeServingConfig(store, config, { [model]: { primary: v1.version } }, 1);
    await using api = await start();
    let stop = false;
    const statuses = new Map<number, number>();
    const seen = new Set<number>();
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; !stop; i++) {
          const res = await api.predict(model, { event: flightEvent(c * 10_000 + i) });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.json.prediction) seen.add(res.json.prediction.modelVersion);
        }
      }),
    );
    await sleep(300);
    await writeServingConfig(store, config, { [model]: { primary: v1.version, canary: { version: v2.version, percent: 50 } } }, 2);
    await sleep(500);
    await writeServingConfig(store, config, { [model]: { primary: v2.version } }, 3);
    await until(async () => (await api.predict(model, { event: flightEvent(1) })).json.prediction?.modelVersion === v2.version, 'version 2 to take over');
    await sleep(300);
    stop = true;
    await load;
    assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(200) ?? 0) > 100);
    assert.deepEqual([...seen].sort(), [v1.version, v2.version]);
    definitions.close();
  });

  test('the prediction log: flushed by size and by age to Parquet partitioned by model and hour, with every field of every prediction', async () => {
    const { config, registry, definitions, start } = await servingStack({ SLUICE_SERVING_LOG_FLUSH_ROWS: '6', SLUICE_SERVING_LOG_FLUSH_INTERVAL_MS: '400' });
    const model = uniqueModel();
    const v1 = await registerFlightsModel(registry, model);
    await writeServingConfig(store, config, { [model]: { primary: v1.version } }, 1);
    await using api = await start();

    const answers = new Map<string, { score: number; label: boolean }[]>();
    const startedAt = Date.now();
    for (let i = 0; i < 3; i++) {
      const res = await api.request('POST', `/v1/models/${model}/predict`, { key: KEYS.predict, body: { event: flightEvent(i) }, headers: { 'x-request-id': `single-${i}` } });
      answers.set(`single-${i}`, [res.json.prediction as { score: number; label: boolean }]);
    }
    const batch = [flightEvent(10), { ...flightEvent(11), distance: null, destination: null }, flightEvent(12)];
    const res = await api.request('POST', `/v1/models/${model}/predict`, { key: KEYS.predict, body: { events: batch, routingKey: 'customer-7' }, headers: { 'x-request-id': 'batch-1' } });
    answers.set('batch-1', res.json.predictions as { score: number; label: boolean }[]);
    // 6 rows reach SLUICE_SERVING_LOG_FLUSH_ROWS: written without anyone asking.
    await until(async () => (await logFiles(config, model)).length >= 1, 'the flush by size');

    const lone = await api.request('POST', `/v1/models/${model}/predict`, { key: KEYS.predict, body: { event: flightEvent(20) }, headers: { 'x-request-id': 'lone' } });
    answers.set('lone', [lone.json.prediction as { score: number; label: boolean }]);
    // One row, far below the size trigger: written once it is older than SLUICE_SERVING_LOG_FLUSH_INTERVAL_MS.
    await until(async () => (await logFiles(config, model)).length >= 2, 'the flush by age');

    const files = await logFiles(config, model);
    const hour = new Date(startedAt).toISOString().slice(0, 13);
    for (const file of files) assert.match(file.key, new RegExp(`^predictions/model=${model}/hour=${hour}|^predictions/model=${model}/hour=`));
    const rows = await queryObjects(store, config.buckets.predictions, predictionLogKeys.prefix(model), (dir) =>
      `SELECT request_id, event_index, epoch_ms(predicted_at) AS at, model, model_version, route, routing_key, score, threshold, label, latency_ms, features, hour
       FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true) ORDER BY request_id, event_index`,
    );
    assert.equal(rows.length, 7);
    for (const row of rows) {
      const answer = answers.get(row.request_id as string)?.[row.event_index as number];
      assert.ok(answer, `row for ${String(row.request_id)}`);
      assert.equal(row.score, answer.score, 'the logged score is the answered score');
      assert.equal(row.label, answer.label);
      assert.equal(row.model, model);
      assert.equal(row.model_version, v1.version);
      assert.equal(row.route, 'primary');
      assert.equal(row.threshold, Math.fround(0.3));
      assert.ok((row.latency_ms as number) > 0);
      assert.ok(Math.abs(Number(row.at) - startedAt) < 60_000);
      assert.equal(row.hour, hour);
    }
    const byId = (id: string, index = 0) => rows.find((r) => r.request_id === id && r.event_index === index) as { routing_key: string | null; features: Record<string, unknown> };
    assert.equal(byId('batch-1').routing_key, 'customer-7');
    assert.equal(byId('single-0').routing_key, null);
    const features = byId('batch-1', 0).features;
    assert.equal(features.distance_miles, flightEvent(10).distance);
    assert.equal(features.origin_airport, flightEvent(10).origin);
    assert.equal(features.hour_of_day, Number(flightEvent(10).date.slice(11, 13)));
    assert.equal(byId('batch-1', 1).features.distance_miles, null, 'a missing value is NULL in the log');
    assert.equal(byId('batch-1', 1).features.destination_airport, null);
    assert.match((await api.request('GET', '/metrics')).text, /^sluice_prediction_log_written_rows_total 7$/m);
    definitions.close();
  });

  test('feedback joins the prediction log by request id and event index', async () => {
    const { config, registry, definitions, start } = await servingStack();
    const model = uniqueModel();
    const v1 = await registerFlightsModel(registry, model);
    await writeServingConfig(store, config, { [model]: { primary: v1.version } }, 1);
    await using api = await start();
    const a = await api.predict(model, { events: [flightEvent(1), flightEvent(2)] });
    const b = await api.predict(model, { event: flightEvent(3) });
    const idA = a.json.requestId ?? '';
    const idB = b.json.requestId ?? '';
    const sent = await api.request('POST', '/v1/feedback', { key: KEYS.feedback, body: { labels: [{ requestId: idA, eventIndex: 1, label: true }, { requestId: idB, label: false }] } });
    assert.equal(sent.status, 200, sent.text);
    await api.predictionLog.flush();

    const joined = await queryObjects(store, config.buckets.predictions, '', (dir) =>
      `SELECT p.request_id, p.event_index, p.score, f.label AS outcome, f.received_from
       FROM read_parquet('${dir}/${predictionLogKeys.prefix(model)}**/*.parquet') p
       JOIN read_json('${dir}/${feedbackKeys.prefix}**/*.jsonl', format = 'newline_delimited') f
         ON f.request_id = p.request_id AND f.event_index = p.event_index
       ORDER BY p.request_id = '${idA}' DESC`,
    );
    assert.deepEqual(
      joined.map((r) => [r.request_id, r.event_index, r.outcome, r.received_from]),
      [
        [idA, 1, true, 'app-feedback'],
        [idB, 0, false, 'app-feedback'],
      ],
    );
    assert.equal(joined[0]?.score, a.json.predictions?.[1]?.score);
    definitions.close();
  });

  test('a key scoped to flights-* predicts, sends feedback and reads the console for those models only; elsewhere 403 names the scope', async () => {
    const { config, registry, definitions, start } = await servingStack();
    const model = uniqueModel();
    const other = model.replace(/^flights-/, 'weather-');
    const trained = await trainFlightsModel();
    const [mine, theirs] = [await registerTrainedFlightsModel(registry, model, trained), await registerTrainedFlightsModel(registry, other, trained)];
    await writeServingConfig(store, config, { [model]: { primary: mine.version }, [other]: { primary: theirs.version } }, 1);
    await using api = await start();
    const has = '(it has: predict:flights-*, feedback:flights-*, admin:flights-*)';
    const refusal = (res: { status: number; json: { error?: { code: string; message: string; field?: string } } }) => [res.status, res.json.error?.code, res.json.error?.message, res.json.error?.field];

    const predicted = await api.predict(model, { event: flightEvent(1) }, KEYS.flights);
    assert.equal(predicted.status, 200, predicted.text);
    assert.deepEqual(refusal(await api.predict(other, { event: flightEvent(1) }, KEYS.flights)), [403, 'Forbidden', `API key "app-flights" lacks the "predict:${other}" scope ${has}`, 'headers.authorization']);
    const mlflow = await api.request('POST', `/v1/models/${other}/invocations`, { key: KEYS.flights, body: { instances: [flightEvent(1)] } });
    assert.equal(mlflow.status, 403);
    assert.equal((await api.predict(other, { event: flightEvent(1) }, KEYS.predict)).status, 200, 'a predict key still reaches every model');

    const label = { labels: [{ requestId: predicted.json.requestId, label: true }] };
    const stored = await api.request('POST', `/v1/models/${model}/feedback`, { key: KEYS.flights, body: label });
    assert.equal(stored.status, 200, stored.text);
    assert.deepEqual(refusal(await api.request('POST', `/v1/models/${other}/feedback`, { key: KEYS.flights, body: label })), [403, 'Forbidden', `API key "app-flights" lacks the "feedback:${other}" scope ${has}`, 'headers.authorization']);
    // Labels by request id alone name no model, so only a feedback scope on every model sends them.
    const unnamed = await api.request('POST', '/v1/feedback', { key: KEYS.flights, body: label });
    assert.equal(unnamed.status, 403);
    assert.match(unnamed.json.error?.message ?? '', /lacks the "feedback" scope .*only a scope on every model reaches it/);

    const served = await api.request<{ models: { name: string }[] }>('GET', '/v1/models', { key: KEYS.flights });
    assert.deepEqual(served.json.models.map((m) => m.name), [model]);
    assert.equal((await api.request('GET', `/v1/models/${other}`, { key: KEYS.flights })).status, 403);
    // The console: the models bucket is the stack's, shared with other tests, so only this key's share is asserted.
    const listed = (await api.request<{ models: { name: string }[] }>('GET', '/v1/console/models', { key: KEYS.flights })).json.models.map((m) => m.name);
    assert.ok(listed.includes(model) && listed.every((name) => name.startsWith('flights-')), listed.join(', '));
    assert.equal((await api.request('GET', `/v1/console/models/${model}`, { key: KEYS.flights })).status, 200);
    assert.deepEqual(refusal(await api.request('GET', `/v1/console/models/${other}/rollouts`, { key: KEYS.flights })), [403, 'Forbidden', `API key "app-flights" lacks the "predict:${other}" or "admin:${other}" scope ${has}`, 'headers.authorization']);
    definitions.close();
  });

  test('a shadow version scores off the request path: logged as shadow, never returned', async () => {
    const { config, registry, definitions, start } = await servingStack();
    const model = uniqueModel();
    const v1 = await registerFlightsModel(registry, model, { seed: 1 });
    const v2 = await registerFlightsModel(registry, model, { seed: 2 });
    await writeServingConfig(store, config, { [model]: { primary: v1.version, shadow: { version: v2.version, percent: 100 } } }, 1);
    await using api = await start();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api.predict(model, { event: flightEvent(i) });
      assert.equal(res.json.prediction?.modelVersion, v1.version, 'the caller only ever sees the primary');
      ids.push(res.json.requestId ?? '');
    }
    await until(async () => /role="shadow"\} 5$/m.test((await api.request('GET', '/metrics')).text), 'the shadow scorings');
    await api.predictionLog.flush();
    const rows = await queryObjects(store, config.buckets.predictions, predictionLogKeys.prefix(model), (dir) => `SELECT request_id, route, model_version FROM read_parquet('${dir}/**/*.parquet') ORDER BY route, request_id`);
    assert.deepEqual(
      rows.filter((r) => r.route === 'shadow').map((r) => [r.request_id, r.model_version]),
      [...ids].sort().map((id) => [id, v2.version]),
    );
    assert.equal(rows.filter((r) => r.route === 'primary').length, 5);
    definitions.close();
  });
});
