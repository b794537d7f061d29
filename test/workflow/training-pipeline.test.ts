import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { ErrorType } from '../../shared/errors.ts';
import type { PipelineInput } from '../../shared/pipeline.ts';
import { approvalStateQuery, approveSignal, approveUpdate, rejectUpdate } from '../../workflows/approval-gate.ts';
import { pipelineStatusQuery, type trainingPipeline } from '../../workflows/training-pipeline.ts';
import { type TemporalHandles, stackConfig, testIds } from '../support/stack.ts';
import { type FakeActivityWorker, startFakeActivityWorker } from './fake-activity-worker.ts';
import { createFakePipelineActivities, pipelineInput } from './pipeline-fakes.ts';

const HISTORIES = join(import.meta.dirname, 'histories');

/** Every branch of the training pipeline, with typed fake activities, on the real Temporal dev server. */
describe('trainingPipeline workflow', () => {
  const config = stackConfig();
  const fakes = createFakePipelineActivities();
  const taskQueue = testIds('training-pipeline-workflow').taskQueue;
  let fakeWorker: FakeActivityWorker;
  let stack: TemporalHandles;
  let workflowBundle: FakeActivityWorker['workflowBundle'];

  before(async () => {
    fakeWorker = await startFakeActivityWorker(config, taskQueue, fakes.activities);
    ({ stack, workflowBundle } = fakeWorker);
  });
  after(() => fakeWorker.stop());

  const uniqueModel = () => `m-${randomBytes(5).toString('hex')}`;

  async function start(name: string, input: PipelineInput, script = {}): Promise<WorkflowHandle<typeof trainingPipeline>> {
    const { workflowId } = testIds(name);
    fakes.scripts.set(workflowId, script);
    return stack.client.workflow.start<typeof trainingPipeline>('trainingPipeline', { taskQueue, workflowId, args: [input] });
  }

  async function waitForStage(handle: WorkflowHandle, stage: string, ms = 60_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const status = await handle.query(pipelineStatusQuery).catch(() => undefined);
      if (status?.stage === stage) return status;
      if (Date.now() > deadline) assert.fail(`run never reached stage ${stage} (last: ${status?.stage})`);
      await sleep(100);
    }
  }

  const activitiesRun = (handle: WorkflowHandle) => fakes.callsOf(handle.workflowId).map((c) => c.activity);

  test('approved by Update: every stage runs once, the decision is recorded, search attributes follow', async (t) => {
    const modelName = uniqueModel();
    const handle = await start(t.name, pipelineInput({}, { model: { name: modelName } }));
    const waiting = await waitForStage(handle, 'awaiting-approval');
    assert.equal(waiting.modelVersion, 3);
    assert.equal(waiting.evaluation?.summary.overall.rocAuc, 0.71);
    assert.equal(waiting.approval.status, 'waiting');
    assert.deepEqual(waiting.stages.map((s) => s.stage), ['ingesting', 'validating', 'building-features', 'training', 'evaluating', 'materializing', 'registering', 'awaiting-approval']);

    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.get({ name: 'PipelineStage', type: 'KEYWORD' } as never), 'awaiting-approval');
    assert.equal(described.searchAttributes.ModelName?.[0], modelName);
    assert.equal(described.searchAttributes.ModelVersion?.[0], 3);
    const memo = described.memo as { reports: Record<string, string> };
    assert.equal(memo.reports.evaluation, `evaluation/${handle.workflowId}.json`);

    const state = await handle.executeUpdate(approveUpdate, { args: [{ by: 'ana', comment: 'AUC is up' }] });
    assert.equal(state.status, 'approved');
    const outcome = await handle.result();
    assert.equal(outcome.status, 'approved');
    assert.deepEqual(activitiesRun(handle), ['ingestDataset', 'validateDataset', 'buildFeatures', 'trainCandidate', 'evaluateCandidate', 'materializeOnlineFeatures', 'registerCandidate', 'recordApprovalDecision']);
    const decision = fakes.callsOf(handle.workflowId).find((c) => c.activity === 'recordApprovalDecision')?.input;
    assert.deepEqual(decision, { modelName, version: 3, outcome: 'approved', by: 'ana', reason: 'ana: AUC is up' });
    assert.equal((await handle.describe()).searchAttributes.PipelineStage?.[0], 'approved');

    // The history replays against today's code; `RECORD_HISTORIES=true` saves it as the fixture that
    // replay.test.ts holds future changes to.
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle }, history, handle.workflowId);
    if (process.env.RECORD_HISTORIES === 'true') {
      // The CLI writes the standard JSON history format that replay (and the Temporal UI's export) use.
      const json = execFileSync(config.binaries.temporal ?? 'temporal', ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', config.temporal.address, '--namespace', config.temporal.namespace, '--output', 'json']);
      writeFileSync(join(HISTORIES, 'training-pipeline-approved.json'), json);
    }
  });

  test('rejected by Update: the rejection and its reason reach the registry', async (t) => {
    const handle = await start(t.name, pipelineInput({}, { model: { name: uniqueModel() } }));
    await waitForStage(handle, 'awaiting-approval');
    await handle.executeUpdate(rejectUpdate, { args: [{ by: 'ana', comment: 'calibration is off' }] });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'rejected');
    assert.ok(outcome.status === 'rejected' && outcome.reason === 'calibration is off');
    const decision = fakes.callsOf(handle.workflowId).find((c) => c.activity === 'recordApprovalDecision')?.input as { outcome: string; by: string };
    assert.equal(decision.outcome, 'rejected');
    assert.equal(decision.by, 'ana');
  });

  test('approve by Signal works; an invalid signal is recorded as ignored, not lost silently', async (t) => {
    const handle = await start(t.name, pipelineInput({}, { model: { name: uniqueModel() } }));
    await waitForStage(handle, 'awaiting-approval');
    await handle.signal(approveSignal, { by: '   ' });
    await handle.signal(approveSignal, { by: 'omar', comment: 'from the UI' });
    const outcome = await handle.result();
    assert.equal(outcome.status, 'approved');
    const state = await handle.query(approvalStateQuery);
    assert.equal(state.ignoredSignals.length, 1);
    assert.match(state.ignoredSignals[0]?.reason ?? '', /approver identity \(by\) is required/);
    assert.equal(state.approvals[0]?.via, 'signal');
  });

  test('an Update before the run awaits approval is refused with the reason, and changes nothing', async (t) => {
    let releaseTraining!: () => void;
    const trainingGate = new Promise<void>((resolve) => (releaseTraining = resolve));
    const handle = await start(t.name, pipelineInput({}, { model: { name: uniqueModel() } }), { trainingGate });
    await waitForStage(handle, 'training');
    await assert.rejects(handle.executeUpdate(approveUpdate, { args: [{ by: 'ana' }] }), (err: Error) => {
      assert.ok(err instanceof WorkflowUpdateFailedError);
      assert.match(String((err.cause as Error).message), /not awaiting approval \(approval status: not-yet\)/);
      return true;
    });
    releaseTraining();
    await waitForStage(handle, 'awaiting-approval');
    assert.equal((await handle.query(approvalStateQuery)).approvals.length, 0);
    await handle.executeUpdate(rejectUpdate, { args: [{ by: 'ana', comment: 'cleanup' }] });
    await handle.result();
  });

  test('policy: two distinct approvers, and the requester may not approve their own run', async (t) => {
    const handle = await start(t.name, pipelineInput({ requestedBy: 'dana' }, { model: { name: uniqueModel() }, approval: { requiredApprovals: 2, forbidSelfApproval: true, timeout: '1 hour' } }));
    await waitForStage(handle, 'awaiting-approval');
    await assert.rejects(handle.executeUpdate(approveUpdate, { args: [{ by: 'dana' }] }), (err: Error) => /dana requested this run and cannot approve it/.test(String((err.cause as Error).message)));
    const afterFirst = await handle.executeUpdate(approveUpdate, { args: [{ by: 'ana' }] });
    assert.equal(afterFirst.status, 'waiting');
    await assert.rejects(handle.executeUpdate(approveUpdate, { args: [{ by: 'ana' }] }), (err: Error) => /ana has already approved; 2 distinct approvers are required/.test(String((err.cause as Error).message)));
    await assert.rejects(handle.executeUpdate(approveUpdate, { args: [{ comment: 'no name' } as never] }), (err: Error) => /by: /.test(String((err.cause as Error).message)));
    const final = await handle.executeUpdate(approveUpdate, { args: [{ by: 'omar' }] });
    assert.equal(final.status, 'approved');
    const outcome = await handle.result();
    assert.ok(outcome.status === 'approved');
    assert.deepEqual(outcome.decisions.map((d) => d.by), ['ana', 'omar']);
  });

  test('no decision before the timeout: auto-rejected with the reason recorded', async (t) => {
    const handle = await start(t.name, pipelineInput({}, { model: { name: uniqueModel() }, approval: { timeout: '2 seconds' } }));
    const outcome = await handle.result();
    assert.equal(outcome.status, 'rejected');
    assert.ok(outcome.status === 'rejected');
    assert.equal(outcome.reason, 'auto-rejected: no decision within 2 seconds');
    assert.equal(outcome.decisions.at(-1)?.via, 'timeout');
    const decision = fakes.callsOf(handle.workflowId).find((c) => c.activity === 'recordApprovalDecision')?.input as { by: string; reason: string };
    assert.deepEqual([decision.by, decision.reason], ['sluice', 'auto-rejected: no decision within 2 seconds']);
  });

  test('escalation: the contact is notified, and a decision during escalation still counts', async (t) => {
    const handle = await start(t.name, pipelineInput({}, { model: { name: uniqueModel() }, approval: { timeout: '1 second', onTimeout: 'escalate', escalateTo: 'ml-leads@example.com', escalationTimeout: '1 hour' } }));
    await waitForStage(handle, 'approval-escalated');
    const notified = async () => fakes.callsOf(handle.workflowId).find((c) => c.activity === 'notifyEscalation')?.input as { escalateTo: string } | undefined;
    for (let i = 0; i < 100 && !(await notified()); i++) await sleep(100);
    assert.equal((await notified())?.escalateTo, 'ml-leads@example.com');
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'lead' }] });
    assert.equal((await handle.result()).status, 'approved');
  });

  test('escalation that also times out rejects, naming both windows', async (t) => {
    const handle = await start(t.name, pipelineInput({}, { model: { name: uniqueModel() }, approval: { timeout: '1 second', onTimeout: 'escalate', escalationTimeout: '1 second' } }));
    const outcome = await handle.result();
    assert.ok(outcome.status === 'rejected');
    assert.equal(outcome.reason, 'auto-rejected: no decision within 1 second, nor within 1 second after escalation to the escalation contact');
  });

  test('validation failure ends the run with the report location; nothing downstream runs', async (t) => {
    const handle = await start(t.name, pipelineInput({}, { model: { name: uniqueModel() } }), { validationFails: true });
    const outcome = await handle.result();
    assert.deepEqual(outcome, { status: 'validation-failed', datasetVersion: pipelineInput().datasetVersion, reportKey: `validation/${pipelineInput().datasetVersion}.json`, failedChecks: ['null_rate(delay)'] });
    assert.deepEqual(activitiesRun(handle), ['ingestDataset', 'validateDataset']);
    assert.equal((await handle.describe()).searchAttributes.PipelineStage?.[0], 'validation-failed');
  });

  test('a failed gate is a normal outcome: nothing is registered', async (t) => {
    const handle = await start(t.name, pipelineInput({}, { model: { name: uniqueModel() } }), { gatePasses: false });
    const outcome = await handle.result();
    assert.ok(outcome.status === 'gate-failed');
    assert.deepEqual(outcome.gate.failed, ['overall rocAuc 0.5200 (needs >= 0.6000)']);
    assert.ok(!activitiesRun(handle).includes('registerCandidate'));
  });

  test('a bad spec fails at once with a typed failure listing every problem', async (t) => {
    const bad = pipelineInput({ datasetVersion: 'abc' }, { model: { name: 'Bad Name' }, trainer: { kind: 'svm' } as never, approval: { timeout: 'soon' } });
    const handle = await start(t.name, bad);
    await assert.rejects(handle.result(), (err: Error) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, ErrorType.InvalidInput);
      const [{ problems }] = err.cause.details as [{ problems: string[] }];
      assert.equal(problems.length, 4, problems.join('\n'));
      for (const field of ['spec.model.name', 'spec.trainer.kind', 'spec.approval.timeout', 'datasetVersion']) {
        assert.ok(problems.some((p) => p.startsWith(`${field}:`)), `no problem reported for ${field}: ${problems.join('; ')}`);
      }
      return true;
    });
    assert.deepEqual(activitiesRun(handle), []);
  });

  test('the same workflow id twice is one run (Temporal rejects the duplicate start)', async (t) => {
    const input = pipelineInput({}, { model: { name: uniqueModel() } });
    const handle = await start(t.name, input);
    await assert.rejects(
      stack.client.workflow.start<typeof trainingPipeline>('trainingPipeline', { taskQueue, workflowId: handle.workflowId, args: [input] }),
      WorkflowExecutionAlreadyStartedError,
    );
    await waitForStage(handle, 'awaiting-approval');
    await handle.executeUpdate(rejectUpdate, { args: [{ by: 'ana' }] });
    await handle.result();
    assert.equal(activitiesRun(handle).filter((a) => a === 'trainCandidate').length, 1);
  });

  test('an external trainer runs on its own task queue; the rest of the pipeline treats its model alike', async (t) => {
    const externalQueue = `${taskQueue}-external`;
    const received: unknown[] = [];
    const external = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue: externalQueue,
      activities: {
        // Stands in for, e.g., a Python worker's trainCandidate: same name, same input and output.
        async trainCandidate(input: { runId: string }) {
          received.push(input);
          return { candidateKey: `_candidates/${input.runId}/model.onnx`, onnxSha256: 'e'.repeat(64), parityMaxAbsDiff: 0, trainSeconds: 3, summary: { library: 'xgboost' } };
        },
      },
    });
    const handle = await start(t.name, pipelineInput({}, { model: { name: uniqueModel() }, trainer: { kind: 'external', name: 'xgboost-python', taskQueue: externalQueue, hyperparameters: { eta: 0.1 } } }));
    await external.runUntil(waitForStage(handle, 'awaiting-approval'));
    assert.equal(received.length, 1);
    assert.deepEqual((received[0] as { trainer: unknown }).trainer, { kind: 'external', name: 'xgboost-python', taskQueue: externalQueue, hyperparameters: { eta: 0.1 } });
    assert.ok(!activitiesRun(handle).includes('trainCandidate'), 'the pipeline worker trained instead of the external trainer');
    const evaluated = fakes.callsOf(handle.workflowId).find((c) => c.activity === 'evaluateCandidate')?.input as { candidate: { summary: unknown } };
    assert.deepEqual(evaluated.candidate.summary, { library: 'xgboost' });
    await handle.executeUpdate(rejectUpdate, { args: [{ by: 'ana' }] });
    await handle.result();
  });

  test('a second pipeline for a model with one in flight is rejected at once; the slot frees when the first ends', async (t) => {
    const modelName = uniqueModel();
    const first = await start(`${t.name} first`, pipelineInput({}, { model: { name: modelName } }));
    await waitForStage(first, 'awaiting-approval');
    const second = await start(`${t.name} second`, pipelineInput({ datasetVersion: 'b'.repeat(64) }, { model: { name: modelName } }));
    const busy = await second.result();
    assert.equal(busy.status, 'slot-busy');
    assert.ok(busy.status === 'slot-busy' && busy.message.includes(`training-slot-${modelName}`));
    assert.deepEqual(activitiesRun(second), []);

    await first.executeUpdate(rejectUpdate, { args: [{ by: 'ana' }] });
    await first.result();
    const third = await start(`${t.name} third`, pipelineInput({ datasetVersion: 'c'.repeat(64) }, { model: { name: modelName } }));
    await waitForStage(third, 'awaiting-approval');
    await third.executeUpdate(rejectUpdate, { args: [{ by: 'ana' }] });
    assert.equal((await third.result()).status, 'rejected');
  });
});
