import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { z } from 'zod';
import type { Config } from '../../shared/config.ts';
import { SEARCH_ATTRIBUTES } from '../../shared/search-attributes.ts';
import { MinioArtifactStore } from '../../domain/object-store/minio-store.ts';
import { assertPortFree, isLoopback } from './ports.ts';
import type { Reporter } from './binaries.ts';

/**
 * Starts and stops the local stack: a Temporal dev server (SQLite file, Web UI) and a single-node
 * MinIO, both on loopback. PIDs go to a state file in the data directory so `down` stops exactly
 * the processes `up` started, and `up` twice finds them running instead of starting more.
 */

const processSchema = z.object({ pid: z.number().int(), binary: z.string(), log: z.string() });
const stateSchema = z.object({
  startedAt: z.string(),
  temporal: processSchema.extend({ address: z.string(), uiUrl: z.string() }),
  minio: processSchema.extend({ endpoint: z.string(), consoleUrl: z.string() }),
});
export type StackState = z.infer<typeof stateSchema>;

export class StackStartError extends Error {
  override readonly name = 'StackStartError';
}

const stateFile = (dataDir: string) => join(dataDir, 'stack.json');

export function readStackState(dataDir: string): StackState | undefined {
  const file = stateFile(dataDir);
  if (!existsSync(file)) return undefined;
  const parsed = stateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

/** True when `pid` is alive and is still the program we started (PIDs get reused). */
export function isOurProcess(pid: number, binary: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === binary;
  } catch {
    // No /proc (macOS): trust the signal check.
    return true;
  }
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

function tailOf(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitFor(what: string, child: ChildProcess, log: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  const exit: { code?: number } = {};
  child.once('exit', (code) => {
    exit.code = code ?? -1;
  });
  while (performance.now() - started < timeoutMs) {
    if (exit.code !== undefined) throw new StackStartError(`${what} exited with code ${exit.code} while starting. Last lines of ${log}:\n${tailOf(log)}`);
    if (await probe().catch(() => false)) return (performance.now() - started) / 1000;
    await sleep(250);
  }
  throw new StackStartError(`${what} did not become healthy within ${timeoutMs / 1000} s. Last lines of ${log}:\n${tailOf(log)}`);
}

async function temporalHealthy(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    const health = await connection.healthService.check({});
    if (health.status !== proto.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING) return false;
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return res.ok;
}

/** Registers the custom search attributes the platform writes, if the namespace lacks any. */
async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, type.enumValue])),
    });
  } finally {
    await connection.close();
  }
}

function spawnDetached(binary: string, args: string[], log: string, env: NodeJS.ProcessEnv): ChildProcess {
  const fd = openSync(log, 'a');
  try {
    // Own process group, so `down` can signal the server with anything it spawned.
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd], env });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

export interface StartOptions {
  binaries: { temporal: string; minio: string };
  report: Reporter;
  /** If set, a watchdog stops the servers when this PID exits (test runs that may be killed). */
  stopWhenPidExits?: number;
}

export async function startStack(config: Config, opts: StartOptions): Promise<StackState> {
  const { report } = opts;
  const temporal = splitHostPort(config.temporal.address);
  const minioUrl = new URL(config.minio.endpoint);
  const minio = { host: minioUrl.hostname, port: Number(minioUrl.port || 80) };

  for (const [setting, host] of [
    ['SLUICE_TEMPORAL_ADDRESS', temporal.host],
    ['SLUICE_MINIO_ENDPOINT', minio.host],
  ] as const) {
    if (!isLoopback(host)) {
      throw new StackStartError(`${setting} points at ${host}; infra:up starts servers on this machine's loopback only. Use 127.0.0.1, or run against your remote servers without infra:up.`);
    }
  }

  const existing = readStackState(config.dataDir);
  if (existing) {
    const alive = [isOurProcess(existing.temporal.pid, existing.temporal.binary), isOurProcess(existing.minio.pid, existing.minio.binary)];
    if (alive.every(Boolean)) {
      report(`stack already running (temporal pid ${existing.temporal.pid}, minio pid ${existing.minio.pid}); nothing to do`);
      return existing;
    }
    if (alive.some(Boolean)) {
      report('found a half-running stack from an earlier start; stopping it first');
      await stopStack(config.dataDir, report);
    }
  }

  await assertPortFree(temporal.host, temporal.port, 'SLUICE_TEMPORAL_ADDRESS');
  await assertPortFree(temporal.host, config.temporal.uiPort, 'SLUICE_TEMPORAL_UI_PORT');
  await assertPortFree(minio.host, minio.port, 'SLUICE_MINIO_ENDPOINT');
  await assertPortFree(minio.host, config.minio.consolePort, 'SLUICE_MINIO_CONSOLE_PORT');

  const dirs = { temporal: join(config.dataDir, 'temporal'), minio: join(config.dataDir, 'minio'), logs: join(config.dataDir, 'logs') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });

  const temporalLog = join(dirs.logs, 'temporal.log');
  const temporalArgs = [
    'server', 'start-dev',
    '--ip', temporal.host,
    '--port', String(temporal.port),
    '--ui-port', String(config.temporal.uiPort),
    '--db-filename', join(dirs.temporal, 'temporal.db'),
    '--log-format', 'json',
    '--log-level', 'warn',
    ...(config.temporal.namespace === 'default' ? [] : ['--namespace', config.temporal.namespace]),
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type.cliName}`]),
  ];
  const temporalChild = spawnDetached(opts.binaries.temporal, temporalArgs, temporalLog, process.env);

  const minioLog = join(dirs.logs, 'minio.log');
  const minioChild = spawnDetached(
    opts.binaries.minio,
    ['server', join(dirs.minio, 'data'), '--address', `${minio.host}:${minio.port}`, '--console-address', `${minio.host}:${config.minio.consolePort}`],
    minioLog,
    {
      ...process.env,
      MINIO_ROOT_USER: config.minio.accessKey,
      MINIO_ROOT_PASSWORD: config.minio.secretKey,
      MINIO_REGION: config.minio.region,
      // No network beyond loopback: skip update checks and phone-home.
      MINIO_UPDATE: 'off',
      MINIO_CALLHOME_ENABLE: 'off',
    },
  );

  const state: StackState = {
    startedAt: new Date().toISOString(),
    temporal: {
      pid: temporalChild.pid ?? -1,
      binary: opts.binaries.temporal,
      log: temporalLog,
      address: config.temporal.address,
      uiUrl: `http://${temporal.host}:${config.temporal.uiPort}`,
    },
    minio: {
      pid: minioChild.pid ?? -1,
      binary: opts.binaries.minio,
      log: minioLog,
      endpoint: config.minio.endpoint,
      consoleUrl: `http://${minio.host}:${config.minio.consolePort}`,
    },
  };
  // Written before waiting, so a failed or interrupted start can still be stopped by `down`.
  writeFileSync(stateFile(config.dataDir), JSON.stringify(state, null, 2));
  if (opts.stopWhenPidExits) startWatchdog(opts.stopWhenPidExits, [state.temporal.pid, state.minio.pid]);

  try {
    const [temporalSecs, minioSecs] = await Promise.all([
      waitFor('temporal server', temporalChild, temporalLog, 90_000, () => temporalHealthy(config.temporal.address, config.temporal.namespace)),
      waitFor('minio server', minioChild, minioLog, 60_000, () => httpOk(`${config.minio.endpoint}/minio/health/ready`)),
    ]);
    report(`temporal: pid ${state.temporal.pid}, gRPC ${config.temporal.address}, UI ${state.temporal.uiUrl} (healthy after ${temporalSecs.toFixed(1)} s)`);
    report(`minio: pid ${state.minio.pid}, S3 ${config.minio.endpoint}, console ${state.minio.consoleUrl} (healthy after ${minioSecs.toFixed(1)} s)`);

    await ensureSearchAttributes(config.temporal.address, config.temporal.namespace);
    report(`search attributes: ${Object.keys(SEARCH_ATTRIBUTES).join(', ')}`);
    const store = MinioArtifactStore.fromConfig(config.minio);
    const buckets = Object.values(config.buckets);
    for (const bucket of buckets) await store.ensureBucket(bucket);
    report(`buckets: ${buckets.join(', ')}`);
  } catch (err) {
    await stopStack(config.dataDir, report);
    throw err;
  }
  return state;
}

/**
 * A shell loop outside our process tree: if the test runner dies without cleaning up (SIGKILL,
 * a crash), the servers still go away.
 */
function startWatchdog(parentPid: number, pids: number[]) {
  const groups = pids.map((p) => `-${p}`).join(' ');
  const script = `while kill -0 ${parentPid} 2>/dev/null; do sleep 1; done; kill -TERM ${groups} 2>/dev/null; sleep 5; kill -KILL ${groups} 2>/dev/null; exit 0`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

/** SIGTERM to the process group, SIGKILL after 15 s; a PID no longer ours is left alone. */
export async function stopProcess(name: string, pid: number, binary: string, report: Reporter): Promise<void> {
  if (!isOurProcess(pid, binary)) {
    report(`${name}: pid ${pid} is not running`);
    return;
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && isOurProcess(pid, binary)) await sleep(100);
  if (isOurProcess(pid, binary)) {
    report(`${name}: pid ${pid} ignored SIGTERM for 15 s; sending SIGKILL`);
    signal('SIGKILL');
  }
  report(`${name}: stopped pid ${pid}`);
}

export async function stopStack(dataDir: string, report: Reporter): Promise<boolean> {
  const state = readStackState(dataDir);
  if (!state) {
    report(`no stack recorded in ${dataDir}; nothing to stop`);
    return false;
  }
  await Promise.all([
    stopProcess('temporal', state.temporal.pid, state.temporal.binary, report),
    stopProcess('minio', state.minio.pid, state.minio.binary, report),
  ]);
  rmSync(stateFile(dataDir), { force: true });
  return true;
}
