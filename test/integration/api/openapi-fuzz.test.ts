import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { KEYS, type TestApi, startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { stackConfig, testIds } from '../../support/stack.ts';
import { startDeploymentWorker } from '../deployment/deployment-worker.ts';
import { isolatedConfig } from './minio-support.ts';

/**
 * Schemathesis (`--checks all`) against the real API on the test stack, from its own /openapi.json:
 * every operation is fuzzed with schema-valid and schema-invalid requests, and every answer must
 * match the document (status, headers, body schema) and refuse what the document refuses. A served
 * model and a deployment worker stand behind the routes, so predictions, approvals and rollouts
 * answer from the real workflow rather than timing out.
 */

const ROOT = resolve(import.meta.dirname, '../../..');
const VENV = process.env.SLUICE_SCHEMATHESIS_VENV ?? join(ROOT, '.venv-schemathesis');
/** The model test/api-fuzz/schemathesis.toml names. */
const MODEL = 'fuzzed-flights';

const store = MinioArtifactStore.fromConfig(stackConfig().minio);
let api: TestApi;
let deployments: Awaited<ReturnType<typeof startDeploymentWorker>>;

before(async () => {
  const config = await isolatedConfig(store, { SLUICE_TASK_QUEUE_PIPELINE: testIds('api fuzz').taskQueue });
  const registry = new ModelRegistry(store, config.buckets.models);
  const manifest = await registerFlightsModel(registry, MODEL);
  await writeServingConfig(store, config, { [MODEL]: { primary: manifest.version } }, 1);
  deployments = await startDeploymentWorker(config, store);
  api = await startTestApi({ store, config });
  await api.firstPoll;
  // A deployment workflow for the model, so the deployment routes answer from its state (409s, a
  // status) rather than "no deployment".
  await registry.transition(MODEL, manifest.version, 'approved', { by: 'test' });
  const rollout = await api.request('POST', `/v1/deployments/${MODEL}/rollout`, { key: KEYS.admin, body: { version: manifest.version, reason: 'fuzz target' } });
  assert.equal(rollout.status, 200, rollout.text);
});

after(async () => {
  await api?.shutdown();
  await deployments?.stop();
});

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: join(ROOT, 'test/api-fuzz'), env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

test('schemathesis --checks all: every answer matches the OpenAPI document', { timeout: 600_000 }, async () => {
  const schemathesis = join(VENV, 'bin/schemathesis');
  assert.ok(existsSync(schemathesis), `schemathesis is not installed: run scripts/schemathesis-venv.sh (looked for ${schemathesis})`);
  const examples = process.env.SLUICE_FUZZ_MAX_EXAMPLES ?? '25';
  const { code, output } = await run(schemathesis, ['run', `${api.url}/openapi.json`, '--checks', 'all', '-H', `Authorization: Bearer ${KEYS.all}`, '--max-examples', examples, '--seed', '20261207', '--no-color']);
  const summary = output.trim().split('\n').at(-1) ?? '';
  console.log(output.slice(output.lastIndexOf('WARNINGS')));
  assert.equal(code, 0, output.slice(-6000));
  // Its last line counts failures when there are any ("3 failures, 1 warning in 45.8s").
  assert.doesNotMatch(summary, /failure|error/i, output.slice(-6000));
  const cases = /(\d+) generated/.exec(output);
  assert.ok(cases && Number(cases[1]) > 500, `schemathesis ran too few cases to mean anything: ${cases?.[0] ?? 'no count'}`);
});
