import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import type { Readiness } from '../../../api/health/readiness.ts';
import { SERVING_CONFIG_KEY } from '../../../shared/serving-config.ts';
import { flightEvent, registerFlightsModel } from './support/flights-model.ts';
import { MemoryStore } from './support/memory-store.ts';
import { type TestApi, startTestApi, testConfig, writeServingConfig } from './support/test-api.ts';

/**
 * The serving config poller against an in-memory store (the same behaviour against MinIO, with a
 * real outage, is in test/integration/api): swaps are atomic and lose nothing, and whatever goes
 * wrong with the store or the config, the last good config keeps serving and /readyz says why.
 */

const MODEL = 'flight-delay';

async function setup() {
  const store = new MemoryStore();
  const config = testConfig({ SLUICE_SERVING_POLL_INTERVAL_MS: '100' });
  const registry = new ModelRegistry(store, config.buckets.models);
  const v1 = await registerFlightsModel(registry, MODEL, { seed: 1 });
  const v2 = await registerFlightsModel(registry, MODEL, { seed: 2, threshold: 0.5 });
  await writeServingConfig(store, config, { [MODEL]: { primary: v1.version } }, 1);
  const api = await startTestApi({ store, config });
  await api.firstPoll;
  return { store, config, registry, api, v1: v1.version, v2: v2.version };
}

async function until(condition: () => Promise<boolean> | boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const readiness = async (api: TestApi) => {
  const res = await api.request<Readiness>('GET', '/readyz');
  return { status: res.status, body: res.json };
};

const versionServing = async (api: TestApi) => (await api.predict(MODEL, { event: flightEvent(5) })).json.prediction?.modelVersion;

describe('serving config', () => {
  test('a new config swaps versions under load with no failed request, and the old version is released', async () => {
    const { store, config, api, v2 } = await setup();
    await using _ = api;
    let stop = false;
    const statuses: number[] = [];
    const versions = new Set<number>();
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; !stop; i++) {
          const res = await api.predict(MODEL, { event: flightEvent(c * 1000 + i) });
          statuses.push(res.status);
          if (res.json.prediction) versions.add(res.json.prediction.modelVersion);
        }
      }),
    );
    await sleep(200);
    await writeServingConfig(store, config, { [MODEL]: { primary: v2 } }, 2);
    await until(async () => (await versionServing(api)) === v2, 'version 2 to serve');
    await sleep(200);
    stop = true;
    await load;
    assert.ok(statuses.length > 50, `only ${statuses.length} requests ran`);
    assert.deepEqual([...new Set(statuses)], [200], 'every request during the swap succeeded');
    assert.deepEqual([...versions].sort(), [1, 2]);
    const metrics = (await api.request('GET', '/metrics')).text;
    assert.match(metrics, /^sluice_serving_model_versions_loaded 1$/m, 'version 1 was released');
    assert.match(metrics, /^sluice_serving_config_revision 2$/m);
  });

  test('store unreachable: the last good config keeps serving, /readyz and /metrics say it is stale, and it recovers', async () => {
    const { store, api } = await setup();
    await using _ = api;
    store.down = true;
    await until(async () => (await readiness(api)).body.servingConfig.state === 'stale', 'the poller to notice');
    const { status, body } = await readiness(api);
    assert.equal(status, 200, 'still ready: it serves its last good config');
    assert.match(body.servingConfig.lastError ?? '', /object store unreachable.*ECONNREFUSED/);
    assert.equal(body.servingConfig.revision, 1);
    for (let i = 0; i < 20; i++) assert.equal((await api.predict(MODEL, { event: flightEvent(i) })).status, 200);
    assert.match((await api.request('GET', '/metrics')).text, /^sluice_serving_config_stale 1$/m);
    assert.match((await api.request('GET', '/metrics')).text, /^sluice_serving_config_poll_errors_total\{reason="unreachable"\} [1-9]/m);
    store.down = false;
    await until(async () => (await readiness(api)).body.servingConfig.state === 'current', 'recovery');
    assert.match((await api.request('GET', '/metrics')).text, /^sluice_serving_config_stale 0$/m);
  });

  test('an invalid config, or one older than the one served, is refused and the last good one keeps serving', async () => {
    const { store, config, api, v2 } = await setup();
    await using _ = api;
    await store.put(config.buckets.serving, SERVING_CONFIG_KEY, '{"kind": "sluice.serving-config", "revision": 2, "models": {"flight-delay": {"primary": "two"}}}');
    await until(async () => (await readiness(api)).body.servingConfig.state === 'stale', 'the invalid config to be noticed');
    assert.match((await readiness(api)).body.servingConfig.lastError ?? '', /is invalid/);
    assert.equal(await versionServing(api), 1);

    await writeServingConfig(store, config, { [MODEL]: { primary: v2 } }, 3);
    await until(async () => (await versionServing(api)) === v2, 'revision 3 to apply');
    await writeServingConfig(store, config, { [MODEL]: { primary: 1 } }, 2);
    await until(async () => ((await readiness(api)).body.servingConfig.lastError ?? '').includes('older than revision 3'), 'the older revision to be refused');
    assert.equal(await versionServing(api), v2);
  });

  test('a version that cannot be loaded leaves the model on what it served; a new model that cannot load is not ready', async () => {
    const { store, config, api } = await setup();
    await using _ = api;
    await writeServingConfig(store, config, { [MODEL]: { primary: 1, canary: { version: 99, percent: 50 } } }, 2);
    await until(async () => Object.keys((await readiness(api)).body.modelErrors).length > 0, 'the load failure');
    let ready = await readiness(api);
    assert.equal(ready.status, 200);
    assert.match(ready.body.modelErrors[MODEL] ?? '', /no version 99/);
    for (let i = 0; i < 10; i++) assert.equal(await versionServing(api), 1);

    await writeServingConfig(store, config, { [MODEL]: { primary: 1 }, 'new-model': { primary: 1 } }, 3);
    await until(async () => (await readiness(api)).status === 503, 'not ready for the new model');
    ready = await readiness(api);
    assert.match(ready.body.reasons.join('; '), /new-model has no loaded version/);
    const res = await api.predict('new-model', { event: flightEvent(1) });
    assert.equal(res.status, 503);
    assert.equal(res.json.error?.code, 'ModelNotReady');
  });

  test('a canary takes its share; the same routing key is always served by the same version', async () => {
    const { store, config, api, v2 } = await setup();
    await using _ = api;
    await writeServingConfig(store, config, { [MODEL]: { primary: 1, canary: { version: v2, percent: 30 } } }, 2);
    await until(async () => ((await api.request<{ versions: unknown[] }>('GET', `/v1/models/${MODEL}`, { key: 'test-key-predict' })).json.versions?.length ?? 0) === 2, 'the canary');
    const byKey = new Map<string, number>();
    for (let k = 0; k < 200; k++) {
      const res = await api.predict(MODEL, { event: flightEvent(k), routingKey: `user-${k}` });
      byKey.set(`user-${k}`, res.json.prediction?.modelVersion ?? 0);
    }
    const canaryShare = [...byKey.values()].filter((v) => v === v2).length / byKey.size;
    assert.ok(canaryShare > 0.2 && canaryShare < 0.4, `canary share ${canaryShare}`);
    for (const [key, version] of [...byKey].slice(0, 40)) {
      assert.equal((await api.predict(MODEL, { event: flightEvent(7), routingKey: key })).json.prediction?.modelVersion, version);
    }
  });
});
