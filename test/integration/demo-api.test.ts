import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../shared/config.ts';
import { startDemoApi, stopDemoApi } from '../../scripts/infra/demo-api.ts';
import { PortInUseError, freePort } from '../../scripts/infra/ports.ts';
import { isOurProcess } from '../../scripts/infra/stack.ts';

/**
 * The API the demo leaves serving: a process of its own beside the stack (against this suite's
 * MinIO), reachable with the key made for it and no other, replaced by the next demo and stopped by
 * `infra:down`'s `stopDemoApi`.
 */
describe('the demo API', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-demo-api-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const configOn = async (port: number) => {
    const base = loadConfig(process.env);
    return { ...base, dataDir, api: { ...base.api, host: '127.0.0.1', port } };
  };

  test('starts detached with a key of its own, a second start replaces it, and stopDemoApi stops it', async () => {
    const config = await configOn(await freePort());
    const first = await startDemoApi(config, ['predict'], () => {});
    const models = (key: string) => fetch(`${first.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    assert.equal(await models(first.key), 200);
    assert.equal(await models('sluice-demo-not-the-key'), 401);
    const keysFile = readFileSync(join(dataDir, 'demo-api-keys.json'), 'utf8');
    assert.ok(!keysFile.includes(first.key), 'the keys file holds the hash only');

    const second = await startDemoApi(config, ['predict'], () => {});
    assert.ok(!isOurProcess(first.pid, process.execPath), 'the first API was stopped');
    assert.equal(await models(second.key), 200);
    await stopDemoApi(dataDir, () => {});
    assert.ok(!isOurProcess(second.pid, process.execPath));
    assert.ok(!existsSync(join(dataDir, 'demo-api.json')));
  });

  test('a port held by another process is refused by name before anything starts', async () => {
    const port = await freePort();
    const holder = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => holder.once('listening', resolve));
    try {
      await assert.rejects(startDemoApi(await configOn(port), ['predict'], () => {}), (err) => err instanceof PortInUseError && err.setting === 'SLUICE_API_PORT');
      assert.ok(!existsSync(join(dataDir, 'demo-api.json')));
    } finally {
      holder.close();
    }
  });
});
