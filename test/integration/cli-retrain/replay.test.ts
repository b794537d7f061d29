import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';

/**
 * `scheduledRetraining` histories recorded on the real stack (a firing that started a pipeline, and
 * one that found the training slot held), replayed against today's workflow code. Re-record after an
 * intended change:
 * SAVE_RETRAIN_HISTORIES=$PWD/test/integration/cli-retrain/histories npx tsx scripts/run-tests.ts integration cli-retrain/retraining-cli
 */
const HISTORIES = join(import.meta.dirname, 'histories');
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

describe('replay of recorded scheduledRetraining histories', () => {
  test('both recorded firings replay against the current workflow code', async () => {
    const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, ['scheduled-retraining-busy.json', 'scheduled-retraining-started.json']);
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
    for (const file of files) {
      const history: unknown = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'));
      await Worker.runReplayHistory({ workflowBundle }, history, file);
    }
  });
});
