import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * Every module a process loads for `entry`, as root-relative paths (packages as `npm:<name>`), recorded
 * by resolve hooks. ESM links every static import before it runs any module, so an entry that then
 * stops early (a keys file that does not exist, a thread entry run outside a thread) has still
 * loaded its whole graph.
 */
function loadedModules(entry: string, env: Record<string, string> = {}): Set<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-modules-'));
  const log = join(dir, 'modules.log');
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/support/module-recorder.ts', entry], {
      cwd: ROOT,
      env: { ...process.env, ...env, MODULE_RECORDER_LOG: log },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.notEqual(run.status, null, `${entry} did not exit: ${run.stderr}`);
    const urls = readFileSync(log, 'utf8').trim().split('\n');
    return new Set(
      urls.map((url) => {
        const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
        if (pkg) return `npm:${pkg[1]}`;
        return url.startsWith('file://') ? url.slice(`file://${ROOT}/`.length) : url;
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the prediction API must never load: the pipeline's engines and code that runs only on workers. */
const FORBIDDEN: { what: string; matches: (module: string) => boolean }[] = [
  { what: 'DuckDB', matches: (m) => m.startsWith('npm:@duckdb/') },
  { what: 'training code', matches: (m) => m.startsWith('domain/training/') },
  { what: 'activities', matches: (m) => m.startsWith('activities/') },
  { what: 'the Temporal worker', matches: (m) => m === 'npm:@temporalio/worker' },
];

test('the API process (api/main.ts and its two worker threads) loads no DuckDB, training code, activities or Temporal worker', () => {
  // A keys file that does not exist makes api/main.ts exit with 2 right after its graph is linked.
  const main = loadedModules('api/main.ts', { SLUICE_API_KEYS_FILE: join(tmpdir(), 'sluice-no-such-keys.json'), SLUICE_API_PORT: '59999' });
  const scoringThread = loadedModules('api/scoring/scoring-thread.ts');
  const logWriterThread = loadedModules('api/prediction-log/parquet-worker.ts');

  // The recording itself works: each process's own modules are there.
  assert.ok(main.has('api/server.ts') && main.has('npm:express'), [...main].join('\n'));
  assert.ok(scoringThread.has('npm:onnxruntime-node'), [...scoringThread].join('\n'));
  assert.ok(logWriterThread.has('formats/parquet/parquet-file.ts'), [...logWriterThread].join('\n'));

  for (const [process, modules] of [['api/main.ts', main], ['scoring thread', scoringThread], ['log writer thread', logWriterThread]] as const) {
    for (const { what, matches } of FORBIDDEN) {
      const found = [...modules].filter(matches);
      assert.deepEqual(found, [], `${process} loads ${what}`);
    }
  }
});
