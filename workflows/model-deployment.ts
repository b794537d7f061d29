import {
  type ActivityOptions,
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeploymentActivities } from '../activities/deployment/contract.ts';
import {
  type ControlInput,
  type DeploymentInput,
  type DeploymentState,
  type HealthFigures,
  type RolloutOutcome,
  type RolloutRecord,
  type StartRolloutInput,
  type StepRecord,
  controlInputSchema,
  deploymentInputSchema,
  judgeHealth,
  planMs,
  startRolloutInputSchema,
} from '../shared/deployment.ts';
import { ErrorType } from '../shared/errors.ts';
import { describeIssues } from '../shared/parse-input.ts';
import type { ModelRoutesConfig } from '../shared/serving-config.ts';

const NON_RETRYABLE = Object.values(ErrorType);

const shortIo = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const healthRead = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

// Serving-config and registry writes retry without a limit: a rollback must land eventually.
const io = proxyActivities<DeploymentActivities>(shortIo);
const health = proxyActivities<DeploymentActivities>(healthRead);

export type CurrentRollout = NonNullable<DeploymentState['current']>;
export interface IgnoredSignal {
  signal: string;
  input: unknown;
  reason: string;
  at: string;
}
export type DeploymentView = DeploymentState & { ignoredSignals: IgnoredSignal[] };

export const startRolloutUpdate = defineUpdate<DeploymentView, [StartRolloutInput]>('startRollout');
export const promoteUpdate = defineUpdate<DeploymentView, [ControlInput]>('promote');
export const rollbackUpdate = defineUpdate<DeploymentView, [ControlInput]>('rollback');
export const pauseUpdate = defineUpdate<DeploymentView, [ControlInput]>('pause');
export const resumeUpdate = defineUpdate<DeploymentView, [ControlInput]>('resume');

export const startRolloutSignal = defineSignal<[StartRolloutInput]>('startRollout');
export const promoteSignal = defineSignal<[ControlInput]>('promote');
export const rollbackSignal = defineSignal<[ControlInput]>('rollback');
export const pauseSignal = defineSignal<[ControlInput]>('pause');
export const resumeSignal = defineSignal<[ControlInput]>('resume');

/** The rollout state: phase, champion, current rollout (steps with health figures and verdicts), ignored signals. */
export const deploymentStateQuery = defineQuery<DeploymentView>('state');
/** The model's routes as this workflow last wrote them. */
export const splitQuery = defineQuery<ModelRoutesConfig | undefined>('split');
/** Every rollout this workflow remembers, the one in progress last. */
export const rolloutHistoryQuery = defineQuery<RolloutRecord[]>('history');

export class RolloutRefused extends Error {
  override readonly name = 'RolloutRefused';
}

type Command = { kind: 'promote' | 'rollback'; by: string; reason: string };
type Step = { kind: 'shadow' | 'canary'; percent: number; bakeMs: number } | { kind: 'promote'; percent: 100; bakeMs: 0 };

const nowIso = () => new Date().toISOString();

/**
 * One per model (workflow id `deploy-<model>`), running for the model's lifetime: the single writer
 * of the model's routes in the serving config and of its registry canary/production status and
 * aliases. A rollout moves the candidate through the plan's steps (optional shadow, then canary
 * percentages), judging each step's health over its bake window from the prediction logs; a breach
 * rolls back, success promotes. A second `startRollout` while one runs is refused with the reason:
 * finish, promote or roll back the first. `rollback` with no rollout in progress returns to the
 * previous champion (the one archived at the last promotion). Continues as new between steps once
 * the history is long.
 */
export async function modelDeployment(rawInput: DeploymentInput): Promise<void> {
  const parsed = deploymentInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error);
    throw ApplicationFailure.nonRetryable(`Invalid deployment input: ${problems.join('; ')}`, ErrorType.InvalidInput, { problems });
  }
  const input = parsed.data;
  const { model } = input;
  const state: DeploymentState = input.state ?? { model, phase: 'idle', history: [] };
  const ignoredSignals: IgnoredSignal[] = input.ignoredSignals ?? [];
  let command: Command | undefined;
  const view = (): DeploymentView => ({ ...state, ignoredSignals });

  const event = (action: string, by: string, reason: string) => state.current?.events.push({ at: nowIso(), action, by, reason });

  // --- validators: throw RolloutRefused with the reason; the same checks decide whether a signal is ignored.
  const checkStart = (raw: unknown) => {
    const p = startRolloutInputSchema.safeParse(raw);
    if (!p.success) throw new RolloutRefused(describeIssues(p.error).join('; '));
    if (state.current) {
      throw new RolloutRefused(
        `Version ${state.current.version} of ${model} is already rolling out (step ${state.current.stepIndex + 1}, ${state.phase}); promote it, roll it back or wait for it to finish before starting version ${p.data.version}`,
      );
    }
    if (state.phase === 'rolling-back') throw new RolloutRefused(`Champion v${state.champion} of ${model} is being rolled back; start version ${p.data.version} once that is done`);
    if (state.champion === p.data.version) throw new RolloutRefused(`Version ${p.data.version} is already the champion of ${model}`);
    return p.data;
  };
  /** `rollback` with no rollout in progress: the champion gives way to the one it replaced. */
  const checkRestore = (raw: unknown) => {
    const p = controlInputSchema.safeParse(raw);
    if (!p.success) throw new RolloutRefused(describeIssues(p.error).join('; '));
    if (state.phase === 'rolling-back') throw new RolloutRefused(`Champion v${state.champion} of ${model} is already being rolled back`);
    if (state.champion === undefined) throw new RolloutRefused(`No rollout of ${model} is in progress and it has no champion; nothing to roll back`);
    if (state.previousChampion === undefined) {
      throw new RolloutRefused(
        `No rollout of ${model} is in progress and champion v${state.champion} has no previous version to return to (it was the first, or was itself restored by a rollback); start a rollout of the version that should serve instead`,
      );
    }
    return p.data;
  };
  const checkControl = (action: 'promote' | 'rollback' | 'pause' | 'resume', raw: unknown) => {
    const p = controlInputSchema.safeParse(raw);
    if (!p.success) throw new RolloutRefused(describeIssues(p.error).join('; '));
    const current = state.current;
    if (!current) throw new RolloutRefused(`No rollout of ${model} is in progress; nothing to ${action}`);
    if (state.phase === 'promoting' || state.phase === 'rolling-back') throw new RolloutRefused(`Version ${current.version} is already ${state.phase === 'promoting' ? 'being promoted' : 'being rolled back'}`);
    if (action === 'pause' && current.paused) throw new RolloutRefused(`The rollout of version ${current.version} is already paused`);
    if (action === 'resume' && !current.paused) throw new RolloutRefused(`The rollout of version ${current.version} is not paused`);
    if ((action === 'promote' || action === 'rollback') && command) throw new RolloutRefused(`A ${command.kind} of version ${current.version} is already under way`);
    return p.data;
  };

  // --- what each request does once accepted.
  const applyStart = (req: ReturnType<typeof checkStart>) => {
    state.current = { version: req.version, by: req.by, reason: req.reason, plan: req.plan, startedAt: nowIso(), steps: [], events: [], stepIndex: 0, paused: false };
    event('start', req.by, req.reason || `rollout of version ${req.version} requested`);
  };
  const applyControl = (action: 'promote' | 'rollback' | 'pause' | 'resume', req: { by: string; reason: string }) => {
    const current = state.current;
    if (!current) return;
    event(action, req.by, req.reason);
    if (action === 'pause') current.paused = true;
    else if (action === 'resume') current.paused = false;
    else command = { kind: action, by: req.by, reason: req.reason || `${action} requested by ${req.by}` };
  };
  /** Resolves when the rollout that was current when the request came has ended. */
  const untilEnded = async () => {
    const startedAt = state.current?.startedAt;
    await condition(() => state.current?.startedAt !== startedAt);
    return view();
  };

  setHandler(startRolloutUpdate, async (req) => {
    const accepted = checkStart(req);
    applyStart(accepted);
    // Answer once the first step's routes are written (or the rollout already ended).
    const startedAt = state.current?.startedAt;
    await condition(() => state.current?.startedAt !== startedAt || state.phase !== 'idle');
    return view();
  }, { validator: (req) => void checkStart(req) });
  setHandler(promoteUpdate, async (req) => {
    applyControl('promote', checkControl('promote', req));
    return untilEnded();
  }, { validator: (req) => void checkControl('promote', req) });
  setHandler(rollbackUpdate, async (req) => {
    if (!state.current) {
      await restorePreviousChampion(checkRestore(req));
      return view();
    }
    applyControl('rollback', checkControl('rollback', req));
    return untilEnded();
  }, { validator: (req) => void (state.current ? checkControl('rollback', req) : checkRestore(req)) });
  for (const [update, action] of [
    [pauseUpdate, 'pause'],
    [resumeUpdate, 'resume'],
  ] as const) {
    setHandler(update, (req) => {
      applyControl(action, checkControl(action, req));
      return view();
    }, { validator: (req) => void checkControl(action, req) });
  }
  // Signals (the Temporal UI, signal-with-start) cannot be refused: an invalid one is recorded as ignored.
  const ignore = (signal: string, raw: unknown, err: unknown) => {
    ignoredSignals.push({ signal, input: raw, reason: err instanceof Error ? err.message : String(err), at: nowIso() });
    if (ignoredSignals.length > 50) ignoredSignals.shift();
  };
  setHandler(startRolloutSignal, (req) => {
    try {
      applyStart(checkStart(req));
    } catch (err) {
      ignore('startRollout', req, err);
    }
  });
  setHandler(rollbackSignal, async (req) => {
    try {
      if (state.current) applyControl('rollback', checkControl('rollback', req));
      else await restorePreviousChampion(checkRestore(req));
    } catch (err) {
      ignore('rollback', req, err);
    }
  });
  for (const [signal, action] of [
    [promoteSignal, 'promote'],
    [pauseSignal, 'pause'],
    [resumeSignal, 'resume'],
  ] as const) {
    setHandler(signal, (req) => {
      try {
        applyControl(action, checkControl(action, req));
      } catch (err) {
        ignore(action, req, err);
      }
    });
  }
  setHandler(deploymentStateQuery, view);
  setHandler(splitQuery, () => state.routes);
  setHandler(rolloutHistoryQuery, () => (state.current ? [...state.history, state.current] : state.history));

  if (input.start) {
    try {
      applyStart(checkStart(input.start));
    } catch (err) {
      ignore('startRollout', input.start, err);
    }
  }

  const historyIsLong = () => workflowInfo().historyLength >= input.maxHistoryEvents || workflowInfo().continueAsNewSuggested;
  const details = () => {
    const c = state.current;
    setCurrentDetails(c ? `**${state.phase}** v${c.version} vs champion v${state.champion ?? '-'} (step ${c.stepIndex + 1}/${stepsOf(c).length})` : `**idle**, champion v${state.champion ?? '-'}`);
  };

  async function writeRoutes(routes: ModelRoutesConfig | undefined, by: string, reason: string) {
    await io.writeModelRoutes.executeWithOptions({ ...shortIo, summary: reason }, [{ model, routes: routes ?? null, by, reason }]);
    state.routes = routes;
  }

  async function finish(kind: RolloutOutcome, by: string, reason: string) {
    const current = state.current;
    if (!current) return;
    const version = current.version;
    const last = current.steps[current.steps.length - 1];
    if (last && !last.endedAt) last.endedAt = nowIso();
    if (kind === 'promoted') {
      state.phase = 'promoting';
      details();
      current.steps.push({ kind: 'promote', percent: 100, startedAt: nowIso(), endedAt: nowIso(), checks: [] });
      await writeRoutes({ primary: version }, by, `promote ${model} v${version}: ${reason}`);
      await io.recordRolloutStatus.executeWithOptions({ ...shortIo, summary: `Promote ${model} v${version}` }, [{ model, version, action: 'promote', by, reason }]);
      state.previousChampion = current.champion;
      state.champion = version;
    } else if (kind === 'rolled-back') {
      state.phase = 'rolling-back';
      details();
      const champion = current.champion;
      await writeRoutes(champion === undefined ? undefined : { primary: champion }, by, `roll back ${model} v${version}: ${reason}`);
      await io.recordRolloutStatus.executeWithOptions({ ...shortIo, summary: `Roll back ${model} v${version}` }, [{ model, version, action: 'rollback', by, reason }]);
    }
    const { stepIndex: _, paused: __, pausedPhase: ___, ...record } = current;
    state.history.push({ ...record, outcome: { kind, at: nowIso(), by, reason } });
    if (state.history.length > input.historyLimit) state.history.splice(0, state.history.length - input.historyLimit);
    state.current = undefined;
    command = undefined;
    state.phase = 'idle';
    details();
  }

  /**
   * Rolls a promoted champion back to the one it replaced: the registry first (one write: the
   * previous champion production again, the demoted one archived), so a refusal changes nothing,
   * then the routes. Recorded in the history as a plan-less record; a refusal as `failed`.
   */
  async function restorePreviousChampion(req: { by: string; reason: string }) {
    const demoted = state.champion as number;
    const restored = state.previousChampion as number;
    const reason = req.reason || `rollback requested by ${req.by}`;
    const record: RolloutRecord = { version: demoted, champion: restored, by: req.by, reason, startedAt: nowIso(), steps: [], events: [{ at: nowIso(), action: 'rollback', by: req.by, reason }] };
    const remember = (kind: RolloutOutcome, why: string) => {
      state.history.push({ ...record, outcome: { kind, at: nowIso(), by: req.by, reason: why } });
      if (state.history.length > input.historyLimit) state.history.splice(0, state.history.length - input.historyLimit);
      state.phase = 'idle';
      details();
    };
    state.phase = 'rolling-back';
    details();
    try {
      await io.recordRolloutStatus.executeWithOptions({ ...shortIo, summary: `Restore ${model} v${restored} over v${demoted}` }, [
        { model, version: restored, action: 'restore', replaces: demoted, by: req.by, reason: `rollback of v${demoted}: ${reason}` },
      ]);
    } catch (err) {
      const failure = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : (err as Error);
      const why = `could not roll champion v${demoted} back to v${restored}: ${failure.message}`;
      remember('failed', why);
      throw ApplicationFailure.nonRetryable(why, 'RolloutRefused');
    }
    await writeRoutes({ primary: restored }, req.by, `roll back ${model} champion v${demoted} to v${restored}: ${reason}`);
    state.champion = restored;
    state.previousChampion = undefined;
    remember('rolled-back', reason);
  }

  /** Waits `ms` unless a command arrives or the rollout is paused; true when the full time passed. */
  const bake = (ms: number) => condition(() => command !== undefined || (state.current?.paused ?? false), Math.max(ms, 1000)).then((interrupted) => !interrupted);

  /** Runs the current rollout from its step index; returns 'continue-as-new' at a step boundary when the history is long. */
  async function runRollout(): Promise<'ended' | 'continue-as-new'> {
    const current = state.current;
    if (!current) return 'ended';
    if (current.steps.length === 0 && current.stepIndex === 0) {
      try {
        const context = await io.loadDeploymentContext({ model });
        if (context.champion !== undefined) {
          state.champion = context.champion;
          current.champion = context.champion;
        }
        if (state.routes === undefined && context.routes) state.routes = context.routes;
        await io.recordRolloutStatus.executeWithOptions({ ...shortIo, summary: `Mark ${model} v${current.version} canary` }, [
          { model, version: current.version, action: 'canary', by: current.by, reason: current.reason || 'rollout started' },
        ]);
      } catch (err) {
        const failure = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
        if (!failure) throw err;
        await finish('failed', 'sluice', `could not start: ${failure.message}`);
        return 'ended';
      }
    }
    const steps = current.champion === undefined ? [{ kind: 'promote', percent: 100, bakeMs: 0 } as const] : stepsOf(current);
    if (current.champion === undefined) event('promote', 'sluice', 'no champion to compare with: the first version is promoted directly');

    while (current.stepIndex < steps.length) {
      const step = steps[current.stepIndex];
      if (!step) break;
      if (command) {
        await finish(command.kind === 'promote' ? 'promoted' : 'rolled-back', command.by, command.reason);
        return 'ended';
      }
      if (step.kind === 'promote') {
        await finish('promoted', current.by, `every step healthy`);
        return 'ended';
      }
      const champion = current.champion as number;
      let record: StepRecord | undefined = current.steps[current.stepIndex];
      if (!record) {
        record = { kind: step.kind, percent: step.percent, startedAt: nowIso(), checks: [] };
        current.steps.push(record);
      }
      const routes: ModelRoutesConfig =
        step.kind === 'shadow' ? { primary: champion, shadow: { version: current.version, percent: step.percent } } : { primary: champion, canary: { version: current.version, percent: step.percent } };
      await writeRoutes(routes, current.by, `${step.kind} ${model} v${current.version} at ${step.percent}%`);
      state.phase = step.kind;
      details();

      let windowFrom = record.startedAt;
      let extensions = 0;
      for (;;) {
        const elapsed = await bake(step.bakeMs);
        if (command) break;
        if (!elapsed) {
          // Paused: hold the split until resumed (or a promote/rollback), then bake the step afresh.
          current.pausedPhase = step.kind;
          state.phase = 'paused';
          details();
          await condition(() => command !== undefined || !current.paused);
          current.pausedPhase = undefined;
          if (command) break;
          state.phase = step.kind;
          details();
          windowFrom = nowIso();
          extensions = 0;
          continue;
        }
        const figures: HealthFigures = await health.measureRolloutHealth.executeWithOptions(
          { ...healthRead, summary: `Health of v${current.version} (${step.kind} ${step.percent}%) vs v${champion}` },
          [{ model, candidate: current.version, champion, route: step.kind, from: windowFrom, to: nowIso() }],
        );
        const judgement = judgeHealth(figures, current.plan.health);
        record.checks.push({ at: nowIso(), figures, verdict: judgement.verdict, reasons: judgement.reasons });
        if (step.kind === 'shadow') {
          const { reportKey } = await io.storeShadowReport.executeWithOptions({ ...shortIo, summary: `Shadow report of v${current.version}` }, [
            { model, candidate: current.version, champion, figures, verdict: judgement.verdict, reasons: judgement.reasons },
          ]);
          record.reportKey = reportKey;
        }
        if (judgement.verdict === 'healthy') break;
        if (judgement.verdict === 'breach') {
          await finish('rolled-back', 'sluice', `${step.kind} ${step.percent}% breached: ${judgement.reasons.join('; ')}`);
          return 'ended';
        }
        if (extensions < current.plan.maxExtensions) {
          extensions++;
          event('extend', 'sluice', `${judgement.reasons.join('; ')}: baking again (${extensions}/${current.plan.maxExtensions})`);
          continue;
        }
        const why = `not enough data after ${extensions} extension(s): ${judgement.reasons.join('; ')}`;
        if (current.plan.onInsufficientData === 'rollback') {
          await finish('rolled-back', 'sluice', why);
          return 'ended';
        }
        event('pause', 'sluice', why);
        current.paused = true;
      }
      if (command) continue;
      record.endedAt = nowIso();
      current.stepIndex++;
      if (historyIsLong() && current.stepIndex < steps.length) return 'continue-as-new';
    }
    return 'ended';
  }

  details();
  for (;;) {
    await condition(() => state.current !== undefined || historyIsLong());
    if (state.current) {
      const result = await runRollout();
      if (result === 'ended' && !historyIsLong()) continue;
    }
    // Between steps or between rollouts: hand the state to a fresh run once no handler waits on this
    // one. A handler that waits for the rollout to move (start, promote, rollback) sends us back to it.
    await condition(() => allHandlersFinished() || command !== undefined || state.current?.steps.length === 0);
    if (!allHandlersFinished()) continue;
    await continueAsNew<typeof modelDeployment>({ model, state, ignoredSignals, maxHistoryEvents: input.maxHistoryEvents, historyLimit: input.historyLimit });
  }
}

function stepsOf(rollout: CurrentRollout): Step[] {
  const { plan } = rollout;
  const steps: Step[] = plan.shadow ? [{ kind: 'shadow', percent: plan.shadow.percent, bakeMs: planMs(plan.shadow.duration) }] : [];
  for (const s of plan.steps) steps.push(s.percent >= 100 ? { kind: 'promote', percent: 100, bakeMs: 0 } : { kind: 'canary', percent: s.percent, bakeMs: planMs(s.bake) });
  return steps;
}
