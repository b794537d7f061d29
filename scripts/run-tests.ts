import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadConfig, loadConfigOrExit } from '../shared/config.ts';
import { ensureBinaries } from './infra/binaries.ts';
import { distinctFreePorts } from './infra/ports.ts';
import { startStack, stopStack } from './infra/stack.ts';
import { startOnFreshPorts } from './infra/fresh-ports.ts';

/**
 * Runs a test suite with node's built-in runner. Suites that need servers get a stack of their own:
 * a real Temporal dev server and a real MinIO on free loopback ports with data in a temp dir, started
 * once per run and stopped on every exit path (success, failure, Ctrl-C, SIGTERM). A watchdog
 * outside this process stops them even if this process is killed outright.
 */

const SUITES = {
  unit: { dirs: ['test/unit'], needsStack: false },
  integration: { dirs: ['test/workflow', 'test/integration'], needsStack: true },
} as const;
type Suite = keyof typeof SUITES;

const ROOT = join(import.meta.dirname, '..');

function testFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  let entries: string[];
  try {
    entries = readdirSync(abs, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return entries.filter((f) => f.endsWith('.test.ts')).map((f) => relative(ROOT, join(abs, f))).sort();
}

function runNodeTest(files: string[], parentEnv: NodeJS.ProcessEnv, extraArgs: string[]): Promise<number> {
  // Set when this runner is itself started from a test; node --test would then skip every file.
  const { NODE_TEST_CONTEXT: _, ...env } = parentEnv;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...extraArgs, ...files], {
      cwd: ROOT,
      env,
      stdio: 'inherit',
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(suite: Suite, filter: string[]): Promise<number> {
  const spec = SUITES[suite];
  let files = spec.dirs.flatMap(testFiles);
  if (filter.length) files = files.filter((f) => filter.some((part) => f.includes(part)));
  if (files.length === 0) {
    console.error(`No test files found for suite '${suite}' in ${spec.dirs.join(', ')}${filter.length ? ` matching ${filter.join(' ')}` : ''}`);
    return 1;
  }
  if (!spec.needsStack) return runNodeTest(files, process.env, []);

  const config = loadConfigOrExit();
  const report = (line: string) => console.log(`[test-stack] ${line}`);
  const binaries = await ensureBinaries(config, report);

  let current: { dir: string; dataDir: string } | undefined;
  let stopping: Promise<unknown> | undefined;
  const teardown = () => {
    const stack = current;
    stopping ??= stack ? stopStack(stack.dataDir, report).finally(() => rmSync(stack.dir, { recursive: true, force: true })) : Promise.resolve();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      report(`${signal}: stopping the test stack`);
      void teardown().finally(() => process.exit(130));
    });
  }

  try {
    const started = await startOnFreshPorts({
      settings: async () => {
        const dir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
        const env = { ...process.env, ...(await stackSettings(dir, binaries)) };
        current = { dir, dataDir: loadConfig(env).dataDir };
        return env;
      },
      start: (env) => startStack(loadConfig(env), { binaries, report, stopWhenPidExits: process.pid }),
      discard: async () => {
        const stack = current;
        current = undefined;
        if (!stack) return;
        await stopStack(stack.dataDir, report);
        rmSync(stack.dir, { recursive: true, force: true });
      },
      report,
    });
    return await runNodeTest(files, started, ['--test-concurrency=2', '--test-timeout=600000']);
  } finally {
    await teardown();
  }
}

/** Settings for a stack of its own in `dir`: data there, every server on a free loopback port. */
async function stackSettings(dir: string, binaries: { temporal: string; minio: string }): Promise<Record<string, string>> {
  const [temporal, ui, minio, minioConsole] = await distinctFreePorts(4);
  const ports = { temporal, ui, minio, console: minioConsole };
  return {
    SLUICE_DATA_DIR: join(dir, 'data'),
    SLUICE_TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    SLUICE_TEMPORAL_UI_PORT: String(ports.ui),
    SLUICE_MINIO_ENDPOINT: `http://127.0.0.1:${ports.minio}`,
    SLUICE_MINIO_CONSOLE_PORT: String(ports.console),
    SLUICE_TEMPORAL_BIN: binaries.temporal,
    SLUICE_MINIO_BIN: binaries.minio,
  };
}

const [suiteArg, ...filter] = process.argv.slice(2);
if (suiteArg !== 'unit' && suiteArg !== 'integration') {
  console.error('Usage: tsx scripts/run-tests.ts <unit|integration> [file filter...]');
  process.exitCode = 2;
} else {
  process.exitCode = await main(suiteArg, filter);
}
