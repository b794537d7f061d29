import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createRegistrySteps } from '../../../activities/pipeline/registry-steps.ts';
import { EXIT, runCli } from '../../../cli/main.ts';
import { ed25519PrivateKey, signDecision } from '../../../domain/approvals/sign-decision.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import type { ApprovalPolicy, DecisionInput } from '../../../shared/approval.ts';
import type { Config } from '../../../shared/config.ts';
import type { PipelineSpecInput } from '../../../shared/pipeline.ts';
import { type ApprovalState, approvalStateQuery, approveSignal, approveUpdate } from '../../../workflows/approval-gate.ts';
import { pipelineStatusQuery, type trainingPipeline } from '../../../workflows/training-pipeline.ts';
import { approverKeyPair } from '../../support/approver-keys.ts';
import { type TemporalHandles, connectToStack, stackConfig, testIds } from '../../support/stack.ts';
import { KEYS, startTestApi, testConfig } from '../../unit/api/support/test-api.ts';
import { type FakeActivityWorker, startFakeActivityWorker } from '../../workflow/fake-activity-worker.ts';
import { createFakePipelineActivities, pipelineInput } from '../../workflow/pipeline-fakes.ts';
import { bucketSettings, isolatedBuckets } from '../data/fixtures.ts';

/**
 * Signed approvals on the real stack: the training pipeline workflow (typed fakes for its data steps,
 * the real `loadApprovers` activity over MinIO) on the Temporal dev server, approvers registered and
 * decisions signed through the CLI, and the prediction API signing for its key holder. Forged Updates
 * are refused by the validator and never appear in the run's history.
 */

describe('signed approvals', () => {
  const base = stackConfig();
  const fakes = createFakePipelineActivities();
  const taskQueue = testIds('signed-approvals').taskQueue;
  const keyDir = mkdtempSync(join(tmpdir(), 'sluice-approver-keys-'));
  const mallory = approverKeyPair();
  let fakeWorker: FakeActivityWorker;
  let stack: TemporalHandles;
  let config: Config;
  let env: NodeJS.ProcessEnv;

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, { write: (l) => out.push(l), error: (l) => out.push(l), env });
    return { code, text: out.join('\n') };
  };
  const keyFile = (id: string) => join(keyDir, `${id}.key`);

  before(async () => {
    const setup = await connectToStack(base);
    const buckets = await isolatedBuckets(setup.store, 'signed');
    env = { ...process.env, ...bucketSettings(buckets) };
    config = { ...base, buckets };
    for (const id of ['ana', 'bob', 'sluice-api']) assert.equal((await cli('approvers', 'keygen', '--id', id, '--out', keyFile(id))).code, EXIT.ok);
    for (const argv of [
      ['--id', 'ana', '--public-key', `${keyFile('ana')}.pub`, '--roles', 'ml-lead'],
      ['--id', 'bob', '--public-key', `${keyFile('bob')}.pub`, '--roles', 'risk'],
      ['--id', 'ana-admin', '--roles', 'risk'],
      ['--id', 'sluice-api', '--public-key', `${keyFile('sluice-api')}.pub`, '--delegate'],
    ]) {
      const added = await cli('approvers', 'add', ...argv);
      assert.equal(added.code, EXIT.ok, added.text);
    }
    const listed = await cli('approvers', 'list');
    assert.match(listed.text, /^ana {2}SHA256:\S+ {2}roles ml-lead$/m);
    assert.match(listed.text, /^ana-admin {2}\(no key: API only\) {2}roles risk$/m);
    assert.match(listed.text, /^sluice-api {2}SHA256:\S+ {2}delegate$/m);

    // The real activity, reading the registry the CLI just wrote to MinIO.
    const { loadApprovers } = createRegistrySteps({ store: setup.store, buckets, registry: new ModelRegistry(setup.store, buckets.models) });
    await setup[Symbol.asyncDispose]();
    fakeWorker = await startFakeActivityWorker(config, taskQueue, { ...fakes.activities, loadApprovers });
    ({ stack } = fakeWorker);
  });

  after(async () => {
    await fakeWorker.stop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  async function startRun(name: string, approval: Partial<ApprovalPolicy>, requestedBy = 'bob'): Promise<WorkflowHandle<typeof trainingPipeline>> {
    const { workflowId } = testIds(name);
    const spec: Partial<PipelineSpecInput> = { model: { name: `m-${randomBytes(4).toString('hex')}` }, approval: { timeout: '1 hour', requireVerifiedIdentity: true, ...approval } };
    const handle = await stack.client.workflow.start<typeof trainingPipeline>('trainingPipeline', { taskQueue, workflowId, args: [pipelineInput({ requestedBy }, spec)] });
    for (const deadline = Date.now() + 60_000; ; await sleep(100)) {
      const status = await handle.query(pipelineStatusQuery).catch(() => undefined);
      if (status?.stage === 'awaiting-approval') return handle;
      assert.ok(Date.now() < deadline, `run never reached awaiting-approval (last: ${status?.stage})`);
    }
  }

  async function refusedUpdate(handle: WorkflowHandle, input: DecisionInput): Promise<string> {
    const err = await handle.executeUpdate(approveUpdate, { args: [input] }).then(
      () => assert.fail(`forged decision accepted: ${JSON.stringify(input)}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    return err.cause instanceof Error ? err.cause.message : err.message;
  }

  /** Every payload in the run's history as text: what a forged decision would have left there. */
  async function historyText(handle: WorkflowHandle): Promise<string> {
    const history = await handle.fetchHistory();
    // Payload bytes come as Uint8Array or, from the history's JSON form, as base64 strings under `data`.
    return JSON.stringify(history.events, (key, v: unknown) => {
      if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
      return key === 'data' && typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v;
    });
  }

  test('the approvers registry through the CLI: keys are never overwritten, a bad key is refused, removal names what is there', async () => {
    const again = await cli('approvers', 'keygen', '--id', 'ana', '--out', keyFile('ana'));
    assert.equal(again.code, EXIT.userError);
    assert.match(again.text, /exists already; pick another --out \(a key is never overwritten\)/);
    const notAKey = await cli('approvers', 'add', '--id', 'eve', '--public-key', 'not-a-key');
    assert.equal(notAKey.code, EXIT.userError);
    assert.match(notAKey.text, /--public-key not-a-key: not an Ed25519 key file or 64 hex digits/);
    assert.equal((await cli('approvers', 'add', '--id', 'eve', '--public-key', mallory.publicKey)).code, EXIT.ok);
    const removed = await cli('approvers', 'remove', '--id', 'eve');
    assert.equal(removed.text, 'removed eve');
    const unknown = await cli('approvers', 'remove', '--id', 'eve');
    assert.equal(unknown.code, EXIT.userError);
    assert.match(unknown.text, /no approver or delegate "eve"; registered: ana, bob, ana-admin, sluice-api/);
  });

  test('forged Updates are refused before history; a decision signed by the CLI is accepted and recorded with its key', async (t) => {
    const handle = await startRun(t.name, { forbidSelfApproval: true });
    const { runId } = await handle.describe();
    const ana = ed25519PrivateKey(readFileSync(keyFile('ana')));
    const bob = ed25519PrivateKey(readFileSync(keyFile('bob')));
    const now = () => new Date().toISOString();
    const fields = { workflowId: handle.workflowId, runId, decision: 'approve' as const, approver: 'ana', comment: 'forged-1', signedAt: now() };

    const reasons = [
      await refusedUpdate(handle, { by: 'ana', comment: 'forged-unsigned' }),
      await refusedUpdate(handle, { by: 'ana', comment: 'forged-1', proof: signDecision(mallory.privateKey, fields) }),
      await refusedUpdate(handle, { by: 'ana', comment: 'forged-2', proof: signDecision(ana, { ...fields, comment: 'forged-2', runId: 'an-earlier-run' }) }),
      await refusedUpdate(handle, { by: 'ana', comment: 'forged-3 edited', proof: signDecision(ana, { ...fields, comment: 'forged-3' }) }),
      await refusedUpdate(handle, { by: 'ana', comment: 'forged-4', proof: signDecision(ana, { ...fields, comment: 'forged-4', decision: 'reject' }) }),
      await refusedUpdate(handle, { by: 'ana', comment: 'forged-5', proof: signDecision(ana, { ...fields, comment: 'forged-5', signedAt: new Date(Date.now() - 20 * 60_000).toISOString() }) }),
      await refusedUpdate(handle, { by: 'bob', comment: 'forged-6', proof: signDecision(bob, { ...fields, approver: 'bob', comment: 'forged-6' }) }),
    ];
    for (const reason of reasons) t.diagnostic(`refused: ${reason}`);
    assert.match(reasons[0] ?? '', /requires a signed decision \(approval\.requireVerifiedIdentity\)/);
    assert.match(reasons[1] ?? '', /^signature does not verify for approver ana with key SHA256:/);
    assert.equal(reasons[2], `signed for run an-earlier-run, this is run ${runId} of ${handle.workflowId}`);
    assert.match(reasons[3] ?? '', /^signature does not verify for approver ana/);
    assert.equal(reasons[4], 'signed to reject, but sent as approve');
    assert.match(reasons[5] ?? '', /minutes before this run's time .* sign again$/);
    assert.match(reasons[6] ?? '', /^bob \(verified: signed with bob's key SHA256:\S+\) requested this run and cannot approve it/);

    const approved = await cli('pipeline', 'approve', handle.workflowId, '--by', 'ana', '--key-file', keyFile('ana'), '--comment', 'AUC is up');
    assert.equal(approved.code, EXIT.ok, approved.text);
    assert.match(approved.text, /approved by ana \(signed\); approval status now: approved/);
    assert.equal((await handle.result()).status, 'approved');

    const decision = fakes.callsOf(handle.workflowId).find((c) => c.activity === 'recordApprovalDecision')?.input as { by: string; verified: { approver: string; signer: string; keyFingerprint: string }[] };
    assert.equal(decision.by, 'ana');
    assert.deepEqual(decision.verified.map((v) => [v.approver, v.signer]), [['ana', 'ana']]);
    assert.match(decision.verified[0]?.keyFingerprint ?? '', /^SHA256:/);

    const text = await historyText(handle);
    assert.match(text, /AUC is up/);
    for (const forged of ['forged-unsigned', 'forged-1', 'forged-2', 'forged-3', 'forged-4', 'forged-5', 'forged-6']) assert.ok(!text.includes(forged), `${forged} reached the history`);
    // The proof check runs again, identically, when the history is replayed.
    await Worker.runReplayHistory({ workflowBundle: fakeWorker.workflowBundle }, await handle.fetchHistory(), handle.workflowId);
  });

  test('Temporal UI path: an unsigned Signal is ignored with the reason; the JSON of sign-decision, sent as a Signal, is accepted', async (t) => {
    const handle = await startRun(t.name, { requiredRoles: ['ml-lead', 'risk'] }, 'dana');
    await handle.signal(approveSignal, { by: 'ana', comment: 'typed into the UI' });
    const signed = await cli('pipeline', 'sign-decision', handle.workflowId, 'approve', '--by', 'ana', '--key-file', keyFile('ana'), '--comment', 'from the UI');
    assert.equal(signed.code, EXIT.ok, signed.text);
    await handle.signal(approveSignal, JSON.parse(signed.text) as DecisionInput);
    let state: ApprovalState;
    for (;; await sleep(100)) {
      state = await handle.query(approvalStateQuery);
      if (state.approvals.length > 0) break;
    }
    assert.equal(state.ignoredSignals.length, 1);
    assert.match(state.ignoredSignals[0]?.reason ?? '', /requires a signed decision.*sign-decision/);
    t.diagnostic(`ignored signal: ${state.ignoredSignals[0]?.reason}`);
    // Both roles are required: ana (ml-lead) alone leaves the run waiting for someone holding risk.
    assert.equal(state.status, 'waiting');
    assert.deepEqual(state.verification?.requiredRoles, ['ml-lead', 'risk']);
    assert.equal(state.approvals[0]?.via, 'signal');

    const bob = await cli('pipeline', 'approve', handle.workflowId, '--by', 'bob', '--key-file', keyFile('bob'));
    assert.equal(bob.code, EXIT.ok, bob.text);
    assert.equal((await handle.result()).status, 'approved');
    await Worker.runReplayHistory({ workflowBundle: fakeWorker.workflowBundle }, await handle.fetchHistory(), handle.workflowId);
    if (process.env.RECORD_HISTORIES === 'true') {
      // Saved for test/workflow/replay.test.ts: a signal's proof is checked again on every replay, so a change to the check shows there.
      const json = execFileSync(config.binaries.temporal ?? 'temporal', ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', config.temporal.address, '--namespace', config.temporal.namespace, '--output', 'json']);
      writeFileSync(new URL('../../workflow/histories/training-pipeline-signed-approvals.json', import.meta.url), json);
    }
  });

  test('the HTTP route signs for the API key holder; without the signing key the same request is refused', async (t) => {
    const handle = await startRun(t.name, {});
    const status = await cli('pipeline', 'status', handle.workflowId);
    assert.match(status.text, /with a signed decision \(this model requires a verified identity\)[\s\S]*--key-file <your key>[\s\S]*sign-decision/);
    const unsigned = await startTestApi({ store: stack.store, config: testConfig(bucketSettings(config.buckets)) });
    try {
      const res = await unsigned.request<{ error?: { code: string; message: string } }>('POST', `/v1/pipelines/${handle.workflowId}/approve`, { key: KEYS.admin, body: { comment: 'no key' } });
      assert.equal(res.status, 409, res.text);
      assert.match(res.json.error?.message ?? '', /requires a signed decision.*\(this API signs no decisions: SLUICE_APPROVAL_SIGNING_KEY is unset\)$/);
      t.diagnostic(`unsigned API decision: ${res.json.error?.message}`);
    } finally {
      await unsigned.shutdown();
    }
    const api = await startTestApi({ store: stack.store, config: testConfig({ ...bucketSettings(config.buckets), SLUICE_APPROVAL_SIGNING_KEY: keyFile('sluice-api') }) });
    try {
      const res = await api.request<{ decidedBy: string; state: ApprovalState }>('POST', `/v1/pipelines/${handle.workflowId}/approve`, { key: KEYS.admin, body: { comment: 'AUC up 2 points' } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.decidedBy, 'ana-admin');
      assert.equal(res.json.state.status, 'approved');
      const verified = res.json.state.approvals[0]?.verified;
      assert.deepEqual([verified?.approver, verified?.signer, verified?.roles], ['ana-admin', 'sluice-api', ['risk']]);
    } finally {
      await api.shutdown();
    }
    assert.equal((await handle.result()).status, 'approved');
  });
});
