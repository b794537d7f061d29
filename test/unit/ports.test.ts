import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { PortInUseError, assertPortFree, freePort } from '../../scripts/infra/ports.ts';

test('a port in use is reported with the setting that chose it', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  try {
    await assert.rejects(assertPortFree('127.0.0.1', address.port, 'SLUICE_API_PORT'), (err: Error) => {
      assert.ok(err instanceof PortInUseError);
      assert.equal(err.message, `Port ${address.port} on 127.0.0.1 (SLUICE_API_PORT) is already in use by another process. Stop that process, or set SLUICE_API_PORT to a free port.`);
      return true;
    });
  } finally {
    server.close();
  }
});

test('a free port passes the check', async () => {
  const port = await freePort();
  assert.ok(port > 0);
  await assertPortFree('127.0.0.1', port, 'SLUICE_API_PORT');
});
