import type { z } from 'zod';
import type { DeploymentContext } from '../../activities/deployment/contract.ts';
import {
  type BakeUnderWay,
  type DeploymentAction,
  type DeploymentState,
  type Judgement,
  type RolloutOutcome,
  type RolloutRecord,
  type StepRecord,
  controlInputSchema,
  healthThresholdsSchema,
  planMs,
  startRolloutInputSchema,
} from '../../shared/deployment.ts';
import { describeIssues } from '../../shared/parse-input.ts';
import type { ModelRoutesConfig } from '../../shared/serving-config.ts';

/**
 * One model's deployment as data and rules, without Temporal: what each request may do in which
 * state (the validators refuse with the reason), what an accepted request changes, how a rollout's
 * plan becomes steps and a step's judgement becomes the next move, and the records kept of it all.
 * The `modelDeployment` workflow does the waiting and the activities around it.
 */

export type CurrentRollout = NonNullable<DeploymentState['current']>;
export interface IgnoredSignal {
  signal: string;
  input: unknown;
  reason: string;
  at: string;
}
export type DeploymentView = DeploymentState & { ignoredSignals: IgnoredSignal[] };

export class RolloutRefused extends Error {
  override readonly name = 'RolloutRefused';
}

export type StartRequest = z.output<typeof startRolloutInputSchema>;
export type ControlRequest = z.output<typeof controlInputSchema>;
/** A promote or rollback accepted while a rollout runs; the rollout acts on it at its next chance. */
export interface Command {
  kind: 'promote' | 'rollback';
  by: string;
  reason: string;
}
export type BakedStep = { kind: 'shadow' | 'canary'; percent: number; bakeMs: number };
export type Step = BakedStep | { kind: 'promote'; percent: 100; bakeMs: 0 };
/** What a judged step leads to. */
export type NextMove = { kind: 'advance' } | { kind: 'bake-again' } | { kind: 'hold-paused' } | { kind: 'roll-back'; reason: string };
/** The rollback of a promoted champion to the one it replaced, once accepted. */
export interface Restore {
  demoted: number;
  restored: number;
  by: string;
  reason: string;
  record: RolloutRecord;
}

/** The shortest bake: a step of `0 seconds` before 100 % still waits this long. */
export const MIN_BAKE_MS = 1000;

/** Signals past this many ignored ones push the oldest out. */
const IGNORED_SIGNALS_KEPT = 50;

const nowIso = () => new Date().toISOString();

export class Deployment {
  readonly state: DeploymentState;
  readonly ignoredSignals: IgnoredSignal[];
  #command: Command | undefined;

  constructor(
    readonly model: string,
    private readonly historyLimit: number,
    carried: { state?: DeploymentState | undefined; ignoredSignals?: IgnoredSignal[] | undefined } = {},
  ) {
    this.state = carried.state ?? { model, phase: 'idle', history: [] };
    this.ignoredSignals = carried.ignoredSignals ?? [];
  }

  get current(): CurrentRollout | undefined {
    return this.state.current;
  }

  get command(): Command | undefined {
    return this.#command;
  }

  view(): DeploymentView {
    return { ...this.state, ignoredSignals: this.ignoredSignals };
  }

  /** Every rollout remembered, the one in progress last. */
  rollouts(): RolloutRecord[] {
    return this.state.current ? [...this.state.history, this.state.current] : this.state.history;
  }

  /** What a continued-as-new run starts from. */
  carried(): { state: DeploymentState; ignoredSignals: IgnoredSignal[] } {
    return { state: this.state, ignoredSignals: this.ignoredSignals };
  }

  // --- validators: throw RolloutRefused with the reason; the same checks decide whether a signal is ignored.

  checkStart(raw: unknown): StartRequest {
    const p = startRolloutInputSchema.safeParse(raw);
    if (!p.success) throw new RolloutRefused(describeIssues(p.error).join('; '));
    const { state, model } = this;
    if (state.current) {
      throw new RolloutRefused(
        `Version ${state.current.version} of ${model} is already rolling out (step ${state.current.stepIndex + 1}, ${state.phase}); promote it, roll it back or wait for it to finish before starting version ${p.data.version}`,
      );
    }
    if (state.phase === 'rolling-back') throw new RolloutRefused(`Champion v${state.champion} of ${model} is being rolled back; start version ${p.data.version} once that is done`);
    if (state.champion === p.data.version) throw new RolloutRefused(`Version ${p.data.version} is already the champion of ${model}`);
    return p.data;
  }

  /** `rollback` with no rollout in progress: the champion gives way to the one it replaced. */
  checkRestore(raw: unknown): ControlRequest {
    const p = controlInputSchema.safeParse(raw);
    if (!p.success) throw new RolloutRefused(describeIssues(p.error).join('; '));
    const { state, model } = this;
    if (state.phase === 'rolling-back') throw new RolloutRefused(`Champion v${state.champion} of ${model} is already being rolled back`);
    if (state.champion === undefined) throw new RolloutRefused(`No rollout of ${model} is in progress and it has no champion; nothing to roll back`);
    if (state.previousChampion === undefined) {
      throw new RolloutRefused(
        `No rollout of ${model} is in progress and champion v${state.champion} has no previous version to return to (it was the first, or was itself restored by a rollback); start a rollout of the version that should serve instead`,
      );
    }
    return p.data;
  }

  checkControl(action: DeploymentAction, raw: unknown): ControlRequest {
    const p = controlInputSchema.safeParse(raw);
    if (!p.success) throw new RolloutRefused(describeIssues(p.error).join('; '));
    const { state, model } = this;
    const current = state.current;
    if (!current) throw new RolloutRefused(`No rollout of ${model} is in progress; nothing to ${action}`);
    if (state.phase === 'promoting' || state.phase === 'rolling-back') throw new RolloutRefused(`Version ${current.version} is already ${state.phase === 'promoting' ? 'being promoted' : 'being rolled back'}`);
    if (action === 'pause' && current.paused) throw new RolloutRefused(`The rollout of version ${current.version} is already paused`);
    if (action === 'resume' && !current.paused) throw new RolloutRefused(`The rollout of version ${current.version} is not paused`);
    if ((action === 'promote' || action === 'rollback') && this.#command) throw new RolloutRefused(`A ${this.#command.kind} of version ${current.version} is already under way`);
    return p.data;
  }

  /** `rollback` ends the rollout in progress, or with none restores the previous champion. */
  checkRollback(raw: unknown): ControlRequest {
    return this.state.current ? this.checkControl('rollback', raw) : this.checkRestore(raw);
  }

  // --- what each request does once accepted.

  start(req: StartRequest): void {
    this.state.current = { version: req.version, by: req.by, reason: req.reason, plan: req.plan, startedAt: nowIso(), steps: [], events: [], stepIndex: 0, paused: false };
    this.event('start', req.by, req.reason || `rollout of version ${req.version} requested`);
  }

  control(action: DeploymentAction, req: ControlRequest): void {
    const current = this.state.current;
    if (!current) return;
    this.event(action, req.by, req.reason);
    if (action === 'pause') current.paused = true;
    else if (action === 'resume') current.paused = false;
    else this.#command = { kind: action, by: req.by, reason: req.reason || `${action} requested by ${req.by}` };
  }

  /** Signals (the Temporal UI, signal-with-start) cannot be refused: an invalid one is recorded as ignored. */
  ignore(signal: string, raw: unknown, err: unknown): void {
    this.ignoredSignals.push({ signal, input: raw, reason: err instanceof Error ? err.message : String(err), at: nowIso() });
    if (this.ignoredSignals.length > IGNORED_SIGNALS_KEPT) this.ignoredSignals.shift();
  }

  startOrIgnore(raw: unknown): void {
    try {
      this.start(this.checkStart(raw));
    } catch (err) {
      this.ignore('startRollout', raw, err);
    }
  }

  controlOrIgnore(action: DeploymentAction, raw: unknown): void {
    try {
      this.control(action, this.checkControl(action, raw));
    } catch (err) {
      this.ignore(action, raw, err);
    }
  }

  event(action: string, by: string, reason: string): void {
    this.state.current?.events.push({ at: nowIso(), action, by, reason });
  }

  // --- the rollout's steps.

  /** True until the rollout's first step: the registry's champion is not known yet and the version is not yet canary. */
  notYetBegun(rollout: CurrentRollout): boolean {
    return rollout.steps.length === 0 && rollout.stepIndex === 0;
  }

  /** The registry's champion is the one to compare with; the routes are kept unless this workflow wrote its own. */
  begin(rollout: CurrentRollout, context: DeploymentContext): void {
    if (context.champion !== undefined) {
      this.state.champion = context.champion;
      rollout.champion = context.champion;
    }
    if (this.state.routes === undefined && context.routes) this.state.routes = context.routes;
  }

  /** The rollout's steps; a first version has no champion to compare with, so it is promoted directly. */
  stepsToRun(rollout: CurrentRollout): Step[] {
    if (rollout.champion !== undefined) return stepsOf(rollout);
    this.event('promote', 'sluice', 'no champion to compare with: the first version is promoted directly');
    return [{ kind: 'promote', percent: 100, bakeMs: 0 }];
  }

  /** The step's record, created when the step is first entered (a continued run finds it). */
  stepRecord(rollout: CurrentRollout, step: BakedStep): StepRecord {
    let record = rollout.steps[rollout.stepIndex];
    if (!record) {
      record = { kind: step.kind, percent: step.percent, startedAt: nowIso(), checks: [] };
      rollout.steps.push(record);
    }
    return record;
  }

  /** The champion serves; the candidate shadows it or takes the step's share as canary. */
  routesFor(rollout: CurrentRollout, step: BakedStep, champion: number): ModelRoutesConfig {
    return step.kind === 'shadow'
      ? { primary: champion, shadow: { version: rollout.version, percent: step.percent } }
      : { primary: champion, canary: { version: rollout.version, percent: step.percent } };
  }

  routesWritten(routes: ModelRoutesConfig | undefined): void {
    this.state.routes = routes;
  }

  enterStep(step: BakedStep): void {
    this.state.phase = step.kind;
  }

  /** Paused mid-step: the split stays, the step is baked afresh on resume. */
  holdPaused(rollout: CurrentRollout, step: BakedStep): void {
    rollout.pausedPhase = step.kind;
    this.state.phase = 'paused';
  }

  releasePause(rollout: CurrentRollout): void {
    rollout.pausedPhase = undefined;
  }

  /**
   * What a judged step leads to: healthy advances, a breach rolls back; too few samples bakes again
   * up to the plan's extensions, then rolls back or pauses as the plan says.
   */
  nextMove(rollout: CurrentRollout, step: BakedStep, judgement: Judgement, extensions: number): NextMove {
    if (judgement.verdict === 'healthy') return { kind: 'advance' };
    if (judgement.verdict === 'breach') return { kind: 'roll-back', reason: `${step.kind} ${step.percent}% breached: ${judgement.reasons.join('; ')}` };
    const { maxExtensions, onInsufficientData } = rollout.plan;
    if (extensions < maxExtensions) {
      this.event('extend', 'sluice', `${judgement.reasons.join('; ')}: baking again (${extensions + 1}/${maxExtensions})`);
      return { kind: 'bake-again' };
    }
    const why = `not enough data after ${extensions} extension(s): ${judgement.reasons.join('; ')}`;
    if (onInsufficientData === 'rollback') return { kind: 'roll-back', reason: why };
    this.event('pause', 'sluice', why);
    rollout.paused = true;
    return { kind: 'hold-paused' };
  }

  /** Starts (or restarts, after a pause or for an extension) the step's bake of `bakeMs` from now. */
  beginBake(rollout: CurrentRollout, step: BakedStep, windowFrom: string, extensions: number): BakeUnderWay {
    const bake = { windowFrom, until: new Date(Date.now() + Math.max(step.bakeMs, MIN_BAKE_MS)).toISOString(), extensions };
    rollout.bake = bake;
    return bake;
  }

  /**
   * How often a step is checked while it bakes; undefined when only the end of its bake is judged:
   * a shadow step (it answers no request), or a plan with the checks turned off.
   */
  inBakeCheckMs(rollout: CurrentRollout, step: BakedStep): number | undefined {
    if (step.kind !== 'canary') return undefined;
    // A plan carried over from a run started before the setting existed lacks it: the schema's default applies.
    const every = healthThresholdsSchema.shape.checkEvery.parse(rollout.plan.health.checkEvery);
    return every === false ? undefined : planMs(every);
  }

  /** A breach found while the step baked rolls back at once, named as such. */
  breachedWhileBaking(step: BakedStep, judgement: Judgement): Extract<NextMove, { kind: 'roll-back' }> {
    return { kind: 'roll-back', reason: `${step.kind} ${step.percent}% breached while baking: ${judgement.reasons.join('; ')}` };
  }

  advance(rollout: CurrentRollout): void {
    const record = rollout.steps[rollout.stepIndex];
    if (record) record.endedAt = nowIso();
    rollout.stepIndex++;
    rollout.bake = undefined;
  }

  // --- the end of a rollout.

  closeLastStep(rollout: CurrentRollout): void {
    const last = rollout.steps[rollout.steps.length - 1];
    if (last && !last.endedAt) last.endedAt = nowIso();
  }

  /** Records the promote step; the routes to write and the registry's promotion follow. */
  promoting(rollout: CurrentRollout): void {
    this.state.phase = 'promoting';
    rollout.steps.push({ kind: 'promote', percent: 100, startedAt: nowIso(), endedAt: nowIso(), checks: [] });
  }

  promoted(rollout: CurrentRollout): void {
    this.state.previousChampion = rollout.champion;
    this.state.champion = rollout.version;
  }

  rollingBack(): void {
    this.state.phase = 'rolling-back';
  }

  /** Files the rollout in the history with its outcome; the deployment is idle again. */
  end(rollout: CurrentRollout, kind: RolloutOutcome, by: string, reason: string): void {
    const { stepIndex: _, paused: __, pausedPhase: ___, bake: ____, ...record } = rollout;
    this.remember({ ...record, outcome: { kind, at: nowIso(), by, reason } });
    this.state.current = undefined;
    this.#command = undefined;
    this.state.phase = 'idle';
  }

  /** A restore, accepted: recorded as a plan-less rollout of the demoted champion. */
  beginRestore(req: ControlRequest): Restore {
    const demoted = this.state.champion as number;
    const restored = this.state.previousChampion as number;
    const reason = req.reason || `rollback requested by ${req.by}`;
    const record: RolloutRecord = { version: demoted, champion: restored, by: req.by, reason, startedAt: nowIso(), steps: [], events: [{ at: nowIso(), action: 'rollback', by: req.by, reason }] };
    this.state.phase = 'rolling-back';
    return { demoted, restored, by: req.by, reason, record };
  }

  /** The previous champion serves again, and has no previous one of its own. */
  restored(restore: Restore): void {
    this.state.champion = restore.restored;
    this.state.previousChampion = undefined;
    this.endRestore(restore, 'rolled-back', restore.reason);
  }

  endRestore(restore: Restore, kind: RolloutOutcome, reason: string): void {
    this.remember({ ...restore.record, outcome: { kind, at: nowIso(), by: restore.by, reason } });
    this.state.phase = 'idle';
  }

  private remember(record: RolloutRecord): void {
    const { history } = this.state;
    history.push(record);
    if (history.length > this.historyLimit) history.splice(0, history.length - this.historyLimit);
  }

  /** One line for the Temporal UI. */
  summary(): string {
    const c = this.state.current;
    return c ? `**${this.state.phase}** v${c.version} vs champion v${this.state.champion ?? '-'} (step ${c.stepIndex + 1}/${stepsOf(c).length})` : `**idle**, champion v${this.state.champion ?? '-'}`;
  }
}

/** The plan as steps: the optional shadow phase, then the canary percentages; 100 % is the promotion. */
export function stepsOf(rollout: CurrentRollout): Step[] {
  const { plan } = rollout;
  const steps: Step[] = plan.shadow ? [{ kind: 'shadow', percent: plan.shadow.percent, bakeMs: planMs(plan.shadow.duration) }] : [];
  for (const s of plan.steps) steps.push(s.percent >= 100 ? { kind: 'promote', percent: 100, bakeMs: 0 } : { kind: 'canary', percent: s.percent, bakeMs: planMs(s.bake) });
  return steps;
}
