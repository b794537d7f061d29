import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { SERVING_CONFIG_KEY, servingConfigSchema } from '../../../shared/serving-config.ts';
import type { DeploymentView } from '../../../workflows/model-deployment.ts';
import { registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { type AnswerJson, KEYS, type TestApi, startTestApi, testConfig } from '../../unit/api/support/test-api.ts';
import { stackConfig, testIds } from '../../support/stack.ts';
import { startDeploymentWorker } from '../deployment/deployment-worker.ts';

/**
 * Deployment control over HTTP (admin scope) against the real `modelDeployment` workflow and its
 * real activities on the test stack: the API relays to the same Updates as the CLI, and the serving
 * config in MinIO is what changes.
 */

interface DeploymentAnswer extends AnswerJson {
  model: string;
  by?: string;
  state: DeploymentView;
}

describe('deployments over HTTP', () => {
  const suffix = randomBytes(4).toString('hex');
  const config = testConfig({
    SLUICE_TASK_QUEUE_PIPELINE: testIds('api deployments').taskQueue,
    SLUICE_BUCKET_SERVING: `sluice-serving-${suffix}`,
    SLUICE_BUCKET_PREDICTIONS: `sluice-predictions-${suffix}`,
    SLUICE_BUCKET_MODELS: `sluice-models-${suffix}`,
  });
  const store = MinioArtifactStore.fromConfig(stackConfig().minio);
  let deployments: Awaited<ReturnType<typeof startDeploymentWorker>>;
  let api: TestApi;

  before(async () => {
    for (const bucket of Object.values(config.buckets)) await store.ensureBucket(bucket);
    deployments = await startDeploymentWorker(config, store);
    api = await startTestApi({ store, config });
  });
  after(async () => {
    await api.shutdown();
    await deployments.stop();
  });

  const routes = async (model: string) => servingConfigSchema.parse(JSON.parse((await store.get(config.buckets.serving, SERVING_CONFIG_KEY)).toString())).models[model];
  const admin = (method: string, path: string, body?: unknown) => api.request<DeploymentAnswer>(method, path, { key: KEYS.admin, ...(body === undefined ? {} : { body }) });

  test('rollout, status, pause, resume, rollback as the key holder; refusals are 409 and change nothing', async () => {
    const registry = new ModelRegistry(store, config.buckets.models);
    const model = `http-${suffix}`;
    const v1 = await registerFlightsModel(registry, model, { seed: 1 });
    await registry.transition(model, v1.version, 'approved', { by: 'test' });
    await registry.promote(model, v1.version, { by: 'test' });
    const v2 = await registerFlightsModel(registry, model, { seed: 2 });
    await registry.transition(model, v2.version, 'approved', { by: 'test' });

    const none = await admin('GET', `/v1/deployments/${model}`);
    assert.equal(none.status, 404, none.text);
    assert.equal(none.json.error?.code, 'DeploymentNotFound');
    assert.match(none.json.error?.message ?? '', /POST \/v1\/deployments\/http-[0-9a-f]+\/rollout/);

    const forbidden = await api.request('POST', `/v1/deployments/${model}/rollout`, { key: KEYS.predict, body: { version: v2.version } });
    assert.equal(forbidden.status, 403, 'a predict key cannot deploy');
    // A key with admin on the flights-* models only: refused on this model, naming the scope; let through on its own (none deployed).
    const otherModel = await api.request('POST', `/v1/deployments/${model}/rollout`, { key: KEYS.flights, body: { version: v2.version } });
    assert.equal(otherModel.status, 403);
    assert.equal(otherModel.json.error?.message, `API key "app-flights" lacks the "admin:${model}" scope (it has: predict:flights-*, feedback:flights-*, admin:flights-*)`);
    assert.equal((await api.request('GET', `/v1/deployments/flights-${suffix}`, { key: KEYS.flights })).json.error?.code, 'DeploymentNotFound');
    assert.equal((await api.request('GET', `/v1/models/${model}/timeline`, { key: KEYS.flights })).status, 403);

    const badPlan = await admin('POST', `/v1/deployments/${model}/rollout`, { version: v2.version, plan: { steps: [{ percent: 10 }, { percent: 50 }] } });
    assert.equal(badPlan.status, 400, badPlan.text);
    assert.equal(badPlan.json.error?.field, 'plan.steps');
    assert.match(badPlan.json.error?.message ?? '', /last step must be 100/);

    const started = await admin('POST', `/v1/deployments/${model}/rollout`, { version: v2.version, plan: { steps: [{ percent: 10, bake: '1 hour' }, { percent: 100 }] }, reason: 'new features' });
    assert.equal(started.status, 200, started.text);
    assert.equal(started.json.by, 'ana-admin');
    assert.equal(started.json.state.current?.version, v2.version);
    assert.deepEqual(await routes(model), { primary: 1, canary: { version: 2, percent: 10 } });

    const again = await admin('POST', `/v1/deployments/${model}/rollout`, { version: v2.version });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error?.code, 'DeploymentRefused');
    assert.match(again.json.error?.message ?? '', /already rolling out/);
    assert.deepEqual(await routes(model), { primary: 1, canary: { version: 2, percent: 10 } }, 'a refused rollout changes nothing');

    const paused = await admin('POST', `/v1/deployments/${model}/pause`);
    assert.equal(paused.status, 200, `no body is needed: ${paused.text}`);
    assert.equal(paused.json.state.current?.paused, true);
    const resumed = await admin('POST', `/v1/deployments/${model}/resume`, { reason: 'looked fine' });
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal(resumed.json.state.current?.paused, false);

    const status = await admin('GET', `/v1/deployments/${model}`);
    assert.equal(status.status, 200);
    assert.equal(status.json.state.current?.version, v2.version);

    const rolledBack = await admin('POST', `/v1/deployments/${model}/rollback`, { reason: 'latency' });
    assert.equal(rolledBack.status, 200, rolledBack.text);
    assert.deepEqual(await routes(model), { primary: 1 });
    const last = rolledBack.json.state.history.at(-1);
    assert.equal(last?.outcome?.kind, 'rolled-back');
    assert.match(JSON.stringify(last), /ana-admin/);
    assert.match(JSON.stringify(last), /latency/);

    // The same story as a page a person opens, and as JSON for a script.
    const page = await api.request('GET', `/v1/models/${model}/timeline`, { key: KEYS.admin, headers: { accept: 'text/html' } });
    assert.equal(page.status, 200, page.text);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.text, new RegExp(model));
    assert.match(page.text, /rolled[- ]back/i);
    const json = await api.request<{ timeline: { model: string; events: { kind: string }[] } }>('GET', `/v1/models/${model}/timeline`, { key: KEYS.admin, headers: { accept: 'application/json' } });
    assert.equal(json.json.timeline.model, model);
    assert.ok(json.json.timeline.events.some((e) => e.kind === 'rollout-outcome'), JSON.stringify(json.json.timeline.events.map((e) => e.kind)));
    assert.equal((await api.request('GET', `/v1/models/nobody-${suffix}/timeline`, { key: KEYS.admin })).status, 404);

    const unknownField = await admin('POST', `/v1/deployments/${model}/promote`, { reason: 'x', force: true });
    assert.equal(unknownField.status, 400);
    assert.equal(unknownField.json.error?.field, 'force');
  });
});
