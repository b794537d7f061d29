import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../workers/pipeline-worker.ts';

/**
 * Histories recorded from shipped workflow code, replayed against today's code. A change that would
 * break runs already in flight (an activity added, removed or reordered without `patched()`) fails
 * here instead of in production. Re-record after an intended change:
 * RECORD_HISTORIES=true npx tsx scripts/run-tests.ts integration test/workflow/training-pipeline test/workflow/model-deployment test/integration/monitoring/erasure
 */
const HISTORIES = join(import.meta.dirname, 'histories');
const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

describe('replay of recorded workflow histories', () => {
  test('there are recorded histories to replay', () => {
    assert.ok(files.includes('training-pipeline-approved.json'), `no recorded trainingPipeline history in ${HISTORIES}`);
    // A rollout through shadow and canary steps to promotion, the champion rolled back, then the next rollout.
    assert.ok(files.includes('model-deployment-promote-then-rollback.json'), `no recorded modelDeployment history in ${HISTORIES}`);
    // An erasure of closed hours (compaction, rewrite, feedback, record) and a retention run (recorded by test/integration/monitoring/erasure.test.ts).
    assert.ok(files.includes('erase-logged-rows-closed-hours.json'), `no recorded eraseLoggedRows history in ${HISTORIES}`);
    assert.ok(files.includes('enforce-retention.json'), `no recorded enforceRetention history in ${HISTORIES}`);
  });

  test('every recorded history replays against the current workflow code', async () => {
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
    for (const file of files) {
      const history: unknown = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'));
      await Worker.runReplayHistory({ workflowBundle }, history, file);
    }
  });

  test('a workflow that schedules different commands than its history is caught', async () => {
    // The same history against a workflow that calls other activities in another order must fail,
    // or this suite could not catch anything.
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: join(import.meta.dirname, 'fixtures', 'reordered-pipeline.ts'), logger: quiet });
    const history: unknown = JSON.parse(readFileSync(join(HISTORIES, 'training-pipeline-approved.json'), 'utf8'));
    await assert.rejects(Worker.runReplayHistory({ workflowBundle }, history, 'reordered'), DeterminismViolationError);
  });
});
