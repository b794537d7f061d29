import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { MinioArtifactStore } from '../../domain/object-store/minio-store.ts';
import { loadConfig } from '../../shared/config.ts';
import { freePort } from '../../scripts/infra/ports.ts';
import { isOurProcess, readStackState } from '../../scripts/infra/stack.ts';
import { stackConfig } from '../support/stack.ts';

/**
 * `infra:up` / `infra:down` and the test runner's cleanup, exercised as a user would: as separate
 * processes with their own data dirs and ports, beside the stack this suite itself runs on.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const binaries = stackConfig().binaries;

async function stackEnv() {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-infra-'));
  return {
    ...process.env,
    SLUICE_DATA_DIR: dataDir,
    SLUICE_TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    SLUICE_TEMPORAL_UI_PORT: String(await freePort()),
    SLUICE_MINIO_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    SLUICE_MINIO_CONSOLE_PORT: String(await freePort()),
    ...(binaries.temporal ? { SLUICE_TEMPORAL_BIN: binaries.temporal } : {}),
    ...(binaries.minio ? { SLUICE_MINIO_BIN: binaries.minio } : {}),
  };
}

function infra(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(TSX, [join(ROOT, 'scripts', 'infra.ts'), command], { env, cwd: ROOT });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

async function waitUntilGone(pids: { pid: number; binary: string }[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (pids.every((p) => !isOurProcess(p.pid, p.binary))) return true;
    await sleep(200);
  }
  return false;
}

/** Collects a child's output so a line printed before anyone waited for it is still found. */
function outputOf(child: ChildProcess) {
  let seen = '';
  const collect = (d: Buffer) => (seen += d.toString());
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return {
    async waitFor(pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const match = seen.match(pattern);
        if (match) return match;
        await sleep(100);
      }
      throw new Error(`no line matching ${pattern} within ${ms} ms; output:\n${seen}`);
    },
  };
}

describe('infra:up / infra:down', () => {
  test('up twice is harmless, a taken port is named, down stops exactly what up started, and state survives a restart', async () => {
    const env = await stackEnv();
    const config = loadConfig(env);
    const bystander = spawn('sleep', ['300']);
    try {
      const first = await infra('up', env);
      assert.equal(first.code, 0, first.output);
      const state = readStackState(config.dataDir);
      assert.ok(state, 'up recorded no state');
      assert.ok(isOurProcess(state.temporal.pid, state.temporal.binary));
      assert.ok(isOurProcess(state.minio.pid, state.minio.binary));
      assert.match(first.output, /buckets: sluice-datasets, sluice-features/);
      assert.match(first.output, /search attributes: ModelName, ModelVersion, PipelineStage, DatasetVersion/);

      const second = await infra('up', env);
      assert.equal(second.code, 0, second.output);
      assert.match(second.output, /stack already running/);
      assert.deepEqual(readStackState(config.dataDir), state);

      // Another data dir on the same ports: the port is named, and nothing of the first stack moves.
      const clash = await infra('up', { ...env, SLUICE_DATA_DIR: mkdtempSync(join(tmpdir(), 'sluice-clash-')) });
      assert.equal(clash.code, 1);
      assert.match(clash.output, new RegExp(`Port ${config.temporal.address.split(':')[1]} on 127\\.0\\.0\\.1 \\(SLUICE_TEMPORAL_ADDRESS\\) is already in use`));
      assert.ok(isOurProcess(state.temporal.pid, state.temporal.binary));

      // Something to find after a restart: a workflow in Temporal's SQLite file and an object in MinIO.
      const connection = await Connection.connect({ address: config.temporal.address });
      const client = new Client({ connection });
      await client.workflow.start('survivesRestart', { taskQueue: 'nobody-polls-this', workflowId: 'survives-restart' });
      await connection.close();
      await MinioArtifactStore.fromConfig(config.minio).put(config.buckets.datasets, 'survives.txt', 'still here');

      const down = await infra('down', env);
      assert.equal(down.code, 0, down.output);
      assert.ok(await waitUntilGone([state.temporal, state.minio], 5000), 'servers still running after down');
      assert.equal(existsSync(join(config.dataDir, 'stack.json')), false);
      assert.equal(bystander.exitCode, null, 'down killed a process it did not start');

      const again = await infra('up', env);
      assert.equal(again.code, 0, again.output);
      const reconnected = await Connection.connect({ address: config.temporal.address });
      const described = await new Client({ connection: reconnected }).workflow.getHandle('survives-restart').describe();
      assert.equal(described.type, 'survivesRestart');
      await reconnected.close();
      assert.equal((await MinioArtifactStore.fromConfig(config.minio).get(config.buckets.datasets, 'survives.txt')).toString(), 'still here');
    } finally {
      await infra('down', env);
      bystander.kill();
    }
  });

  test('status reports a stopped stack with a non-zero exit', async () => {
    const result = await infra('status', await stackEnv());
    assert.equal(result.code, 1);
    assert.match(result.output, /no stack recorded/);
  });
});

describe('test runner cleanup', () => {
  async function startNestedRun() {
    // A nested `test:integration` run of one small file, in its own process group like a shell job.
    // NODE_TEST_CONTEXT would make the nested node --test think it runs inside this test and skip its files.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(TSX, [join(ROOT, 'scripts', 'run-tests.ts'), 'integration', 'minio-store'], { cwd: ROOT, env, detached: true });
    const output = outputOf(child);
    const [, temporalPid] = await output.waitFor(/\[test-stack\] temporal: pid (\d+)/, 60_000);
    const [, minioPid] = await output.waitFor(/\[test-stack\] minio: pid (\d+)/, 60_000);
    const servers = [
      { pid: Number(temporalPid), binary: binaries.temporal ?? '' },
      { pid: Number(minioPid), binary: binaries.minio ?? '' },
    ];
    assert.ok(servers.every((s) => isOurProcess(s.pid, s.binary)), 'nested stack is not running');
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    return { child, servers, exited };
  }

  test('Ctrl-C (SIGINT to the process group) leaves no server behind', async () => {
    const { child, servers, exited } = await startNestedRun();
    process.kill(-(child.pid ?? 0), 'SIGINT');
    await exited;
    assert.ok(await waitUntilGone(servers, 20_000), 'a server outlived the interrupted test run');
  });

  test('a test runner killed outright (SIGKILL) still leaves no server behind', async () => {
    const { child, servers, exited } = await startNestedRun();
    child.kill('SIGKILL');
    await exited;
    assert.ok(await waitUntilGone(servers, 20_000), 'a server outlived the killed test runner');
    // The killed runner's own test process is in the same group; do not leave it either.
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
});
