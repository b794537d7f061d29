import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Connection } from '@temporalio/client';
import { temporalClientOptions } from '../../control/temporal-connection.ts';
import { loadConfig } from '../../shared/config.ts';
import { freePort } from '../../scripts/infra/ports.ts';

/**
 * A frozen Temporal server (SIGSTOP: it keeps its connections open and answers nothing) cannot hold
 * a client call that set no deadline of its own, as workers' activities and the CLI's waits make
 * them: the call fails at the client's default deadline, and works again once the server is back.
 * A server of this test's own, since the suite's shared one must not freeze.
 */
test('a client call to a frozen Temporal server fails at its deadline instead of hanging', { timeout: 90_000 }, async () => {
  const binary = process.env.SLUICE_TEMPORAL_BIN;
  assert.ok(binary, 'SLUICE_TEMPORAL_BIN (set by scripts/run-tests.ts) names the temporal binary');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-frozen-temporal-'));
  const port = await freePort();
  const server: ChildProcess = spawn(binary, ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--db-filename', join(dir, 'temporal.db'), '--log-level', 'error'], { stdio: 'ignore' });
  const deadlineMs = 1000;
  let connection: Connection | undefined;
  try {
    const temporal = loadConfig({ ...process.env, SLUICE_TEMPORAL_ADDRESS: `127.0.0.1:${port}` }).temporal;
    const startedBy = Date.now() + 30_000;
    for (;;) {
      connection = await Connection.connect({ ...temporalClientOptions(temporal, deadlineMs), connectTimeout: 2000 }).catch(() => undefined);
      if (connection) break;
      assert.ok(Date.now() < startedBy, 'the test server did not accept connections within 30 s');
      await sleep(200);
    }
    const systemInfo = () => (connection as Connection).workflowService.getSystemInfo({});
    await systemInfo();

    server.kill('SIGSTOP');
    const calledAt = Date.now();
    try {
      await assert.rejects(systemInfo(), (err: Error & { code?: number }) => {
        assert.equal(err.code, 4, `expected DEADLINE_EXCEEDED (4), got ${err.code}: ${err.message}`);
        return true;
      });
    } finally {
      server.kill('SIGCONT');
    }
    const failedAfter = Date.now() - calledAt;
    console.log(`a call to the frozen server failed after ${failedAfter} ms (client deadline ${deadlineMs} ms)`);
    assert.ok(failedAfter >= deadlineMs - 50, `failed after ${failedAfter} ms, before its deadline`);
    await systemInfo();
  } finally {
    await connection?.close();
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
});
