import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import type { ApprovalState } from '../../../workflows/approval-gate.ts';
import { freePort } from '../../../scripts/infra/ports.ts';
import { trainingPipelineId } from '../../../shared/pipeline-identity.ts';
import { flightEvent, registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { MemoryStore } from '../../unit/api/support/memory-store.ts';
import { type AnswerJson, KEYS, type TestApi, startTestApi, testConfig, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { type TemporalHandles, connectToStack, stackConfig, testIds } from '../../support/stack.ts';
import type { approvalOnly } from './approval-workflow.ts';

/**
 * Approvals over HTTP against the real Temporal dev server: the API relays to the run's `approve` /
 * `reject` Update as the API key's holder, passes the gate's refusals on, and needs Temporal only
 * for this: with Temporal unreachable it starts and serves predictions, and approvals answer 503.
 */

interface DecisionAnswer extends AnswerJson {
  pipeline: string;
  decidedBy: string;
  state: ApprovalState;
}

describe('approvals over HTTP', () => {
  const config = stackConfig();
  let stack: TemporalHandles;
  let worker: Worker;
  let running: Promise<void>;
  let api: TestApi;
  const taskQueue = testIds('api approvals').taskQueue;

  before(async () => {
    stack = await connectToStack(config);
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./approval-workflow.ts', import.meta.url)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    worker = await Worker.create({ connection: stack.nativeConnection, namespace: config.temporal.namespace, taskQueue, workflowBundle });
    running = worker.run();
    api = await startTestApi({ store: new MemoryStore(), config: testConfig() });
  });

  after(async () => {
    await api.shutdown();
    worker.shutdown();
    await running;
    await stack[Symbol.asyncDispose]();
  });

  async function startRun(name: string, requiredApprovals = 1, requestedBy = 'someone', workflowId = testIds(name).workflowId) {
    const handle = await stack.client.workflow.start<typeof approvalOnly>('approvalOnly', { taskQueue, workflowId, args: [{ requiredApprovals, requestedBy, forbidSelfApproval: true }] });
    // As in a pipeline run, decisions are taken once the gate is open; before that it refuses them (409).
    while ((await handle.query<ApprovalState>('approvalState')).status !== 'waiting') await sleep(20);
    return handle;
  }

  const decide = (id: string, decision: 'approve' | 'reject', key: string, body: unknown = {}) => api.request<DecisionAnswer>('POST', `/v1/pipelines/${id}/${decision}`, { key, body });

  test('approve: recorded as the API key holder, and the run proceeds', async () => {
    const handle = await startRun('approve by key holder');
    const res = await decide(handle.workflowId, 'approve', KEYS.admin, { comment: 'AUC up 2 points' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.decidedBy, 'ana-admin');
    assert.equal(res.json.state.status, 'approved');
    assert.deepEqual(res.json.state.approvals.map((a) => [a.by, a.comment, a.via]), [['ana-admin', 'AUC up 2 points', 'update']]);
    const result = await handle.result();
    assert.equal(result.outcome, 'approved');
  });

  test("reject: the run ends rejected with the holder's reason", async () => {
    const handle = await startRun('reject by key holder');
    const res = await decide(handle.workflowId, 'reject', KEYS.all, { comment: 'calibration is off' });
    assert.equal(res.status, 200, res.text);
    const result = await handle.result();
    assert.equal(result.outcome, 'rejected');
    assert.equal(result.outcome === 'rejected' ? result.rejection.by : '', 'ops-all');
  });

  test("the gate's refusals come back as 409 with its reason (the same holder twice; self-approval)", async () => {
    const twice = await startRun('two approvers', 2);
    assert.equal((await decide(twice.workflowId, 'approve', KEYS.admin)).json.state.status, 'waiting');
    const again = await decide(twice.workflowId, 'approve', KEYS.admin);
    assert.equal(again.status, 409);
    assert.equal(again.json.error?.code, 'ApprovalRefused');
    assert.match(again.json.error?.message ?? '', /ana-admin has already approved; 2 distinct approvers are required/);
    assert.equal((await decide(twice.workflowId, 'approve', KEYS.all)).json.state.status, 'approved');

    const own = await startRun('self approval', 1, 'ana-admin');
    const self = await decide(own.workflowId, 'approve', KEYS.admin);
    assert.equal(self.status, 409);
    assert.match(self.json.error?.message ?? '', /ana-admin requested this run and cannot approve it/);
    await own.terminate('test done');
  });

  test('who decides comes from the key only: admin scope required, and "by" in the body is refused', async () => {
    const handle = await startRun('scope and body');
    assert.equal((await decide(handle.workflowId, 'approve', KEYS.predict)).status, 403);
    assert.equal((await decide(handle.workflowId, 'approve', '')).status, 401);
    const impersonation = await decide(handle.workflowId, 'approve', KEYS.admin, { by: 'the-ceo' });
    assert.equal(impersonation.status, 400);
    assert.equal(impersonation.json.error?.field, 'by');
    assert.equal((await handle.query<ApprovalState>('approvalState')).approvals.length, 0, 'a refused request changes nothing');
    await handle.terminate('test done');
  });

  test('a key scoped to flights-* decides the runs of those models only, which it learns from the run id', async () => {
    const suffix = randomBytes(4).toString('hex');
    const runOf = (model: string) => startRun(model, 1, 'someone', trainingPipelineId(model, suffix.repeat(16), suffix.repeat(16)));
    const mine = await runOf(`flights-${suffix}`);
    const approved = await decide(mine.workflowId, 'approve', KEYS.flights, { comment: 'mine to approve' });
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.json.decidedBy, 'app-flights');
    assert.equal((await mine.result()).outcome, 'approved');

    const theirs = await runOf(`weather-${suffix}`);
    const refused = await decide(theirs.workflowId, 'reject', KEYS.flights);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error?.message, `API key "app-flights" lacks the "admin:weather-${suffix}" scope (it has: predict:flights-*, feedback:flights-*, admin:flights-*)`);
    // A run whose id names no model is decided by a key with admin on every model only.
    const unnamed = await startRun('scoped key unnamed run');
    const refusedUnnamed = await decide(unnamed.workflowId, 'approve', KEYS.flights);
    assert.equal(refusedUnnamed.status, 403);
    assert.match(refusedUnnamed.json.error?.message ?? '', /lacks the "admin" scope .*only a scope on every model reaches it/);
    for (const handle of [theirs, unnamed]) {
      assert.equal((await handle.query<ApprovalState>('approvalState')).status, 'waiting', 'a refused request changes nothing');
      await handle.terminate('test done');
    }
  });

  test('an unknown run is 404', async () => {
    const res = await decide('no-such-pipeline-run', 'approve', KEYS.admin);
    assert.equal(res.status, 404);
    assert.equal(res.json.error?.code, 'PipelineNotFound');
  });
});

describe('without Temporal', () => {
  test('the API starts and serves predictions; approvals answer 503 and say Temporal is unreachable', async () => {
    const store = new MemoryStore();
    const config = testConfig({ SLUICE_TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, SLUICE_API_REQUEST_TIMEOUT_MS: '2000' });
    const manifest = await registerFlightsModel(new ModelRegistry(store, config.buckets.models), 'flight-delay');
    await writeServingConfig(store, config, { 'flight-delay': { primary: manifest.version } }, 1);
    await using api = await startTestApi({ store, config });
    await api.firstPoll;
    assert.equal((await api.request('GET', '/readyz')).status, 200);
    assert.equal((await api.predict('flight-delay', { event: flightEvent(1) })).status, 200);
    const started = Date.now();
    const res = await api.request('POST', '/v1/pipelines/some-run/approve', { key: KEYS.admin, body: {} });
    assert.equal(res.status, 503);
    assert.equal(res.json.error?.code, 'TemporalUnavailable');
    assert.match(res.json.error?.message ?? '', /cannot reach Temporal at 127\.0\.0\.1:\d+.*predictions are unaffected/);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.ok(Date.now() - started < 10_000);
    assert.equal((await api.predict('flight-delay', { event: flightEvent(2) })).status, 200);
  });
});
