import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { ExecutionProviders, ModelSessionError } from '../../../domain/scoring/execution-providers.ts';
import { InProcessScoring } from '../../../api/scoring/in-process-scoring.ts';
import { ScoringThread } from '../../../api/scoring/scoring-thread-client.ts';
import { createLogger } from '../../../shared/logger.ts';
import { PROBABILITY_OUTPUT } from '../../../shared/model-graph.ts';
import { flightEvent, registerFlightsModel, trainFlightsModel } from './support/flights-model.ts';
import { MemoryStore } from './support/memory-store.ts';
import { startTestApi, testConfig, writeServingConfig } from './support/test-api.ts';

/**
 * This machine's onnxruntime-node has no CUDA provider files (installed with
 * onnxruntime-node-install=skip), so asking for cuda first must fall back to cpu, say so once, and
 * report which provider is active.
 */
const SHAPE = { kNum: 5, kCat: 2, output: PROBABILITY_OUTPUT };

describe('execution provider fallback', () => {
  for (const scoringThread of [true, false]) {
    test(`cuda,cpu: sessions run on cpu, with exactly one warning however many models load (scoring thread: ${scoringThread})`, async () => {
      const lines: string[] = [];
      const providers = new ExecutionProviders(['cuda', 'cpu'], createLogger('info', {}, (l) => lines.push(l)), scoringThread ? new ScoringThread(1) : new InProcessScoring(1));
      const { model } = await trainFlightsModel();
      for (let version = 1; version <= 3; version++) {
        const { session, provider } = await providers.createSession(model.toOnnx({ modelName: 'm', modelVersion: version, lineage: {} }), `m v${version}`, SHAPE);
        assert.equal(provider, 'cpu');
        providers.track(provider, 1);
        await session.release();
      }
      const warnings = lines.map((l) => JSON.parse(l) as { level: string; msg: string; provider?: string }).filter((l) => l.level === 'warn');
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]?.provider, 'cuda');
      const report = providers.report();
      assert.deepEqual(report.active, ['cpu']);
      assert.match(report.unavailable.cuda ?? '', /CUDA|cuda|shared library/i);
      await providers.close();
    });
  }

  test('a broken model does not make a provider look unavailable', async () => {
    const providers = new ExecutionProviders(['cuda', 'cpu'], createLogger('error'), new ScoringThread(1));
    await assert.rejects(providers.createSession(new Uint8Array([1, 2, 3]), 'garbage', SHAPE), ModelSessionError);
    assert.deepEqual(providers.report().unavailable, {});
    await providers.close();
  });

  test('the API reports the active provider in /readyz and /metrics', async () => {
    const store = new MemoryStore();
    const config = testConfig({ SLUICE_SERVING_EXECUTION_PROVIDERS: 'cuda,cpu' });
    const manifest = await registerFlightsModel(new ModelRegistry(store, config.buckets.models), 'flight-delay');
    await writeServingConfig(store, config, { 'flight-delay': { primary: manifest.version } }, 1);
    await using api = await startTestApi({ store, config });
    await api.firstPoll;
    assert.equal((await api.predict('flight-delay', { event: flightEvent(1) })).status, 200);
    const ready = await api.request<{ executionProviders: { preferences: string[]; active: string[]; unavailable: Record<string, string> } }>('GET', '/readyz');
    assert.deepEqual(ready.json.executionProviders.preferences, ['cuda', 'cpu']);
    assert.deepEqual(ready.json.executionProviders.active, ['cpu']);
    assert.ok(ready.json.executionProviders.unavailable.cuda);
    const metrics = (await api.request('GET', '/metrics')).text;
    assert.match(metrics, /^sluice_onnx_execution_provider_info\{provider="cpu"\} 1$/m);
    assert.match(metrics, /^sluice_onnx_execution_provider_unavailable_info\{provider="cuda"\} 1$/m);
  });
});
