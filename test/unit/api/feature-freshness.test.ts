import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import type { Readiness } from '../../../api/health/readiness.ts';
import { modelFeatureFreshness } from '../../../api/features/feature-freshness.ts';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import type { ModelRoutes } from '../../../api/serving/routing.ts';
import type { OnlineSnapshot } from '../../../shared/data/online-snapshot.ts';
import { createLogger } from '../../../shared/logger.ts';
import { onlineFeatureKeys } from '../../../shared/storage-keys.ts';
import { encodeSnapshot } from '../../../formats/online-snapshot/snapshot-codec.ts';
import { FLIGHTS_SPEC_HASH, flightEvent, flightsSnapshot, registerFlightsModel, storeFlightsFeatures } from './support/flights-model.ts';
import { MemoryStore } from './support/memory-store.ts';
import { startTestApi, testConfig, writeServingConfig } from './support/test-api.ts';

const MODEL = 'flight-delay';

describe('modelFeatureFreshness', () => {
  const routes = (hash: string) => new Map([[MODEL, { primary: { manifest: { featureDefinitionHash: hash } } } as unknown as ModelRoutes]]);
  const now = Date.parse('2026-01-01T12:00:00Z');
  const served = { key: 'k', asOf: now - 600_000, writtenAt: now - 60_000 };

  test('age is now minus the as-of instant; past the bound the features are stale', () => {
    const current = modelFeatureFreshness(routes('h'), { freshness: () => served }, now, 3_600_000)[MODEL];
    assert.equal(current?.state, 'current');
    assert.equal(current?.ageSeconds, 600);
    assert.equal(current?.refreshedAt, '2026-01-01T11:59:00.000Z');
    assert.equal(modelFeatureFreshness(routes('h'), { freshness: () => served }, now, 300_000)[MODEL]?.state, 'stale');
  });

  test('a newer snapshot that could not be loaded makes them stale whatever their age; a spec without snapshot is left out', () => {
    const failed = modelFeatureFreshness(routes('h'), { freshness: () => ({ ...served, lastError: 'Unexpected token' }) }, now, 3_600_000)[MODEL];
    assert.equal(failed?.state, 'stale');
    assert.equal(failed?.lastError, 'Unexpected token');
    assert.deepEqual(modelFeatureFreshness(routes('h'), { freshness: () => undefined }, now, 3_600_000), {});
  });
});

async function until(condition: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('online feature freshness in /readyz and /metrics', () => {
  test('age and refresh time per model; a refresh that fails keeps the last good snapshot serving and says stale', async () => {
    const store = new MemoryStore();
    const config = testConfig({ SLUICE_SERVING_POLL_INTERVAL_MS: '100', SLUICE_SERVING_FEATURES_MAX_AGE: '30m' });
    const registry = new ModelRegistry(store, config.buckets.models);
    const v1 = await registerFlightsModel(registry, MODEL);
    await writeServingConfig(store, config, { [MODEL]: { primary: v1.version } }, 1);
    const good: OnlineSnapshot = { ...flightsSnapshot(), asOf: new Date(Date.now() - 600_000).toISOString() };
    await storeFlightsFeatures(store, config, good);
    const definitions = new StoredFeatureDefinitions(store, config.buckets, 100, createLogger('error'));
    await using api = await startTestApi({ store, config, assemblers: new OnlineFeatureAssemblers(definitions) });
    await api.firstPoll;
    const score = async () => (await api.predict(MODEL, { event: flightEvent(3) })).json.prediction?.score;
    const before = await score();
    assert.equal(typeof before, 'number');

    const ready = await api.request<Readiness>('GET', '/readyz');
    assert.equal(ready.status, 200);
    const fresh = ready.json.onlineFeatures[MODEL];
    assert.equal(fresh?.state, 'current');
    assert.equal(fresh?.asOf, good.asOf);
    assert.ok(fresh && fresh.ageSeconds >= 600 && fresh.ageSeconds < 660, `age ${fresh?.ageSeconds}`);
    assert.equal(fresh?.maxAgeSeconds, 1800);
    const metricValue = (text: string, name: string) => Number(new RegExp(`^${name}\\{model="${MODEL}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    const metrics = (await api.request('GET', '/metrics')).text;
    const age = metricValue(metrics, 'sluice_online_features_age_seconds');
    assert.ok(age >= 600 && age < 660, `age metric ${age}`);
    const refreshed = metricValue(metrics, 'sluice_online_features_refreshed_timestamp_seconds');
    assert.ok(Math.abs(refreshed - Date.parse(fresh?.refreshedAt ?? '') / 1000) < 0.001 && Math.abs(refreshed - Date.now() / 1000) < 60, `refreshed ${refreshed}`);
    assert.equal(metricValue(metrics, 'sluice_online_features_stale'), 0);

    // A refresh that wrote a newer snapshot the API cannot read: the good one keeps serving, reported stale.
    const brokenKey = onlineFeatureKeys.snapshot(FLIGHTS_SPEC_HASH, good.datasetVersion, new Date().toISOString());
    const whole = encodeSnapshot({ ...good, asOf: new Date().toISOString() });
    await store.put(config.buckets.serving, brokenKey, whole.subarray(0, whole.length - 8));
    await until(async () => (await api.request<Readiness>('GET', '/readyz')).json.onlineFeatures[MODEL]?.state === 'stale', 'the failed load to be reported');
    const stale = await api.request<Readiness>('GET', '/readyz');
    assert.equal(stale.status, 200, 'stale features do not take the replica out of service');
    assert.equal(stale.json.onlineFeatures[MODEL]?.asOf, good.asOf);
    assert.equal(stale.json.onlineFeatures[MODEL]?.lastError, `online snapshot s3://${config.buckets.serving}/${brokenKey} cannot be read: truncated or padded: ${whole.length - 8} bytes, its header says ${whole.length}`);
    assert.equal(metricValue((await api.request('GET', '/metrics')).text, 'sluice_online_features_stale'), 1);
    assert.equal(await score(), before, 'still scored with the last good snapshot');
    definitions.close();
  });

  test('features older than SLUICE_SERVING_FEATURES_MAX_AGE are stale and still served', async () => {
    const store = new MemoryStore();
    const config = testConfig({ SLUICE_SERVING_POLL_INTERVAL_MS: '100', SLUICE_SERVING_FEATURES_MAX_AGE: '5m' });
    const registry = new ModelRegistry(store, config.buckets.models);
    const v1 = await registerFlightsModel(registry, MODEL);
    await writeServingConfig(store, config, { [MODEL]: { primary: v1.version } }, 1);
    const old: OnlineSnapshot = { ...flightsSnapshot(), asOf: new Date(Date.now() - 600_000).toISOString() };
    await storeFlightsFeatures(store, config, old);
    const definitions = new StoredFeatureDefinitions(store, config.buckets, 100, createLogger('error'));
    await using api = await startTestApi({ store, config, assemblers: new OnlineFeatureAssemblers(definitions) });
    await api.firstPoll;
    assert.equal((await api.predict(MODEL, { event: flightEvent(3) })).status, 200);
    const ready = await api.request<Readiness>('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status, 'ready');
    assert.equal(ready.json.onlineFeatures[MODEL]?.state, 'stale');
    assert.equal(ready.json.onlineFeatures[MODEL]?.lastError, undefined);
    definitions.close();
  });
});
