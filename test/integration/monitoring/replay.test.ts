import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';

/**
 * `driftMonitor` histories recorded on the real stack (a pass that judged a window ok, and one that
 * started a retraining), replayed against today's workflow code, so a change that would break runs in
 * flight fails here. Re-record after an intended change:
 * SAVE_MONITOR_HISTORIES=$PWD/test/integration/monitoring/histories npx tsx scripts/run-tests.ts integration monitoring/drift-monitor
 */
const HISTORIES = join(import.meta.dirname, 'histories');
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

describe('replay of recorded driftMonitor histories', () => {
  test('both recorded passes replay against the current workflow code', async () => {
    const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, ['drift-monitor-ok.json', 'drift-monitor-retrain.json']);
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
    for (const file of files) {
      const history: unknown = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'));
      await Worker.runReplayHistory({ workflowBundle }, history, file);
    }
  });
});
