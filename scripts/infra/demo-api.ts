import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { hashApiKey } from '../../api/auth/key-ring.ts';
import type { Config } from '../../shared/config.ts';
import type { Reporter } from './binaries.ts';
import { assertPortFree } from './ports.ts';
import { isOurProcess, stopProcess } from './stack.ts';

/**
 * The prediction API the demo leaves serving: its own process beside the stack (`npm run api`, as in
 * production), detached so it outlives the demo, recorded in `<dataDir>/demo-api.json` so the next
 * demo replaces it and `npm run infra:down` stops it. Its keys file holds one key made for the run.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const recordSchema = z.object({ pid: z.number().int(), binary: z.string(), url: z.string(), log: z.string() });
const recordFile = (dataDir: string) => join(dataDir, 'demo-api.json');

export interface DemoApi {
  url: string;
  /** The bearer key, shown once: only its SHA-256 is in the keys file. */
  key: string;
  pid: number;
  log: string;
}

/** Stops the demo's API if one is recorded and still running. */
export async function stopDemoApi(dataDir: string, report: Reporter): Promise<void> {
  const file = recordFile(dataDir);
  if (!existsSync(file)) return;
  const record = recordSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (record.success) await stopProcess('api', record.data.pid, record.data.binary, report);
  rmSync(file, { force: true });
}

/** Starts the API on `config.api`'s loopback address with a new key for `scopes`, and waits until it answers /healthz. */
export async function startDemoApi(config: Config, scopes: readonly string[], report: Reporter): Promise<DemoApi> {
  await stopDemoApi(config.dataDir, report);
  const { host, port } = config.api;
  await assertPortFree(host, port, 'SLUICE_API_PORT');
  const key = `sluice-demo-${randomBytes(18).toString('hex')}`;
  const keysFile = join(config.dataDir, 'demo-api-keys.json');
  writeFileSync(keysFile, JSON.stringify({ keys: [{ id: 'demo', sha256: hashApiKey(key), scopes }] }, null, 2), { mode: 0o600 });
  const log = join(config.dataDir, 'demo-api.log');
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'api/main.ts')], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, SLUICE_API_KEYS_FILE: keysFile, SLUICE_API_HOST: host, SLUICE_API_PORT: String(port) },
  });
  closeSync(out);
  child.unref();
  const pid = child.pid ?? -1;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  writeFileSync(recordFile(config.dataDir), JSON.stringify({ pid, binary: process.execPath, url, log }));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const healthy = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (healthy) break;
    if (!isOurProcess(pid, process.execPath)) throw new Error(`the API exited while starting; its log: ${log}`);
    if (Date.now() > deadline) throw new Error(`the API did not answer ${url}/healthz within a minute; its log: ${log}`);
    await sleep(250);
  }
  report(`api: pid ${pid}, ${url} (log ${log}; keys file ${keysFile})`);
  return { url, key, pid, log };
}
