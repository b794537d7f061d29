import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Judgement, RolloutPlanInput } from '../../../shared/deployment.ts';
import { type CurrentRollout, Deployment, RolloutRefused, stepsOf } from '../../../workflows/model-deployment/deployment.ts';

/** A deployment of model `m` with champion `champion` (and `previous` before it), idle. */
function deploymentOf(champion?: number, previous?: number, historyLimit = 50): Deployment {
  return new Deployment('m', historyLimit, { state: { model: 'm', phase: 'idle', champion, previousChampion: previous, history: [] } });
}

/** Starts a rollout of `version` as the startRollout update would, and returns it with its champion known. */
function rolling(deployment: Deployment, version: number, plan: RolloutPlanInput = {}): CurrentRollout {
  deployment.start(deployment.checkStart({ version, plan, by: 'ana' }));
  const rollout = deployment.current;
  assert.ok(rollout);
  deployment.begin(rollout, { champion: deployment.state.champion });
  return rollout;
}

/** Asserts that `fn` is refused with a RolloutRefused whose message matches. */
function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof RolloutRefused, `expected RolloutRefused, got ${err.name}`);
    assert.equal(err.name, 'RolloutRefused');
    assert.match(err.message, message);
    return true;
  });
}

const judged = (verdict: Judgement['verdict'], ...reasons: string[]): Judgement => ({ verdict, reasons });

describe('Deployment: starting a rollout', () => {
  test('an invalid request is refused naming the field', () => {
    refused(() => deploymentOf(1).checkStart({ version: -2, by: 'ana' }), /^version: /);
    refused(() => deploymentOf(1).checkStart({ version: 2, by: 'ana', plan: { steps: [{ percent: 50 }] } }), /plan\.steps: the last step must be 100/);
  });

  test('a second rollout while one runs is refused, naming the one in progress', () => {
    const deployment = deploymentOf(1);
    rolling(deployment, 2);
    refused(
      () => deployment.checkStart({ version: 3, by: 'ana' }),
      /^Version 2 of m is already rolling out \(step 1, idle\); promote it, roll it back or wait for it to finish before starting version 3$/,
    );
  });

  test('refused while the champion is being rolled back, and for the champion itself', () => {
    const deployment = deploymentOf(2, 1);
    refused(() => deployment.checkStart({ version: 2, by: 'ana' }), /^Version 2 is already the champion of m$/);
    deployment.beginRestore(deployment.checkRestore({ by: 'omar' }));
    refused(() => deployment.checkStart({ version: 3, by: 'ana' }), /^Champion v2 of m is being rolled back; start version 3 once that is done$/);
  });

  test('an accepted start becomes the current rollout with the default plan and a start event', () => {
    const deployment = deploymentOf(1);
    const rollout = rolling(deployment, 2);
    assert.equal(rollout.version, 2);
    assert.equal(rollout.champion, 1);
    assert.equal(rollout.stepIndex, 0);
    assert.equal(rollout.paused, false);
    assert.deepEqual(rollout.plan.steps.map((s) => s.percent), [5, 25, 50, 100]);
    assert.deepEqual(rollout.events.map((e) => [e.action, e.by, e.reason]), [['start', 'ana', 'rollout of version 2 requested']]);
    assert.equal(deployment.notYetBegun(rollout), true);
  });

  test('a refused start signal is recorded as ignored with the reason; the oldest go past 50', () => {
    const deployment = deploymentOf(1);
    deployment.startOrIgnore({ version: 1, by: 'ana' });
    assert.equal(deployment.current, undefined);
    assert.deepEqual(deployment.view().ignoredSignals.map((s) => [s.signal, s.reason]), [['startRollout', 'Version 1 is already the champion of m']]);
    for (let i = 0; i < 60; i++) deployment.controlOrIgnore('pause', { by: `user-${i}` });
    assert.equal(deployment.ignoredSignals.length, 50);
    assert.deepEqual(deployment.ignoredSignals[0]?.input, { by: 'user-10' });
    assert.equal(deployment.ignoredSignals[0]?.reason, 'No rollout of m is in progress; nothing to pause');
  });
});

describe('Deployment: promote, pause, resume and rollback of a rollout', () => {
  test('nothing to control without a rollout in progress', () => {
    for (const action of ['promote', 'pause', 'resume', 'rollback'] as const) {
      refused(() => deploymentOf(1).checkControl(action, { by: 'omar' }), new RegExp(`^No rollout of m is in progress; nothing to ${action}$`));
    }
  });

  test('pause and resume toggle the rollout, and each is refused when it would change nothing', () => {
    const deployment = deploymentOf(1);
    const rollout = rolling(deployment, 2);
    refused(() => deployment.checkControl('resume', { by: 'omar' }), /^The rollout of version 2 is not paused$/);
    deployment.control('pause', deployment.checkControl('pause', { by: 'omar', reason: 'lunch' }));
    assert.equal(rollout.paused, true);
    refused(() => deployment.checkControl('pause', { by: 'omar' }), /^The rollout of version 2 is already paused$/);
    deployment.control('resume', deployment.checkControl('resume', { by: 'omar' }));
    assert.equal(rollout.paused, false);
    assert.deepEqual(rollout.events.map((e) => `${e.action}:${e.reason}`), ['start:rollout of version 2 requested', 'pause:lunch', 'resume:']);
    assert.equal(deployment.command, undefined);
  });

  test('a promote or rollback becomes the pending command; a second one is refused until the rollout ends', () => {
    const deployment = deploymentOf(1);
    rolling(deployment, 2);
    deployment.control('promote', deployment.checkControl('promote', { by: 'omar' }));
    assert.deepEqual(deployment.command, { kind: 'promote', by: 'omar', reason: 'promote requested by omar' });
    refused(() => deployment.checkControl('rollback', { by: 'ana' }), /^A promote of version 2 is already under way$/);
    refused(() => deployment.checkRollback({ by: 'ana' }), /^A promote of version 2 is already under way$/);
    // Pause and resume are not commands: they still apply.
    deployment.checkControl('pause', { by: 'ana' });
  });

  test('nothing is accepted while the rollout is being promoted or rolled back', () => {
    const deployment = deploymentOf(1);
    const rollout = rolling(deployment, 2);
    deployment.promoting(rollout);
    refused(() => deployment.checkControl('pause', { by: 'omar' }), /^Version 2 is already being promoted$/);
    deployment.rollingBack();
    refused(() => deployment.checkControl('promote', { by: 'omar' }), /^Version 2 is already being rolled back$/);
  });
});

describe('Deployment: rollback of a promoted champion', () => {
  test('refused without a champion, without a previous one, and while one is under way', () => {
    refused(() => deploymentOf().checkRestore({ by: 'omar' }), /^No rollout of m is in progress and it has no champion; nothing to roll back$/);
    refused(() => deploymentOf(1).checkRollback({ by: 'omar' }), /champion v1 has no previous version to return to .*start a rollout of the version that should serve instead$/);
    const deployment = deploymentOf(2, 1);
    deployment.beginRestore(deployment.checkRestore({ by: 'omar' }));
    assert.equal(deployment.state.phase, 'rolling-back');
    refused(() => deployment.checkRestore({ by: 'omar' }), /^Champion v2 of m is already being rolled back$/);
  });

  test('a restore brings the previous champion back, which then has none of its own; recorded without a plan', () => {
    const deployment = deploymentOf(2, 1);
    const restore = deployment.beginRestore(deployment.checkRollback({ by: 'omar', reason: 'conversion dropped' }));
    deployment.restored(restore);
    assert.equal(deployment.state.champion, 1);
    assert.equal(deployment.state.previousChampion, undefined);
    assert.equal(deployment.state.phase, 'idle');
    const record = deployment.state.history.at(-1);
    assert.deepEqual(record && [record.version, record.champion, record.plan, record.steps, record.outcome?.kind, record.outcome?.reason], [2, 1, undefined, [], 'rolled-back', 'conversion dropped']);
    refused(() => deployment.checkRestore({ by: 'omar' }), /champion v1 has no previous version/);
  });

  test('a refused restore is recorded as failed and changes no champion', () => {
    const deployment = deploymentOf(2, 1);
    const restore = deployment.beginRestore(deployment.checkRestore({ by: 'omar' }));
    deployment.endRestore(restore, 'failed', 'registry said no');
    assert.deepEqual([deployment.state.champion, deployment.state.previousChampion, deployment.state.phase], [2, 1, 'idle']);
    const record = deployment.state.history.at(-1);
    assert.deepEqual([record?.outcome?.kind, record?.outcome?.reason, record?.reason], ['failed', 'registry said no', 'rollback requested by omar']);
  });
});

describe('Deployment: the rollout steps', () => {
  test('the plan becomes shadow, canary steps and the promotion', () => {
    const deployment = deploymentOf(1);
    const rollout = rolling(deployment, 2, { shadow: { percent: 50, duration: '10 minutes' }, steps: [{ percent: 10, bake: '1 hour' }, { percent: 100 }] });
    assert.deepEqual(deployment.stepsToRun(rollout), [
      { kind: 'shadow', percent: 50, bakeMs: 600_000 },
      { kind: 'canary', percent: 10, bakeMs: 3_600_000 },
      { kind: 'promote', percent: 100, bakeMs: 0 },
    ]);
    assert.deepEqual(deployment.routesFor(rollout, { kind: 'shadow', percent: 50, bakeMs: 0 }, 1), { primary: 1, shadow: { version: 2, percent: 50 } });
    assert.deepEqual(deployment.routesFor(rollout, { kind: 'canary', percent: 10, bakeMs: 0 }, 1), { primary: 1, canary: { version: 2, percent: 10 } });
  });

  test("a model's first version has no champion to compare with: it is promoted directly, and the event says why", () => {
    const deployment = deploymentOf();
    const rollout = rolling(deployment, 1);
    assert.deepEqual(deployment.stepsToRun(rollout), [{ kind: 'promote', percent: 100, bakeMs: 0 }]);
    assert.equal(rollout.events.at(-1)?.reason, 'no champion to compare with: the first version is promoted directly');
    assert.equal(stepsOf(rollout).length, 4, 'the plan itself is unchanged');
  });

  test('healthy advances; a breach rolls back with the step and the reasons', () => {
    const deployment = deploymentOf(1);
    const rollout = rolling(deployment, 2);
    const step = { kind: 'canary', percent: 25, bakeMs: 0 } as const;
    assert.deepEqual(deployment.nextMove(rollout, step, judged('healthy'), 0), { kind: 'advance' });
    assert.deepEqual(deployment.nextMove(rollout, step, judged('breach', 'PSI 0.61 > 0.25', 'p99 latency 900 ms > 250 ms'), 0), {
      kind: 'roll-back',
      reason: 'canary 25% breached: PSI 0.61 > 0.25; p99 latency 900 ms > 250 ms',
    });
  });

  test('too few samples bakes again up to the extensions, then pauses (the default) or rolls back as the plan says', () => {
    const thin = judged('insufficient-data', '12 canary predictions (needs 200)');
    const step = { kind: 'canary', percent: 5, bakeMs: 0 } as const;

    const pausing = deploymentOf(1);
    const paused = rolling(pausing, 2, { maxExtensions: 2 });
    assert.deepEqual(pausing.nextMove(paused, step, thin, 0), { kind: 'bake-again' });
    assert.deepEqual(pausing.nextMove(paused, step, thin, 1), { kind: 'bake-again' });
    assert.equal(paused.paused, false);
    assert.deepEqual(pausing.nextMove(paused, step, thin, 2), { kind: 'hold-paused' });
    assert.equal(paused.paused, true);
    assert.deepEqual(paused.events.slice(1).map((e) => `${e.action}:${e.reason}`), [
      'extend:12 canary predictions (needs 200): baking again (1/2)',
      'extend:12 canary predictions (needs 200): baking again (2/2)',
      'pause:not enough data after 2 extension(s): 12 canary predictions (needs 200)',
    ]);

    const strict = deploymentOf(1);
    const rolledBack = rolling(strict, 2, { maxExtensions: 0, onInsufficientData: 'rollback' });
    assert.deepEqual(strict.nextMove(rolledBack, step, thin, 0), { kind: 'roll-back', reason: 'not enough data after 0 extension(s): 12 canary predictions (needs 200)' });
    assert.equal(rolledBack.paused, false);
  });

  test('a step record is made once; advancing closes it and moves to the next step', () => {
    const deployment = deploymentOf(1);
    const rollout = rolling(deployment, 2);
    const step = { kind: 'canary', percent: 5, bakeMs: 0 } as const;
    const record = deployment.stepRecord(rollout, step);
    assert.equal(deployment.stepRecord(rollout, step), record);
    assert.equal(deployment.notYetBegun(rollout), false);
    deployment.advance(rollout);
    assert.equal(rollout.stepIndex, 1);
    assert.ok(record.endedAt);
    assert.match(deployment.summary(), /^\*\*idle\*\* v2 vs champion v1 \(step 2\/4\)$/);
  });
});

describe('Deployment: the end of a rollout', () => {
  test('a promotion records the promote step; the candidate becomes champion and the old one previous', () => {
    const deployment = deploymentOf(1);
    const rollout = rolling(deployment, 2);
    deployment.control('promote', deployment.checkControl('promote', { by: 'omar' }));
    deployment.promoting(rollout);
    deployment.promoted(rollout);
    deployment.end(rollout, 'promoted', 'omar', 'looks good');
    assert.deepEqual([deployment.state.champion, deployment.state.previousChampion, deployment.state.phase], [2, 1, 'idle']);
    assert.equal(deployment.current, undefined);
    assert.equal(deployment.command, undefined, 'the pending command is spent');
    const record = deployment.state.history[0];
    assert.ok(record);
    assert.deepEqual(Object.keys(record).filter((k) => ['stepIndex', 'paused', 'pausedPhase'].includes(k)), [], 'run-time fields are not filed');
    assert.deepEqual(record.steps.map((s) => `${s.kind}:${s.percent}`), ['promote:100']);
    assert.deepEqual(record.outcome && [record.outcome.kind, record.outcome.by, record.outcome.reason], ['promoted', 'omar', 'looks good']);
    assert.equal(deployment.summary(), '**idle**, champion v2');
  });

  test('the history keeps the newest `historyLimit` rollouts', () => {
    const deployment = deploymentOf(1, undefined, 2);
    for (const version of [2, 3, 4]) {
      const rollout = rolling(deployment, version);
      deployment.end(rollout, 'rolled-back', 'sluice', `v${version} breached`);
    }
    assert.deepEqual(deployment.state.history.map((r) => r.version), [3, 4]);
    assert.deepEqual(deployment.rollouts().map((r) => r.version), [3, 4]);
    rolling(deployment, 5);
    assert.deepEqual(deployment.rollouts().map((r) => r.version), [3, 4, 5], 'the rollout in progress comes last');
    assert.deepEqual(Object.keys(deployment.carried()), ['state', 'ignoredSignals']);
  });
});
