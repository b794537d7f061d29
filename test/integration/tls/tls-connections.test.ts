import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NativeConnection } from '@temporalio/worker';
import { runCli, EXIT } from '../../../cli/main.ts';
import { temporalConnectionOptions } from '../../../control/temporal-connection.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { loadConfig } from '../../../shared/config.ts';
import { KEYS, startTestApi } from '../../unit/api/support/test-api.ts';
import { MemoryStore } from '../../unit/api/support/memory-store.ts';
import { stackConfig } from '../../support/stack.ts';
import { type TestPki, makeTestPki, startTlsFront } from '../../support/tls-fixtures.ts';

/**
 * TLS to Temporal (mutual: the server demands a client certificate) and to the object store (https
 * with a private CA), for every kind of client sluice has: the CLI, a worker's native connection and
 * the API's link. The servers are the test stack's real Temporal and MinIO behind a TLS front made
 * with a throwaway PKI; a wrong CA or a missing client certificate must fail with a line that names
 * the setting to fix.
 */

const ROOT = resolve(import.meta.dirname, '../../..');
let pki: TestPki;
let temporalFront: Awaited<ReturnType<typeof startTlsFront>>;
let minioFront: Awaited<ReturnType<typeof startTlsFront>>;
const stack = stackConfig();

before(async () => {
  pki = makeTestPki();
  temporalFront = await startTlsFront(pki, stack.temporal.address, { mutual: true, alpn: ['h2'] });
  minioFront = await startTlsFront(pki, new URL(stack.minio.endpoint).host, { mutual: false, alpn: ['http/1.1'] });
});

after(async () => {
  await temporalFront?.close();
  await minioFront?.close();
  rmSync(pki.dir, { recursive: true, force: true });
});

/** The stack's settings with Temporal and MinIO reached through the TLS fronts, plus `tls`. */
function envWith(tls: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, SLUICE_TEMPORAL_ADDRESS: temporalFront.address, SLUICE_MINIO_ENDPOINT: `https://${minioFront.address}`, ...tls };
}

const mutual = () => ({ SLUICE_TEMPORAL_TLS_CA: pki.ca, SLUICE_TEMPORAL_TLS_CERT: pki.clientCert, SLUICE_TEMPORAL_TLS_KEY: pki.clientKey, SLUICE_TEMPORAL_TLS_SERVER_NAME: 'localhost', SLUICE_MINIO_CA: pki.ca });

async function cli(env: NodeJS.ProcessEnv, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { write: (line) => out.push(line), error: (line) => err.push(line), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('TLS to Temporal', () => {
  test('the CLI, a worker connection and the API reach Temporal with mutual TLS', async () => {
    const list = await cli(envWith(mutual()), 'pipeline', 'list', '--json');
    assert.equal(list.code, EXIT.ok, list.err);
    assert.ok(Array.isArray(JSON.parse(list.out)), list.out);

    const config = loadConfig(envWith(mutual()));
    const native = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
    try {
      const info = await native.workflowService.getSystemInfo({});
      assert.ok(info.serverVersion, 'the server answered through TLS');
    } finally {
      await native.close();
    }

    await using api = await startTestApi({ store: new MemoryStore(), config: { ...config, api: { ...config.api, host: '127.0.0.1', port: 0 } } });
    const decision = await api.request('POST', '/v1/pipelines/no-such-run/approve', { key: KEYS.admin, body: { comment: 'tls' } });
    assert.equal(decision.status, 404, `Temporal answered "not found" through TLS: ${decision.text}`);
    assert.equal(temporalFront.handshakeErrors.length, 0, temporalFront.handshakeErrors.join('; '));
  });

  test('a CA that did not sign the server certificate is refused, naming the TLS settings', async () => {
    const wrong = await cli(envWith({ ...mutual(), SLUICE_TEMPORAL_TLS_CA: pki.otherCa }), 'pipeline', 'list');
    assert.equal(wrong.code, EXIT.unavailable, wrong.err);
    assert.match(wrong.err, /^Cannot reach Temporal at 127\.0\.0\.1:\d+ \(SLUICE_TEMPORAL_ADDRESS\): TLS handshake failed: .*certificate.*\. Check SLUICE_TEMPORAL_TLS_CA \(does it sign the server certificate\?\)/);

    const config = loadConfig(envWith({ ...mutual(), SLUICE_TEMPORAL_TLS_CA: pki.otherCa }));
    await using api = await startTestApi({ store: new MemoryStore(), config: { ...config, api: { ...config.api, host: '127.0.0.1', port: 0 } } });
    const decision = await api.request('POST', '/v1/pipelines/no-such-run/approve', { key: KEYS.admin, body: { comment: 'tls' } });
    assert.equal(decision.status, 503, decision.text);
    assert.match(decision.json.error?.message ?? '', /cannot reach Temporal at 127\.0\.0\.1:\d+ \(SLUICE_TEMPORAL_ADDRESS\): TLS handshake failed: .*Check SLUICE_TEMPORAL_TLS_CA/);
  });

  test('without a client certificate the server refuses the handshake', async () => {
    const before = temporalFront.handshakeErrors.length;
    const { SLUICE_TEMPORAL_TLS_CERT: _c, SLUICE_TEMPORAL_TLS_KEY: _k, ...serverOnly } = mutual();
    const refused = await cli(envWith(serverOnly), 'pipeline', 'list');
    assert.equal(refused.code, EXIT.unavailable, refused.err);
    assert.match(refused.err, /TLS handshake failed: .*certificate required.*SLUICE_TEMPORAL_TLS_CERT\/_KEY \(does the server trust this client\?\)/);
    assert.ok(temporalFront.handshakeErrors.length > before, 'the server side saw a handshake without a client certificate');
  });

  test('plaintext against a TLS server says to turn TLS on', async () => {
    const plain = await cli(envWith({}), 'pipeline', 'list');
    assert.equal(plain.code, EXIT.unavailable, plain.err);
    assert.match(plain.err, /^Cannot reach Temporal at 127\.0\.0\.1:\d+ \(SLUICE_TEMPORAL_ADDRESS\): .*; the server speaks TLS: set SLUICE_TEMPORAL_TLS=true/);
  });

  test('an unreadable certificate file is bad config (exit 2) naming the setting', async () => {
    const missing = await cli(envWith({ ...mutual(), SLUICE_TEMPORAL_TLS_CERT: `${pki.dir}/nope.pem` }), 'pipeline', 'list');
    assert.equal(missing.code, EXIT.config, missing.err);
    assert.match(missing.err, /SLUICE_TEMPORAL_TLS_CERT=.*nope\.pem: cannot read it \(ENOENT\)/);
  });
});

describe('TLS to the object store', () => {
  test('https with a private CA: objects round-trip, and the CLI reads the registry', async () => {
    const config = loadConfig(envWith(mutual()));
    const store = MinioArtifactStore.fromConfig(config.minio);
    await store.ensureBucket(config.buckets.reports);
    await store.put(config.buckets.reports, 'tls-test/hello.txt', 'over TLS');
    assert.equal((await store.get(config.buckets.reports, 'tls-test/hello.txt')).toString(), 'over TLS');
    const models = await cli(envWith(mutual()), 'models', 'list', '--json');
    assert.equal(models.code, EXIT.ok, models.err);
  });

  test('a wrong CA is refused with a line naming SLUICE_MINIO_CA', async () => {
    const wrong = await cli(envWith({ ...mutual(), SLUICE_MINIO_CA: pki.otherCa }), 'models', 'list');
    assert.equal(wrong.code, EXIT.unavailable, wrong.err);
    assert.match(wrong.err, /^TLS to the object store at https:\/\/127\.0\.0\.1:\d+ failed \([A-Z_]+: .*\)\. Check SLUICE_MINIO_CA/);
  });
});

describe('TLS from the LightGBM worker (Python)', () => {
  test('the same settings take the Python SDK and MinIO client through mutual TLS and a private CA', async () => {
    const python = join(process.env.SLUICE_LIGHTGBM_VENV ?? join(ROOT, '.venv-lightgbm'), 'bin/python');
    assert.ok(existsSync(python), `the LightGBM worker's environment is missing: run scripts/lightgbm-venv.sh (looked for ${python})`);
    const config = loadConfig(envWith(mutual()));
    const store = MinioArtifactStore.fromConfig(config.minio);
    await store.ensureBucket(config.buckets.reports);
    await store.put(config.buckets.reports, 'tls-test/from-python.txt', 'read by python over TLS');
    const probe = [
      'import asyncio',
      'from temporalio.client import Client',
      'from sluice_lightgbm.connections import env, object_store, temporal_tls',
      'async def main():',
      '    client = await Client.connect(env("SLUICE_TEMPORAL_ADDRESS", ""), tls=temporal_tls())',
      '    print("temporal", client.namespace)',
      `    print("store", object_store().get_object("${config.buckets.reports}", "tls-test/from-python.txt").read().decode())`,
      'asyncio.run(main())',
    ].join('\n');
    // Asynchronously: the TLS fronts run in this process and must keep relaying while Python talks to them.
    const runProbe = (env: NodeJS.ProcessEnv) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(python, ['-c', probe], { cwd: join(ROOT, 'trainers/lightgbm'), env, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
      });
    const run = await runProbe(envWith(mutual()));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^temporal default\nstore read by python over TLS\n$/);

    const wrongCa = await runProbe(envWith({ ...mutual(), SLUICE_MINIO_CA: pki.otherCa }));
    assert.notEqual(wrongCa.code, 0);
    assert.match(wrongCa.stderr, /CERTIFICATE_VERIFY_FAILED/);
  });
});
