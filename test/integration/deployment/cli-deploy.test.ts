import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { EXIT, runCli } from '../../../cli/main.ts';
import { loadConfig } from '../../../shared/config.ts';
import { SERVING_CONFIG_KEY, servingConfigSchema } from '../../../shared/serving-config.ts';
import { registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { stackConfig, testIds } from '../../support/stack.ts';
import { startDeploymentWorker } from './deployment-worker.ts';

/** `sluice deploy ...` against a worker with the real deployment activities on the test stack. */
describe('sluice deploy', () => {
  const suffix = randomBytes(4).toString('hex');
  const env = {
    ...process.env,
    SLUICE_TASK_QUEUE_PIPELINE: testIds('cli-deploy').taskQueue,
    SLUICE_BUCKET_SERVING: `sluice-serving-${suffix}`,
    SLUICE_BUCKET_PREDICTIONS: `sluice-predictions-${suffix}`,
  };
  const config = loadConfig(env);
  const store = MinioArtifactStore.fromConfig(stackConfig().minio);
  let deployments: Awaited<ReturnType<typeof startDeploymentWorker>>;

  before(async () => {
    for (const bucket of Object.values(config.buckets)) await store.ensureBucket(bucket);
    deployments = await startDeploymentWorker(config, store);
  });
  after(() => deployments.stop());

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, { write: (l) => out.push(l), error: (l) => out.push(l), env });
    return { code, text: out.join('\n') };
  };
  const routes = async (model: string) => servingConfigSchema.parse(JSON.parse((await store.get(config.buckets.serving, SERVING_CONFIG_KEY)).toString())).models[model];

  test('start, status, pause, resume, rollback; a refused request exits 1 with the reason', async () => {
    const registry = new ModelRegistry(store, config.buckets.models);
    const model = `cli-${suffix}`;
    const v1 = await registerFlightsModel(registry, model, { seed: 1 });
    await registry.transition(model, v1.version, 'approved', { by: 'test' });
    await registry.promote(model, v1.version, { by: 'test' });
    const v2 = await registerFlightsModel(registry, model, { seed: 2 });
    await registry.transition(model, v2.version, 'approved', { by: 'test' });
    const plan = join(mkdtempSync(join(tmpdir(), 'sluice-plan-')), 'plan.json');
    writeFileSync(plan, JSON.stringify({ steps: [{ percent: 10, bake: '1 hour' }, { percent: 100 }] }));

    const started = await cli('deploy', 'start', model, String(v2.version), '--by', 'ana', '--plan', plan, '--reason', 'new features');
    assert.equal(started.code, EXIT.ok, started.text);
    assert.match(started.text, /routes: primary v1, canary v2 10%/);
    assert.deepEqual(await routes(model), { primary: 1, canary: { version: 2, percent: 10 } });
    assert.equal((await registry.view(model, v2.version)).status, 'canary');
    assert.deepEqual((await registry.view(model, v2.version)).aliases, ['challenger']);

    const again = await cli('deploy', 'start', model, String(v2.version), '--by', 'ana');
    assert.equal(again.code, EXIT.userError);
    assert.match(again.text, /Refused: Version 2 of cli-[0-9a-f]+ is already rolling out/);

    assert.match((await cli('deploy', 'pause', model, '--by', 'ana')).text, /paused|canary/);
    assert.match((await cli('deploy', 'status', model)).text, /in progress/);
    const json = JSON.parse((await cli('deploy', 'status', model, '--json')).text) as { routes: unknown };
    assert.deepEqual(json.routes, { primary: 1, canary: { version: 2, percent: 10 } });
    assert.equal((await cli('deploy', 'resume', model, '--by', 'ana')).code, EXIT.ok);
    const rolledBack = await cli('deploy', 'rollback', model, '--by', 'omar', '--reason', 'support tickets');
    assert.equal(rolledBack.code, EXIT.ok, rolledBack.text);
    assert.match(rolledBack.text, /v2 by ana .*: rolled-back \(support tickets\)/);
    assert.deepEqual(await routes(model), { primary: 1 });
    const view = await registry.view(model, v2.version);
    assert.equal(view.status, 'rolled-back');
    assert.equal(view.history.at(-1)?.reason, 'support tickets');
    assert.deepEqual(view.aliases, []);
  });

  test('rollback after a promotion restores the previous champion in the real registry; with none left it exits 1 saying what to do', async () => {
    const registry = new ModelRegistry(store, config.buckets.models);
    const model = `cli-restore-${suffix}`;
    for (const seed of [1, 2]) {
      const { version } = await registerFlightsModel(registry, model, { seed });
      await registry.transition(model, version, 'approved', { by: 'test' });
      if (seed === 1) await registry.promote(model, version, { by: 'test' });
    }
    const plan = join(mkdtempSync(join(tmpdir(), 'sluice-plan-')), 'plan.json');
    writeFileSync(plan, JSON.stringify({ steps: [{ percent: 10, bake: '1 hour' }, { percent: 100 }] }));
    assert.equal((await cli('deploy', 'start', model, '2', '--by', 'ana', '--plan', plan)).code, EXIT.ok);
    const promoted = await cli('deploy', 'promote', model, '--by', 'ana', '--reason', 'looks good');
    assert.equal(promoted.code, EXIT.ok, promoted.text);
    assert.match(promoted.text, /champion v2/);

    const rolledBack = await cli('deploy', 'rollback', model, '--by', 'omar', '--reason', 'conversion dropped');
    assert.equal(rolledBack.code, EXIT.ok, rolledBack.text);
    assert.match(rolledBack.text, /idle; champion v1/);
    assert.match(rolledBack.text, /v2 by omar .*: rolled-back \(conversion dropped\)/);
    assert.deepEqual(await routes(model), { primary: 1 });
    const index = await registry.index(model);
    assert.equal(index.aliases.champion, 1);
    assert.equal((await registry.view(model, 1)).status, 'production');
    assert.match((await registry.view(model, 1)).history.at(-1)?.reason ?? '', /^rollback of v2: conversion dropped/);
    const demoted = await registry.view(model, 2);
    assert.equal(demoted.status, 'rolled-back', 'the demoted champion is marked rolled back, not merely archived');
    assert.match(demoted.history.at(-1)?.reason ?? '', /^rollback of v2: conversion dropped/);

    const again = await cli('deploy', 'rollback', model, '--by', 'omar');
    assert.equal(again.code, EXIT.userError, again.text);
    assert.match(again.text, /champion v1 has no previous version to return to .* start a rollout of the version that should serve instead/);
  });

  test('models list and show read only the object store: they answer with Temporal down', async () => {
    const registry = new ModelRegistry(store, config.buckets.models);
    const model = `cli-offline-${suffix}`;
    await registerFlightsModel(registry, model, { seed: 3 });
    const out: string[] = [];
    const down = { ...env, SLUICE_TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const code = await runCli(['models', 'list', '--json'], { write: (l) => out.push(l), error: (l) => out.push(l), env: down });
    assert.equal(code, EXIT.ok, out.join('\n'));
    const listed = (JSON.parse(out.join('\n')) as { name: string; versions: { version: number; status: string }[] }[]).find((m) => m.name === model);
    assert.deepEqual(listed?.versions, [{ version: 1, status: 'candidate' }]);
    const refused = await runCli(['deploy', 'status', model], { write: () => {}, error: (l) => out.push(l), env: down });
    assert.equal(refused, EXIT.unavailable);
    assert.match(out.at(-1) ?? '', /Cannot reach Temporal at 127\.0\.0\.1:1 \(SLUICE_TEMPORAL_ADDRESS\)/);
  });
});
