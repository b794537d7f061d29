import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';

/**
 * A `batchScoring` history recorded on the real stack (five chunks, three lanes at once), replayed
 * against today's workflow code, so a change that would break jobs in flight fails here. Re-record
 * after an intended change:
 * SAVE_BATCH_HISTORIES=$PWD/test/integration/scoring/histories npx tsx scripts/run-tests.ts integration scoring/batch-scoring
 */
const HISTORIES = join(import.meta.dirname, 'histories');
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

describe('replay of a recorded batchScoring history', () => {
  test('the recorded job replays against the current workflow code', async () => {
    const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));
    assert.deepEqual(files, ['batch-scoring.json']);
    const text = readFileSync(join(HISTORIES, 'batch-scoring.json'), 'utf8');
    const history = JSON.parse(text) as { events: { eventType: string }[] };
    // Five chunk activities besides plan, output bucket and manifest: the parallel lanes whose order replay must reproduce.
    assert.equal(history.events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED').length, 5 + 3);
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
    await Worker.runReplayHistory({ workflowBundle }, history, 'batch-scoring');

    // The check has teeth: the same history with its first chunk recorded as another activity does not replay.
    const altered: unknown = JSON.parse(text.replace(/"name": "scoreChunk"/, '"name": "scoreSomethingElse"'));
    await assert.rejects(Worker.runReplayHistory({ workflowBundle }, altered, 'batch-scoring-altered'), { name: 'DeterminismViolationError' });
  });
});
