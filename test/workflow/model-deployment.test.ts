import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { WithStartWorkflowOperation, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { DeploymentActivities, RegistryAction } from '../../activities/deployment/contract.ts';
import { type HealthFigures, type RolloutPlanInput, type VersionFigures, deploymentWorkflowId } from '../../shared/deployment.ts';
import { ErrorType } from '../../shared/errors.ts';
import type { ModelRoutesConfig } from '../../shared/serving-config.ts';
import { WORKFLOWS_PATH } from '../../workers/pipeline-worker.ts';
import { approveUpdate } from '../../workflows/approval-gate.ts';
import { pipelineStatusQuery, type trainingPipeline } from '../../workflows/training-pipeline.ts';
import { createFakePipelineActivities, pipelineInput } from './pipeline-fakes.ts';
import {
  type DeploymentView,
  type modelDeployment,
  deploymentStateQuery,
  pauseUpdate,
  promoteSignal,
  resumeUpdate,
  rollbackSignal,
  rollbackUpdate,
  rolloutHistoryQuery,
  splitQuery,
  startRolloutSignal,
  startRolloutUpdate,
} from '../../workflows/model-deployment.ts';
import { type TemporalHandles, stackConfig, testIds } from '../support/stack.ts';
import { type FakeActivityWorker, quietLogger, startFakeActivityWorker } from './fake-activity-worker.ts';

/**
 * Typed fake deployment activities: an in-memory serving config and registry per model, and health
 * figures chosen per model by a script (the n-th health read of a model gets `health(n, input)`).
 */

export interface DeploymentScript {
  champion?: number;
  /** Figures for the n-th health read (0-based); healthy figures by default. */
  health?: (n: number, input: Parameters<DeploymentActivities['measureRolloutHealth']>[0]) => Partial<Pick<HealthFigures, 'psi'>> & { candidate?: Partial<VersionFigures> };
  /** The registry refuses to make the version canary (e.g. it was never approved). */
  refuseCanary?: boolean;
  /** The registry refuses to restore the previous champion (its champion was changed behind the workflow's back). */
  refuseRestore?: boolean;
}

export function healthyFigures(input: { candidate: number; champion: number; route: 'canary' | 'shadow'; from: string; to: string }): HealthFigures {
  return {
    window: { from: input.from, to: input.to },
    route: input.route,
    candidate: { version: input.candidate, samples: 500, labelled: 300, p99LatencyMs: 12, meanScore: 0.31, auc: 0.74, logLoss: 0.52 },
    champion: { version: input.champion, samples: 5000, labelled: 3000, p99LatencyMs: 11, meanScore: 0.3, auc: 0.73, logLoss: 0.53 },
    psi: 0.01,
  };
}

export function createFakeDeploymentActivities() {
  const scripts = new Map<string, DeploymentScript>();
  const routes = new Map<string, ModelRoutesConfig>();
  const registry: { model: string; version: number; action: RegistryAction; by: string; reason: string; replaces?: number }[] = [];
  const routeWrites: { model: string; routes: ModelRoutesConfig | null; reason: string }[] = [];
  const healthReads = new Map<string, number>();
  const reports: string[] = [];
  const followed: string[] = [];

  const activities: DeploymentActivities = {
    async loadDeploymentContext({ model }) {
      const champion = scripts.get(model)?.champion;
      const current = routes.get(model) ?? (champion !== undefined ? { primary: champion } : undefined);
      return { ...(champion !== undefined && { champion }), ...(current && { routes: current }) };
    },
    async writeModelRoutes({ model, routes: next, reason }) {
      routeWrites.push({ model, routes: next, reason });
      if (next === null) routes.delete(model);
      else routes.set(model, next);
      return { revision: routeWrites.length };
    },
    async recordRolloutStatus(input) {
      if (input.action === 'canary' && scripts.get(input.model)?.refuseCanary) {
        throw ApplicationFailure.nonRetryable(`Model '${input.model}' version ${input.version} is candidate; it cannot become canary`, ErrorType.RegistryRefused);
      }
      if (input.action === 'restore' && scripts.get(input.model)?.refuseRestore) {
        throw ApplicationFailure.nonRetryable(`The registry's champion of ${input.model} is v9, not v${input.replaces}`, ErrorType.RegistryRefused);
      }
      registry.push(input);
    },
    async measureRolloutHealth(input) {
      const n = healthReads.get(input.model) ?? 0;
      healthReads.set(input.model, n + 1);
      const base = healthyFigures(input);
      const override = scripts.get(input.model)?.health?.(n, input) ?? {};
      return { ...base, ...override, candidate: { ...base.candidate, ...override.candidate } };
    },
    async followServedModel({ model }) {
      followed.push(model);
      return { scheduleId: `refresh-features-${model}`, paused: false };
    },
    async storeShadowReport({ model, candidate }) {
      const reportKey = `deployments/${model}/v${candidate}/shadow-${reports.length}.json`;
      reports.push(reportKey);
      return { reportKey };
    },
  };
  return {
    activities,
    scripts,
    routes,
    reports,
    followedCount: (model: string) => followed.filter((m) => m === model).length,
    healthReadsOf: (model: string) => healthReads.get(model) ?? 0,
    registryOf: (model: string) => registry.filter((r) => r.model === model),
    routeWritesOf: (model: string) => routeWrites.filter((r) => r.model === model).map((r) => r.routes),
  };
}

/** Seconds-long steps so a whole rollout runs in a few seconds. */
const fastPlan = (overrides: Partial<RolloutPlanInput> = {}): RolloutPlanInput => ({
  steps: [
    { percent: 5, bake: '1 second' },
    { percent: 25, bake: '1 second' },
    { percent: 50, bake: '1 second' },
    { percent: 100, bake: '0 seconds' },
  ],
  ...overrides,
});

/** The modelDeployment workflow with typed fake activities on the real dev server. */
describe('modelDeployment workflow', () => {
  const config = stackConfig();
  const fakes = createFakeDeploymentActivities();
  const pipelineFakes = createFakePipelineActivities();
  const taskQueue = testIds('model-deployment-workflow').taskQueue;
  let stack: TemporalHandles;
  let fakeWorker: FakeActivityWorker;
  let workflowBundle: FakeActivityWorker['workflowBundle'];

  before(async () => {
    fakeWorker = await startFakeActivityWorker(config, taskQueue, { ...pipelineFakes.activities, ...fakes.activities });
    ({ stack, workflowBundle } = fakeWorker);
  });
  after(() => fakeWorker.stop());

  const uniqueModel = (script: DeploymentScript = { champion: 1 }) => {
    const model = `m-${randomBytes(5).toString('hex')}`;
    fakes.scripts.set(model, script);
    return model;
  };

  /** Update-with-start, as the CLI and the HTTP admin route do. */
  async function startRollout(model: string, version: number, plan: RolloutPlanInput, extra: { maxHistoryEvents?: number } = {}) {
    const startOp = new WithStartWorkflowOperation<typeof modelDeployment>('modelDeployment', {
      workflowId: deploymentWorkflowId(model),
      taskQueue,
      args: [{ model, ...extra }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    const state = await stack.client.workflow.executeUpdateWithStart(startRolloutUpdate, { args: [{ version, plan, by: 'ana', reason: 'test' }], startWorkflowOperation: startOp });
    return { state, handle: await startOp.workflowHandle() };
  }

  async function waitFor(handle: WorkflowHandle, what: string, ok: (s: DeploymentView) => boolean, ms = 20_000): Promise<DeploymentView> {
    const deadline = Date.now() + ms;
    for (;;) {
      const state = await handle.query(deploymentStateQuery).catch(() => undefined);
      if (state && ok(state)) return state;
      if (Date.now() > deadline) assert.fail(`never reached: ${what} (last phase: ${state?.phase}, history: ${JSON.stringify(state?.history.map((h) => h.outcome))})`);
      await sleep(100);
    }
  }
  /** The standard JSON history format the Temporal UI exports; replay.test.ts holds future changes to it. */
  const showHistory = (workflowId: string) =>
    execFileSync(config.binaries.temporal ?? 'temporal', ['workflow', 'show', '--workflow-id', workflowId, '--address', config.temporal.address, '--namespace', config.temporal.namespace, '--output', 'json']);
  const finished = (handle: WorkflowHandle, n = 1) => waitFor(handle, `${n} finished rollout(s)`, (s) => s.history.length >= n && s.current === undefined);

  test('success: shadow, then 5 → 25 → 50 %, each judged healthy, then promotion', async () => {
    const model = uniqueModel();
    const { state, handle } = await startRollout(model, 2, fastPlan({ shadow: { percent: 100, duration: '1 second' } }));
    assert.equal(state.current?.version, 2);
    const done = await finished(handle);
    const rollout = done.history[0];
    assert.equal(rollout?.outcome?.kind, 'promoted');
    assert.deepEqual(rollout?.steps.map((s) => `${s.kind}:${s.percent}`), ['shadow:100', 'canary:5', 'canary:25', 'canary:50', 'promote:100']);
    assert.ok(rollout?.steps.slice(0, 4).every((s) => s.checks.length === 1 && s.checks[0]?.verdict === 'healthy' && s.checks[0].figures.psi === 0.01));
    assert.match(rollout?.steps[0]?.reportKey ?? '', /^deployments\/m-[0-9a-f]+\/v2\/shadow-/);
    assert.deepEqual(fakes.routeWritesOf(model), [
      { primary: 1, shadow: { version: 2, percent: 100 } },
      { primary: 1, canary: { version: 2, percent: 5 } },
      { primary: 1, canary: { version: 2, percent: 25 } },
      { primary: 1, canary: { version: 2, percent: 50 } },
      { primary: 2 },
    ]);
    assert.deepEqual(fakes.registryOf(model).map((r) => `${r.action}:${r.version}`), ['canary:2', 'promote:2']);
    assert.equal(fakes.followedCount(model), 1, 'the promotion starts the feature refresh schedule');
    assert.equal(done.champion, 2);
    assert.deepEqual(await handle.query(splitQuery), { primary: 2 });
    assert.equal(done.phase, 'idle');
    // The run's history replays against today's code (determinism).
    await Worker.runReplayHistory({ workflowBundle }, await handle.fetchHistory(), handle.workflowId);
  });

  test('a breach at a step rolls back automatically: champion-only routes, registry rolled-back with the reason', async () => {
    const model = uniqueModel({ champion: 4, health: (n) => (n === 1 ? { psi: 0.61, candidate: { auc: 0.41 } } : {}) });
    const { handle } = await startRollout(model, 5, fastPlan());
    const done = await finished(handle);
    const rollout = done.history[0];
    assert.equal(rollout?.outcome?.kind, 'rolled-back');
    assert.match(rollout?.outcome?.reason ?? '', /canary 25% breached: PSI 0\.6100 > 0\.25; AUC 0\.4100 vs champion 0\.7300/);
    assert.equal(rollout?.steps[1]?.checks[0]?.verdict, 'breach');
    assert.deepEqual(fakes.routeWritesOf(model).at(-1), { primary: 4 });
    const rollback = fakes.registryOf(model).at(-1);
    assert.equal(rollback?.action, 'rollback');
    assert.equal(rollback?.by, 'sluice');
    assert.match(rollback?.reason ?? '', /PSI/);
    assert.equal(done.champion, 4);
  });

  test('an error-rate breach at each step (5, 25, 50 %) rolls back at that step, never reaching the next', async () => {
    await Promise.all(
      [0, 1, 2].map(async (breachAt) => {
        const model = uniqueModel({ champion: 1, health: (n) => (n === breachAt ? { candidate: { failed: 40, errorRate: 0.074 } } : {}) });
        const { handle } = await startRollout(model, 2, fastPlan());
        const rollout = (await finished(handle)).history[0];
        const percent = [5, 25, 50][breachAt];
        assert.equal(rollout?.outcome?.kind, 'rolled-back');
        assert.equal(rollout?.outcome?.reason, `canary ${percent}% breached: error rate 0.0740 vs champion 0.0000 (rise > 0.01)`);
        assert.deepEqual(rollout?.steps.map((st) => st.checks[0]?.verdict), [...new Array<string>(breachAt).fill('healthy'), 'breach']);
        assert.equal(rollout?.steps.at(-1)?.checks[0]?.figures.candidate.errorRate, 0.074);
        assert.deepEqual(fakes.routeWritesOf(model).at(-1), { primary: 1 });
        assert.equal(fakes.routeWritesOf(model).length, breachAt + 2, 'one route write per step reached, then the rollback');
      }),
    );
  });

  test('manual rollback by Update ends the rollout and answers with the outcome', async () => {
    const model = uniqueModel();
    const { handle } = await startRollout(model, 2, fastPlan({ steps: [{ percent: 10, bake: '1 hour' }, { percent: 100, bake: '0 seconds' }] }));
    await waitFor(handle, 'canary at 10%', (s) => s.phase === 'canary');
    assert.deepEqual(await handle.query(splitQuery), { primary: 1, canary: { version: 2, percent: 10 } });
    const after = await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'omar', reason: 'complaints from ops' }] });
    assert.equal(after.current, undefined);
    assert.deepEqual(after.history[0]?.outcome && { kind: after.history[0].outcome.kind, by: after.history[0].outcome.by, reason: after.history[0].outcome.reason }, {
      kind: 'rolled-back',
      by: 'omar',
      reason: 'complaints from ops',
    });
    assert.deepEqual(await handle.query(splitQuery), { primary: 1 });
    assert.deepEqual(fakes.registryOf(model).map((r) => `${r.action}:${r.by}`), ['canary:ana', 'rollback:omar']);
    // Nothing left to roll back (the champion replaced nobody): refused with the reason.
    await assert.rejects(handle.executeUpdate(rollbackUpdate, { args: [{ by: 'omar' }] }), (err: Error) => {
      assert.ok(err instanceof WorkflowUpdateFailedError);
      return /No rollout of m-[0-9a-f]+ is in progress and champion v1 has no previous version to return to/.test(String((err.cause as Error).message));
    });
  });

  test('rollback with no rollout in progress restores the previous champion: registry, then routes, recorded; a second is refused', async () => {
    const model = uniqueModel();
    const { handle } = await startRollout(model, 2, fastPlan({ shadow: { percent: 100, duration: '1 second' } }));
    const promoted = await finished(handle);
    assert.equal(promoted.champion, 2);
    assert.equal(promoted.previousChampion, 1);

    const after = await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'omar', reason: 'conversion dropped in production' }] });
    assert.equal(after.champion, 1);
    assert.equal(after.previousChampion, undefined);
    assert.equal(after.phase, 'idle');
    const record = after.history.at(-1);
    assert.deepEqual(record && { version: record.version, champion: record.champion, plan: record.plan, steps: record.steps, outcome: { kind: record.outcome?.kind, by: record.outcome?.by, reason: record.outcome?.reason } }, {
      version: 2,
      champion: 1,
      plan: undefined,
      steps: [],
      outcome: { kind: 'rolled-back', by: 'omar', reason: 'conversion dropped in production' },
    });
    assert.deepEqual(await handle.query(splitQuery), { primary: 1 });
    assert.deepEqual(fakes.routeWritesOf(model).at(-1), { primary: 1 });
    const restore = fakes.registryOf(model).at(-1);
    assert.deepEqual(restore && [restore.action, restore.version, restore.replaces, restore.by], ['restore', 1, 2, 'omar']);
    assert.match(restore?.reason ?? '', /^rollback of v2: conversion dropped/);

    // v1 replaced nobody this workflow knows of: a second rollback has nowhere to go.
    await assert.rejects(handle.executeUpdate(rollbackUpdate, { args: [{ by: 'omar' }] }), (err: Error) => {
      assert.ok(err instanceof WorkflowUpdateFailedError);
      const cause = err.cause as ApplicationFailure;
      assert.equal(cause.type, 'RolloutRefused');
      return /champion v1 has no previous version to return to .* start a rollout of the version that should serve instead/.test(cause.message);
    });
    // The workflow carries on: the next rollout compares with the restored champion.
    await startRollout(model, 3, fastPlan());
    const next = await finished(handle, 3);
    assert.deepEqual(next.history.map((h) => `${h.version}:${h.outcome?.kind}`), ['2:promoted', '2:rolled-back', '3:promoted']);

    await Worker.runReplayHistory({ workflowBundle }, await handle.fetchHistory(), handle.workflowId);
    if (process.env.RECORD_HISTORIES === 'true') writeFileSync(join(import.meta.dirname, 'histories', 'model-deployment-promote-then-rollback.json'), showHistory(handle.workflowId));
  });

  test('rollback of a champion by Signal (Temporal UI); a first version, or a registry refusal, leaves the champion serving', async () => {
    const viaSignal = uniqueModel();
    const first = await startRollout(viaSignal, 2, fastPlan());
    await finished(first.handle);
    await first.handle.signal(rollbackSignal, { by: 'ana', reason: 'from the UI' });
    const restored = await waitFor(first.handle, 'champion v1 again', (s) => s.champion === 1 && s.phase === 'idle');
    assert.equal(restored.history.at(-1)?.outcome?.reason, 'from the UI');
    assert.deepEqual(await first.handle.query(splitQuery), { primary: 1 });

    // A model's first version was promoted directly: nothing before it.
    const fresh = uniqueModel({});
    const only = await startRollout(fresh, 1, fastPlan());
    assert.equal((await finished(only.handle)).champion, 1);
    await assert.rejects(only.handle.executeUpdate(rollbackUpdate, { args: [{ by: 'ana' }] }), (err: Error) => /champion v1 has no previous version/.test(String((err.cause as Error).message)));

    // The registry refuses: nothing changes, and the refusal is recorded as failed.
    const refused = uniqueModel({ champion: 1, refuseRestore: true });
    const third = await startRollout(refused, 2, fastPlan());
    await finished(third.handle);
    await assert.rejects(third.handle.executeUpdate(rollbackUpdate, { args: [{ by: 'ana', reason: 'try it' }] }), (err: Error) =>
      /could not roll champion v2 back to v1: The registry's champion of m-[0-9a-f]+ is v9, not v2/.test(String((err.cause as Error).message)),
    );
    const state = await third.handle.query(deploymentStateQuery);
    assert.equal(state.champion, 2);
    assert.equal(state.previousChampion, 1, 'still there to retry once the registry is put right');
    assert.equal(state.phase, 'idle');
    assert.equal(state.history.at(-1)?.outcome?.kind, 'failed');
    assert.deepEqual(await third.handle.query(splitQuery), { primary: 2 });
  });

  test('pause holds the split; resume bakes the step afresh and the rollout completes; promote by Signal', async () => {
    const model = uniqueModel();
    const { handle } = await startRollout(model, 2, fastPlan({ steps: [{ percent: 5, bake: '8 seconds' }, { percent: 30, bake: '1 hour' }, { percent: 100, bake: '0 seconds' }] }));
    await waitFor(handle, 'canary', (s) => s.phase === 'canary');
    const paused = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'ana', reason: 'holiday traffic' }] });
    assert.equal(paused.current?.paused, true);
    await waitFor(handle, 'paused', (s) => s.phase === 'paused');
    await sleep(8500); // longer than the step's bake: paused, it neither advances nor is judged
    let state = await handle.query(deploymentStateQuery);
    assert.equal(state.phase, 'paused');
    assert.equal(state.current?.stepIndex, 0, 'a paused rollout does not advance');
    assert.equal(state.current?.steps[0]?.checks.length, 0, 'nor is it judged');
    await assert.rejects(handle.executeUpdate(pauseUpdate, { args: [{ by: 'ana' }] }), (err: Error) => /already paused/.test(String((err.cause as Error).message)));
    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'ana', reason: 'back to normal' }] });
    // The step index moves before the next step's routes are written: wait for the routes.
    state = await waitFor(handle, 'canary 30%', (s) => s.current?.stepIndex === 1 && s.phase === 'canary' && s.routes?.canary?.percent === 30);
    assert.deepEqual(await handle.query(splitQuery), { primary: 1, canary: { version: 2, percent: 30 } });
    await handle.signal(promoteSignal, { by: 'ana', reason: 'looks good, skip the rest' });
    const done = await finished(handle);
    assert.equal(done.history[0]?.outcome?.kind, 'promoted');
    assert.deepEqual(done.history[0]?.events.map((e) => e.action), ['start', 'pause', 'resume', 'promote']);
    assert.deepEqual(await handle.query(splitQuery), { primary: 2 });
  });

  test('a second rollout while one runs is refused with the reason (Update) or recorded as ignored (Signal)', async () => {
    const model = uniqueModel();
    const { handle } = await startRollout(model, 2, fastPlan({ steps: [{ percent: 5, bake: '1 hour' }, { percent: 100, bake: '0 seconds' }] }));
    await assert.rejects(startRollout(model, 3, fastPlan()), (err: Error) => {
      assert.ok(err instanceof WorkflowUpdateFailedError);
      return /Version 2 of m-[0-9a-f]+ is already rolling out .* before starting version 3/.test(String((err.cause as Error).message));
    });
    await handle.signal(startRolloutSignal, { version: 3, by: 'ana' });
    const state = await waitFor(handle, 'ignored signal', (s) => s.ignoredSignals.length === 1);
    assert.equal(state.current?.version, 2);
    assert.match(state.ignoredSignals[0]?.reason ?? '', /already rolling out/);
    await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'ana' }] });
    // Once the first has ended, the next may start.
    const next = await startRollout(model, 3, fastPlan());
    assert.equal(next.state.current?.version, 3);
    const done = await finished(handle, 2);
    assert.deepEqual(done.history.map((h) => `${h.version}:${h.outcome?.kind}`), ['2:rolled-back', '3:promoted']);
  });

  test('too few samples: the step bakes again up to the limit, then the plan says what happens', async () => {
    const model = uniqueModel({ champion: 1, health: () => ({ candidate: { samples: 12 } }) });
    const { handle } = await startRollout(model, 2, fastPlan({ maxExtensions: 2, onInsufficientData: 'rollback' }));
    const done = await finished(handle);
    const rollout = done.history[0];
    assert.equal(rollout?.outcome?.kind, 'rolled-back');
    assert.match(rollout?.outcome?.reason ?? '', /not enough data after 2 extension\(s\): 12 canary predictions \(needs 200\)/);
    assert.deepEqual(rollout?.steps[0]?.checks.map((c) => c.verdict), ['insufficient-data', 'insufficient-data', 'insufficient-data']);
  });

  test('a candidate failing every request, or too slow, is rolled back at the first check while its step bakes, long before the bake ends', async (t) => {
    const breaches = { errors: { candidate: { samples: 0, failed: 300, errorRate: 1 } }, latency: { candidate: { p99LatencyMs: 9000 } } };
    const results = await Promise.all(
      Object.entries(breaches).map(async ([name, candidate]) => {
        const model = uniqueModel({ champion: 1, health: () => candidate });
        const plan = fastPlan({ steps: [{ percent: 5, bake: '10 minutes' }, { percent: 100, bake: '0 seconds' }], health: { checkEvery: '2 seconds' } });
        const { state, handle } = await startRollout(model, 2, plan);
        const routed = Date.now();
        const rollout = (await finished(handle)).history[0];
        return { name, model, handle, state, rollout, wallMs: Date.now() - routed };
      }),
    );
    for (const { name, model, handle, state, rollout, wallMs } of results) {
      assert.equal(state.current?.steps[0]?.checks.length, 0, 'the step was routed before any check');
      assert.equal(rollout?.outcome?.kind, 'rolled-back');
      const expected = name === 'errors' ? 'error rate 1.0000 vs champion 0.0000 (rise > 0.01)' : 'p99 latency 9000.0 ms > 250 ms';
      assert.equal(rollout?.outcome?.reason, `canary 5% breached while baking: ${expected}`);
      assert.equal(rollout?.outcome?.by, 'sluice');
      const checks = rollout?.steps[0]?.checks ?? [];
      assert.deepEqual(checks.map((c) => ({ verdict: c.verdict, early: c.early, reasons: c.reasons })), [{ verdict: 'breach', early: true, reasons: [expected] }]);
      assert.equal(fakes.healthReadsOf(model), 1, 'rolled back at the first check');
      assert.deepEqual(fakes.routeWritesOf(model), [{ primary: 1, canary: { version: 2, percent: 5 } }, { primary: 1 }]);
      assert.deepEqual(fakes.registryOf(model).map((r) => `${r.action}:${r.by}`), ['canary:ana', 'rollback:sluice']);
      // The step started, was checked after 2 s and rolled back at once: seconds, not the 10 minutes' bake.
      const startedAt = Date.parse(rollout?.steps[0]?.startedAt ?? '');
      const checkedAt = Date.parse(checks[0]?.at ?? '');
      const rolledBackAt = Date.parse(rollout?.outcome?.at ?? '');
      // Bounds loose enough for a loaded 2-core machine; the bake would have run 600 s.
      assert.ok(checkedAt - startedAt >= 2000 && checkedAt - startedAt < 10_000, `checked ${checkedAt - startedAt} ms into the bake`);
      assert.ok(rolledBackAt - checkedAt < 10_000, `rolled back ${rolledBackAt - checkedAt} ms after the breach was seen`);
      assert.ok(wallMs < 30_000, `the rollout ended ${wallMs} ms after its routes were written`);
      t.diagnostic(`${name}: check ${checkedAt - startedAt} ms into the bake, rolled back ${rolledBackAt - checkedAt} ms after it; ${wallMs} ms from routed to ended as the client saw it`);
      await Worker.runReplayHistory({ workflowBundle }, await handle.fetchHistory(), handle.workflowId);
      if (name === 'errors' && process.env.RECORD_HISTORIES === 'true') writeFileSync(join(import.meta.dirname, 'histories', 'model-deployment-early-abort.json'), showHistory(handle.workflowId));
    }
  });

  test('while baking, too few samples, quality figures (PSI, AUC) and plans with the checks off do not roll back early; the end of the bake judges as before', async (t) => {
    const failing = { candidate: { samples: 10, failed: 40, errorRate: 0.8 } };
    const cases = {
      // 50 requests seen, fewer than minSamples: not judged while baking, and still too few at the end.
      'too few samples': { health: () => failing, plan: { maxExtensions: 0, onInsufficientData: 'rollback' as const }, reason: /^not enough data after 0 extension\(s\): 50 canary predictions \(needs 200\)$/, verdict: 'insufficient-data', outcome: 'rolled-back' },
      'quality figures': { health: () => ({ psi: 0.61, candidate: { auc: 0.41 } }), plan: {}, reason: /^canary 5% breached: PSI 0\.6100 > 0\.25; AUC 0\.4100/, verdict: 'breach', outcome: 'rolled-back' },
      'checks off': { health: () => ({ candidate: { failed: 300, errorRate: 0.375 } }), plan: { health: { checkEvery: false as const } }, reason: /^canary 5% breached: error rate 0\.3750/, verdict: 'breach', outcome: 'rolled-back' },
      healthy: { health: () => ({}), plan: {}, reason: /^every step healthy$/, verdict: 'healthy', outcome: 'promoted' },
    };
    await Promise.all(
      Object.entries(cases).map(async ([name, c]) => {
        const model = uniqueModel({ champion: 1, health: c.health });
        const plan = fastPlan({ steps: [{ percent: 5, bake: '5 seconds' }, { percent: 100, bake: '0 seconds' }], health: { checkEvery: '1 second' }, ...c.plan });
        const { handle } = await startRollout(model, 2, plan);
        const rollout = (await finished(handle)).history[0];
        assert.equal(rollout?.outcome?.kind, c.outcome, name);
        assert.match(rollout?.outcome?.reason ?? '', c.reason, name);
        const checks = rollout?.steps[0]?.checks ?? [];
        assert.deepEqual(checks.map((k) => [k.verdict, k.early]), [[c.verdict, undefined]], `${name}: only the end of the bake is recorded`);
        const baked = Date.parse(checks[0]?.at ?? '') - Date.parse(rollout?.steps[0]?.startedAt ?? '');
        assert.ok(baked >= 5000, `${name}: judged ${baked} ms into a 5 s bake`);
        // Checked about every second while baking (none when off), then once at the end.
        const reads = fakes.healthReadsOf(model);
        assert.ok(name === 'checks off' ? reads === 1 : reads >= 2 && reads <= 5, `${name}: ${reads} health reads`);
        if (name === 'healthy') {
          // What each check costs in history: the events from one health read's scheduling to the next.
          const events = (await handle.fetchHistory()).events ?? [];
          const readAt = events.flatMap((e, i) => (e.activityTaskScheduledEventAttributes?.activityType?.name === 'measureRolloutHealth' ? [i] : []));
          const perCheck = readAt.slice(1).map((at, i) => at - (readAt[i] ?? 0));
          assert.ok(perCheck.every((n) => n <= 12), `history events per check: ${perCheck.join(', ')}`);
          t.diagnostic(`history events per check while baking: ${perCheck.join(', ')} (${events.length} in all)`);
        }
      }),
    );
  });

  test('a version the registry refuses to make canary ends as failed, with no route written', async () => {
    const model = uniqueModel({ champion: 1, refuseCanary: true });
    const { handle } = await startRollout(model, 2, fastPlan());
    const done = await finished(handle);
    assert.equal(done.history[0]?.outcome?.kind, 'failed');
    assert.match(done.history[0]?.outcome?.reason ?? '', /cannot become canary/);
    assert.deepEqual(fakes.routeWritesOf(model), []);
  });

  test('continues as new between steps and between rollouts, keeping its state', async () => {
    const model = uniqueModel();
    const { handle } = await startRollout(model, 2, fastPlan(), { maxHistoryEvents: 30 });
    const firstRun = (await handle.describe()).runId;
    const done = await finished(handle);
    assert.equal(done.history[0]?.outcome?.kind, 'promoted');
    assert.equal(done.history[0]?.steps.length, 4);
    assert.ok(done.history[0]?.steps.slice(0, 3).every((s) => s.checks[0]?.verdict === 'healthy'));
    const latest = stack.client.workflow.getHandle(deploymentWorkflowId(model));
    assert.notEqual((await latest.describe()).runId, firstRun, 'the workflow continued as new');
    const history = await latest.query(rolloutHistoryQuery);
    assert.equal(history.length, 1);
    assert.equal((await latest.query(deploymentStateQuery)).champion, 2);
  });

  test('a bake checked while it bakes continues as new in the middle once the history is long, and ends when it would have', async () => {
    const model = uniqueModel();
    const plan = fastPlan({ steps: [{ percent: 5, bake: '8 seconds' }, { percent: 100, bake: '0 seconds' }], health: { checkEvery: '1 second' } });
    const { handle } = await startRollout(model, 2, plan, { maxHistoryEvents: 40 });
    const firstRun = (await handle.describe()).runId;
    const latest = stack.client.workflow.getHandle(deploymentWorkflowId(model));
    // The bake's end as each run sees it, until the rollout ends.
    const ends = new Set<string>();
    const runs = new Set<string>([firstRun]);
    const done = await waitFor(latest, 'promoted', (s) => {
      if (s.current?.bake) ends.add(s.current.bake.until);
      return s.history.length === 1;
    }, 60_000);
    runs.add((await latest.describe()).runId);
    const rollout = done.history[0];
    assert.equal(rollout?.outcome?.kind, 'promoted');
    assert.equal(runs.size, 2, 'the workflow continued as new');
    assert.equal(ends.size, 1, `one bake, carried on to the same end by every run: ${[...ends].join(', ')}`);
    assert.ok(rollout?.events.every((e) => e.action !== 'extend'), 'the step was never extended');
    // One step, judged once at the end of its 8 s, over the whole step: neither the routes nor the bake started again.
    const checks = rollout?.steps[0]?.checks ?? [];
    assert.deepEqual(checks.map((c) => [c.verdict, c.early]), [['healthy', undefined]]);
    const [until] = [...ends];
    assert.ok(Date.parse(checks[0]?.at ?? '') >= Date.parse(until ?? ''), 'judged once the bake was over');
    const bakeFrom = Date.parse(until ?? '') - 8000;
    assert.ok(bakeFrom >= Date.parse(rollout?.steps[0]?.startedAt ?? '') && bakeFrom < Date.parse(rollout?.steps[0]?.startedAt ?? '') + 5000, 'the bake began once the step was routed');
    assert.equal(checks[0]?.figures.window.from, rollout?.steps[0]?.startedAt, 'judged over the whole step');
    assert.deepEqual(fakes.routeWritesOf(model), [{ primary: 1, canary: { version: 2, percent: 5 } }, { primary: 2 }]);
    // About one read a second while baking (fewer on a loaded machine), then the end's: a restarted bake would read more.
    const reads = fakes.healthReadsOf(model);
    assert.ok(reads >= 2 && reads <= 8, `${reads} health reads`);
  });

  test('pipeline hand-over: an approved version reaches the deployment workflow (started, or signalled when it runs)', async (t) => {
    const approveRun = async (model: string, suffix: string) => {
      const { workflowId } = testIds(`${t.name}-${suffix}`);
      const run = await stack.client.workflow.start<typeof trainingPipeline>('trainingPipeline', {
        taskQueue,
        workflowId,
        args: [pipelineInput({}, { model: { name: model }, rollout: fastPlan() })],
      });
      for (let i = 0; i < 150 && (await run.query(pipelineStatusQuery)).stage !== 'awaiting-approval'; i++) await sleep(100);
      await run.executeUpdate(approveUpdate, { args: [{ by: 'ana', comment: 'ship it' }] });
      assert.equal((await run.result()).status, 'approved');
      return run.query(pipelineStatusQuery);
    };

    // No deployment workflow yet: the pipeline starts one with the rollout.
    const fresh = uniqueModel();
    const started = await approveRun(fresh, 'fresh');
    assert.deepEqual(started.deployment, { workflowId: deploymentWorkflowId(fresh), via: 'started' });
    const first = await finished(stack.client.workflow.getHandle(deploymentWorkflowId(fresh)));
    assert.deepEqual(first.history.map((h) => [h.version, h.by, h.outcome?.kind]), [[3, 'ana', 'promoted']]);

    // A deployment workflow already running (idle): the pipeline signals startRollout.
    const running = uniqueModel();
    const deployment = await stack.client.workflow.start<typeof modelDeployment>('modelDeployment', { taskQueue, workflowId: deploymentWorkflowId(running), args: [{ model: running }] });
    const signalled = await approveRun(running, 'running');
    assert.deepEqual(signalled.deployment, { workflowId: deploymentWorkflowId(running), via: 'signalled' });
    const second = await finished(deployment);
    assert.equal(second.history[0]?.version, 3);
    assert.equal(second.history[0]?.outcome?.kind, 'promoted');
  });

  test('survives a worker restart mid-bake: a new worker carries the rollout on from where it was', async (t) => {
    const restartQueue = testIds(t.name).taskQueue;
    const model = uniqueModel();
    const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
    const startWorker = async () => {
      const w = await Worker.create({ connection: stack.nativeConnection, namespace: config.temporal.namespace, taskQueue: restartQueue, workflowBundle: bundle, activities: fakes.activities, maxCachedWorkflows: 0 });
      return { w, run: w.run() };
    };
    const first = await startWorker();
    const handle = await stack.client.workflow.start<typeof modelDeployment>('modelDeployment', {
      taskQueue: restartQueue,
      workflowId: deploymentWorkflowId(model),
      args: [{ model, start: { version: 2, by: 'ana', plan: fastPlan({ steps: [{ percent: 5, bake: '3 seconds' }, { percent: 100, bake: '0 seconds' }] }) } }],
    });
    await waitFor(handle, 'canary', (s) => s.phase === 'canary');
    first.w.shutdown();
    await first.run;
    await sleep(3500);
    const second = await startWorker();
    try {
      const done = await finished(handle);
      assert.equal(done.history[0]?.outcome?.kind, 'promoted');
      assert.equal(done.history[0]?.steps[0]?.checks.length, 1, 'the step was judged once, not restarted');
      assert.deepEqual(fakes.routeWritesOf(model), [{ primary: 1, canary: { version: 2, percent: 5 } }, { primary: 2 }]);
    } finally {
      second.w.shutdown();
      await second.run;
    }
  });
});
