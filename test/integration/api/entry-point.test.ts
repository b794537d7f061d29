import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { hashApiKey } from '../../../api/auth/key-ring.ts';
import { predictionLogKeys } from '../../../shared/api/prediction-log.ts';
import { freePort } from '../../../scripts/infra/ports.ts';
import { flightEvent, registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { writeServingConfig } from '../../unit/api/support/test-api.ts';
import { stackConfig } from '../../support/stack.ts';
import { isolatedConfig, storeFlightsFeatures } from './minio-support.ts';

/** `api/main.ts` as deployed: settings from SLUICE_* variables, keys from a file, SIGTERM to stop. */
test('api/main.ts serves from its environment and stops cleanly on SIGTERM, flushing the prediction log', async () => {
  const store = MinioArtifactStore.fromConfig(stackConfig().minio);
  const config = await isolatedConfig(store);
  await storeFlightsFeatures(store, config);
  const model = `flights-main-${Math.random().toString(36).slice(2, 7)}`;
  const manifest = await registerFlightsModel(new ModelRegistry(store, config.buckets.models), model);
  await writeServingConfig(store, config, { [model]: { primary: manifest.version } }, 1);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-api-main-'));
  const keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify({ keys: [{ id: 'integration', sha256: hashApiKey('main-key'), scopes: ['predict'] }] }));
  const port = await freePort();
  const env = {
    ...process.env,
    SLUICE_API_PORT: String(port),
    SLUICE_API_KEYS_FILE: keysFile,
    SLUICE_BUCKET_SERVING: config.buckets.serving,
    SLUICE_BUCKET_PREDICTIONS: config.buckets.predictions,
    SLUICE_LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], { cwd: join(import.meta.dirname, '..', '..', '..'), env, stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${base}/readyz`).then((r) => r.status, () => 0)) !== 200) {
      assert.ok(Date.now() < deadline, `not ready in 30 s:\n${logs}`);
      await sleep(100);
    }
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/v1/models/${model}/predict`, { method: 'POST', headers: { authorization: 'Bearer main-key', 'content-type': 'application/json' }, body: JSON.stringify({ event: flightEvent(i) }) });
      assert.equal(res.status, 200, await res.text());
    }
    // The key narrowed to other models in the file: from the reload on (SIGHUP, else the watcher's next check) it is refused here, the scope named.
    await writeFile(keysFile, JSON.stringify({ keys: [{ id: 'integration', sha256: hashApiKey('main-key'), scopes: ['predict:weather-*'] }] }));
    child.kill('SIGHUP');
    const narrowed = async () => {
      const res = await fetch(`${base}/v1/models/${model}/predict`, { method: 'POST', headers: { authorization: 'Bearer main-key', 'content-type': 'application/json' }, body: JSON.stringify({ event: flightEvent(9) }) });
      return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string; field: string } } };
    };
    let refused = await narrowed();
    for (const reloadBy = Date.now() + 10_000; refused.status === 200 && Date.now() < reloadBy; refused = await narrowed()) await sleep(100);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.deepEqual([refused.body.error?.code, refused.body.error?.message, refused.body.error?.field], ['Forbidden', `API key "integration" lacks the "predict:${model}" scope (it has: predict:weather-*)`, 'headers.authorization']);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, logs);
    assert.equal((await store.list(config.buckets.predictions, predictionLogKeys.prefix(model))).length, 1, 'the log was flushed at shutdown');
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: string });
    assert.ok(lines.some((l) => l.msg === 'api stopped'));
    assert.ok(!lines.some((l) => l.level === 'error'), logs);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
