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
 * RECORD_HISTORIES=true npx tsx scripts/run-tests.ts integration test/workflow/training-pipeline test/workflow/model-deployment signed-approvals test/integration/monitoring/erasure
 * (model-deployment-long-bake-before-checks.json was recorded from the code before in-bake checks
 * and cannot be re-recorded: keep it.)
 */
const HISTORIES = join(import.meta.dirname, 'histories');
const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * The workflow id the history was recorded under: a workflow that reads its own id (the approval gate
 * checks a signed decision names it, again on replay) must replay under the same one.
 */
function recordedWorkflowId(history: unknown): string | undefined {
  const started = (history as { events?: { workflowExecutionStartedEventAttributes?: { workflowId?: unknown } }[] }).events?.[0]?.workflowExecutionStartedEventAttributes;
  return typeof started?.workflowId === 'string' ? started.workflowId : undefined;
}

describe('replay of recorded workflow histories', () => {
  test('there are recorded histories to replay', () => {
    assert.ok(files.includes('training-pipeline-approved.json'), `no recorded trainingPipeline history in ${HISTORIES}`);
    // A rollout through shadow and canary steps to promotion, the champion rolled back, then the next rollout.
    assert.ok(files.includes('model-deployment-promote-then-rollback.json'), `no recorded modelDeployment history in ${HISTORIES}`);
    // Recorded before canary steps were checked while baking: a 65 s bake (longer than the default
    // check interval) waited out in one timer, then judged and promoted. Replays only behind the patch.
    assert.ok(files.includes('model-deployment-long-bake-before-checks.json'), `no modelDeployment history from before in-bake checks in ${HISTORIES}`);
    // A canary rolled back by a check while it baked (recorded with the checks).
    assert.ok(files.includes('model-deployment-early-abort.json'), `no modelDeployment history with an in-bake check in ${HISTORIES}`);
    // Signed approvals: an unsigned Signal ignored, a signed one and a signed Update accepted (test/integration/pipeline/signed-approvals.test.ts).
    assert.ok(files.includes('training-pipeline-signed-approvals.json'), `no recorded signed-approval history in ${HISTORIES}`);
    // An erasure of closed hours (compaction, rewrite, feedback, record) and a retention run (recorded by test/integration/monitoring/erasure.test.ts).
    assert.ok(files.includes('erase-logged-rows-closed-hours.json'), `no recorded eraseLoggedRows history in ${HISTORIES}`);
    assert.ok(files.includes('enforce-retention.json'), `no recorded enforceRetention history in ${HISTORIES}`);
  });

  test('every recorded history replays against the current workflow code', async () => {
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
    for (const file of files) {
      const history: unknown = JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'));
      await Worker.runReplayHistory({ workflowBundle }, history, recordedWorkflowId(history) ?? file);
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
