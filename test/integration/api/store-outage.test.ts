import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import type { Readiness } from '../../../api/health/readiness.ts';
import { loadConfig } from '../../../shared/config.ts';
import { createLogger } from '../../../shared/logger.ts';
import { predictionLogKeys } from '../../../shared/api/prediction-log.ts';
import { freePort } from '../../../scripts/infra/ports.ts';
import { flightEvent, registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { isolatedConfig, storeFlightsFeatures } from './minio-support.ts';

/**
 * A real outage: the API runs against a second MinIO this test starts, which is then stopped. The
 * API keeps serving its last good config and models, says it is stale, keeps the prediction log it
 * cannot upload (bounded), and catches up when the store is back.
 */

const MODEL = 'flights-outage';

async function startMinio(binary: string, dataDir: string, port: number, credentials: { accessKey: string; secretKey: string }): Promise<ChildProcess> {
  const child = spawn(binary, ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${await freePort()}`], {
    env: { ...process.env, MINIO_ROOT_USER: credentials.accessKey, MINIO_ROOT_PASSWORD: credentials.secretKey, MINIO_UPDATE: 'off', MINIO_CALLHOME_ENABLE: 'off' },
    stdio: 'ignore',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`second minio exited with ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/minio/health/ready`).then((r) => r.ok, () => false);
    if (ready) return child;
    if (Date.now() > deadline) throw new Error('second minio did not become ready in 30 s');
    await sleep(100);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function until(condition: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('store outage: the API keeps serving, reports it, holds its log, and recovers', async () => {
  const binary = process.env.SLUICE_MINIO_BIN;
  assert.ok(binary, 'SLUICE_MINIO_BIN (set by scripts/run-tests.ts) names the minio binary');
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-outage-minio-'));
  const port = await freePort();
  const base = loadConfig(process.env);
  let minio = await startMinio(binary, dataDir, port, base.minio);
  try {
    const endpoint = { SLUICE_MINIO_ENDPOINT: `http://127.0.0.1:${port}` };
    const store = MinioArtifactStore.fromConfig(loadConfig({ ...process.env, ...endpoint }).minio);
    const config = await isolatedConfig(store, { ...endpoint, SLUICE_SERVING_POLL_INTERVAL_MS: '150', SLUICE_SERVING_LOG_FLUSH_ROWS: '3', SLUICE_SERVING_LOG_FLUSH_INTERVAL_MS: '300' });
    await storeFlightsFeatures(store, config);
    const manifest = await registerFlightsModel(new ModelRegistry(store, config.buckets.models), MODEL);
    await writeServingConfig(store, config, { [MODEL]: { primary: manifest.version } }, 1);
    const definitions = new StoredFeatureDefinitions(store, config.buckets, 150, createLogger('error'));
    await using api = await startTestApi({ store, config, assemblers: new OnlineFeatureAssemblers(definitions) });
    await api.firstPoll;
    const readiness = async () => (await api.request<Readiness>('GET', '/readyz')).json;
    const predict = async (i: number) => (await api.predict(MODEL, { event: flightEvent(i) })).status;
    for (let i = 0; i < 3; i++) assert.equal(await predict(i), 200);
    await until(async () => (await readiness()).predictionLog.heldRows === 0, 'the first rows to be uploaded');

    await stop(minio);
    await until(async () => (await readiness()).servingConfig.state === 'stale', 'the outage to be noticed');
    const during = await api.request<Readiness>('GET', '/readyz');
    assert.equal(during.status, 200, 'still ready: serving the last good config');
    assert.match(during.json.servingConfig.lastError ?? '', /object store unreachable/);
    for (let i = 3; i < 33; i++) assert.equal(await predict(i), 200, 'predictions keep working during the outage');
    await until(async () => /^sluice_prediction_log_flush_failures_total [1-9]/m.test((await api.request('GET', '/metrics')).text), 'a failed upload');
    const metrics = (await api.request('GET', '/metrics')).text;
    assert.match(metrics, /^sluice_serving_config_stale 1$/m);
    assert.match(metrics, /^sluice_prediction_log_dropped_rows_total 0$/m);
    assert.equal((await readiness()).predictionLog.heldRows, 30, 'rows that cannot be uploaded are held, not lost');

    minio = await startMinio(binary, dataDir, port, base.minio);
    await until(async () => (await readiness()).servingConfig.state === 'current', 'recovery of the config poll');
    await until(async () => (await readiness()).predictionLog.heldRows === 0, 'the held rows to be uploaded', 30_000);
    assert.match((await api.request('GET', '/metrics')).text, /^sluice_prediction_log_written_rows_total 33$/m);
    const files = await store.list(config.buckets.predictions, predictionLogKeys.prefix(MODEL));
    assert.ok(files.length >= 2);
    definitions.close();
  } finally {
    await stop(minio);
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a frozen store (SIGSTOP) cannot hide: /readyz says stale within two poll intervals, predictions keep working, and it recovers on SIGCONT', async () => {
  const binary = process.env.SLUICE_MINIO_BIN;
  assert.ok(binary, 'SLUICE_MINIO_BIN (set by scripts/run-tests.ts) names the minio binary');
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-frozen-minio-'));
  const port = await freePort();
  const base = loadConfig(process.env);
  const minio = await startMinio(binary, dataDir, port, base.minio);
  const pollMs = 500;
  try {
    const endpoint = { SLUICE_MINIO_ENDPOINT: `http://127.0.0.1:${port}` };
    const store = MinioArtifactStore.fromConfig(loadConfig({ ...process.env, ...endpoint }).minio);
    const config = await isolatedConfig(store, { ...endpoint, SLUICE_SERVING_POLL_INTERVAL_MS: String(pollMs) });
    await storeFlightsFeatures(store, config);
    const manifest = await registerFlightsModel(new ModelRegistry(store, config.buckets.models), MODEL);
    await writeServingConfig(store, config, { [MODEL]: { primary: manifest.version } }, 1);
    const definitions = new StoredFeatureDefinitions(store, config.buckets, pollMs, createLogger('error'));
    await using api = await startTestApi({ store, config, assemblers: new OnlineFeatureAssemblers(definitions) });
    await api.firstPoll;
    const readiness = async () => (await api.request<Readiness>('GET', '/readyz')).json;
    assert.equal(await api.predict(MODEL, { event: flightEvent(0) }).then((r) => r.status), 200);
    assert.equal((await readiness()).servingConfig.state, 'current');

    minio.kill('SIGSTOP');
    const frozenAt = Date.now();
    try {
      // Two intervals by design (a poll's requests each have one interval); the bound leaves room for a busy machine.
      await until(async () => (await readiness()).servingConfig.state === 'stale', 'the frozen store to be noticed', 10 * pollMs);
      console.log(`frozen store noticed after ${Date.now() - frozenAt} ms (poll interval ${pollMs} ms)`);
      assert.match((await readiness()).servingConfig.lastError ?? '', /object store not answering: .* did not answer within 500 ms/);
      assert.match((await api.request('GET', '/metrics')).text, /^sluice_serving_config_poll_errors_total\{reason="timeout"\} [1-9]/m);
      assert.equal(await api.predict(MODEL, { event: flightEvent(1) }).then((r) => r.status), 200, 'predictions keep working on the last good config');

      // What workers' activities use: a call on the frozen store fails once its connection has been idle for the timeout, not never.
      const idleMs = 1000;
      const workerStore = MinioArtifactStore.fromConfig(loadConfig({ ...process.env, ...endpoint, SLUICE_MINIO_IDLE_TIMEOUT_MS: String(idleMs) }).minio);
      const calledAt = Date.now();
      await assert.rejects(workerStore.get(config.buckets.models, `${MODEL}/index.json`), /the object store at http:\/\/127\.0\.0\.1:\d+ sent nothing for 1000 ms \(SLUICE_MINIO_IDLE_TIMEOUT_MS\)/);
      const failedAfter = Date.now() - calledAt;
      console.log(`a worker's call on the frozen store failed after ${failedAfter} ms (idle timeout ${idleMs} ms)`);
      assert.ok(failedAfter >= idleMs, `failed after ${failedAfter} ms, before the idle timeout`);
    } finally {
      minio.kill('SIGCONT');
    }
    await until(async () => (await readiness()).servingConfig.state === 'current', 'recovery after SIGCONT');
    definitions.close();
  } finally {
    await stop(minio);
    await rm(dataDir, { recursive: true, force: true });
  }
});
