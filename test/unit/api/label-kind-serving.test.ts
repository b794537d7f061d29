import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { Readiness } from '../../../api/health/readiness.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { trainModel } from '../../../domain/training/train-model.ts';
import { trainerSpecSchema } from '../../../shared/trainers.ts';
import { flightEvent, flightsMatrix, registerFlightsModel, registerTrainedFlightsModel } from './support/flights-model.ts';
import { MemoryStore } from './support/memory-store.ts';
import { startTestApi, testConfig, writeServingConfig } from './support/test-api.ts';

/**
 * The prediction API answers with one probability per event; until it answers per kind, a regression
 * model put into the serving config is refused when loaded, with its kind named, and the binary
 * models beside it keep serving.
 */
describe('serving a model whose label is not binary', () => {
  test('a regression version is refused at load with its kind named; the binary model beside it serves', async () => {
    const store = new MemoryStore();
    const config = testConfig({ SLUICE_SERVING_POLL_INTERVAL_MS: '100' });
    const registry = new ModelRegistry(store, config.buckets.models);
    const binary = await registerFlightsModel(registry, 'flight-delay');

    const trainer = trainerSpecSchema.parse({ kind: 'gbdt', nTrees: 5, maxLeaves: 7, minSamplesLeaf: 20 });
    const withMinutes = (rows: number, seed: number) => {
      const matrix = flightsMatrix(rows, seed);
      // Minutes late: the binary signal scaled, so the trainer has something to fit.
      return { ...matrix, label: new Uint8Array(rows), task: { kind: 'regression' as const, values: Float64Array.from(matrix.label, (l, i) => 40 * l + (i % 7)) } };
    };
    const model = await trainModel(trainer, { train: withMinutes(800, 1), validation: withMinutes(200, 2) }, { seed: 1 });
    const minutes = await registerTrainedFlightsModel(registry, 'flight-delay-minutes', { model, trainer, threshold: 0.5, seed: 1 });

    await writeServingConfig(store, config, { 'flight-delay': { primary: binary.version }, 'flight-delay-minutes': { primary: minutes.version } }, 1);
    const api = await startTestApi({ store, config });
    await using _ = api;
    await api.firstPoll;
    const deadline = Date.now() + 5000;
    let ready = await api.request<Readiness>('GET', '/readyz');
    while (!ready.json.modelErrors['flight-delay-minutes'] && Date.now() < deadline) {
      await sleep(20);
      ready = await api.request<Readiness>('GET', '/readyz');
    }
    assert.match(ready.json.modelErrors['flight-delay-minutes'] ?? '', /flight-delay-minutes version 1 is a regression model; the prediction API serves binary models only so far/);

    const refused = await api.predict('flight-delay-minutes', { event: flightEvent(1) });
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error?.code, 'ModelNotReady');
    assert.match(refused.json.error?.message ?? '', /regression model/);

    const served = await api.predict('flight-delay', { event: flightEvent(1) });
    assert.equal(served.status, 200);
    assert.equal(served.json.prediction?.modelVersion, binary.version);
  });
});
