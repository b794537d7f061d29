import { type ActivityOptions, ActivityFailure, ApplicationFailure, condition, log, patched, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { DeploymentActivities } from '../../activities/deployment/contract.ts';
import { type BakeUnderWay, type HealthFigures, type Judgement, type RolloutOutcome, type StepRecord, judgeHealth, judgeServing } from '../../shared/deployment.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../shared/failure.ts';
import type { ModelRoutesConfig } from '../../shared/serving-config.ts';
import { type BakedStep, type ControlRequest, type CurrentRollout, type Deployment, MIN_BAKE_MS } from './deployment.ts';
import { notify } from '../notify.ts';

const shortIo = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES },
} satisfies ActivityOptions;

const healthRead = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES },
} satisfies ActivityOptions;

/** A check while a step bakes is not retried: the next one comes an interval later, and the end of the bake judges anyway. */
const inBakeRead = { ...healthRead, retry: { ...healthRead.retry, maximumAttempts: 1 } } satisfies ActivityOptions;

// Serving-config and registry writes retry without a limit: a rollback must land eventually.
const io = proxyActivities<DeploymentActivities>(shortIo);
const health = proxyActivities<DeploymentActivities>(healthRead);

/** Marks histories whose canary steps are checked while they bake: runs recorded before bake in one timer. */
const EARLY_ABORT = 'early-abort-in-bake';

/**
 * How a bake ended: its full time, stopped by a command or a pause, cut short by a clear breach, or
 * left for a run continued as new to finish (the history grew long with checks).
 */
type BakeEnd = { kind: 'elapsed' } | { kind: 'stopped' } | { kind: 'breach'; reason: string } | { kind: 'continue-as-new' };

/** The feature refresh schedule is a follower of the rollout: a few tries, then the rollout goes on without it. */
const scheduleIo = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES },
} satisfies ActivityOptions;
const schedules = proxyActivities<DeploymentActivities>(scheduleIo);

const nowIso = () => new Date().toISOString();

/** The application failure an activity ended with; undefined for anything else (a cancellation, a bug). */
const applicationFailureOf = (err: unknown) => (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined);

/**
 * What a deployment does to the world, as `Deployment` decides it: writes the model's routes, moves
 * the version through the registry, bakes each step and reads its health. The single writer of the
 * model's routes in the serving config and of its registry canary/production status and aliases.
 */
export class Deployer {
  constructor(
    private readonly deployment: Deployment,
    /** True once this run's history should be handed to a fresh run. */
    private readonly historyIsLong: () => boolean,
  ) {}

  private get model(): string {
    return this.deployment.model;
  }

  showDetails(): void {
    setCurrentDetails(this.deployment.summary());
  }

  /** Learns the registry's champion and marks the version canary; false when the registry refused and the rollout ended as failed. */
  async begin(rollout: CurrentRollout): Promise<boolean> {
    try {
      this.deployment.begin(rollout, await io.loadDeploymentContext({ model: this.model }));
      await io.recordRolloutStatus.executeWithOptions({ ...shortIo, summary: `Mark ${this.model} v${rollout.version} canary` }, [
        { model: this.model, version: rollout.version, action: 'canary', by: rollout.by, reason: rollout.reason || 'rollout started' },
      ]);
      return true;
    } catch (err) {
      const failure = applicationFailureOf(err);
      if (!failure) throw err;
      await this.finish(rollout, 'failed', 'sluice', `could not start: ${failure.message}`);
      return false;
    }
  }

  /**
   * Routes the step's traffic, then bakes and judges it until it is healthy ('healthy'), a promote
   * or rollback arrives ('interrupted'), or the rollout ends on a breach ('ended'), at the end of
   * the bake or at a check while it bakes. A pause holds the split until resumed, then bakes the
   * step afresh. A long bake checked while it bakes may leave the rest to a run continued as new
   * ('continue-as-new'), which finds the routes written and the bake under way in the state.
   */
  async runStep(rollout: CurrentRollout, step: BakedStep): Promise<'healthy' | 'interrupted' | 'ended' | 'continue-as-new'> {
    const { deployment, model } = this;
    const champion = rollout.champion as number;
    const record = deployment.stepRecord(rollout, step);
    if (!rollout.bake) await this.writeRoutes(deployment.routesFor(rollout, step, champion), rollout.by, `${step.kind} ${model} v${rollout.version} at ${step.percent}%`);
    deployment.enterStep(step);
    this.showDetails();

    let bake = rollout.bake ?? deployment.beginBake(rollout, step, record.startedAt, 0);
    for (;;) {
      const baked = await this.bake(rollout, step, record, bake);
      if (deployment.command) return 'interrupted';
      if (baked.kind === 'breach') {
        await this.finish(rollout, 'rolled-back', 'sluice', baked.reason);
        return 'ended';
      }
      if (baked.kind === 'continue-as-new') return 'continue-as-new';
      if (baked.kind === 'stopped') {
        deployment.holdPaused(rollout, step);
        this.showDetails();
        await condition(() => deployment.command !== undefined || !rollout.paused);
        deployment.releasePause(rollout);
        if (deployment.command) return 'interrupted';
        deployment.enterStep(step);
        this.showDetails();
        bake = deployment.beginBake(rollout, step, nowIso(), 0);
        continue;
      }
      const figures = await health.measureRolloutHealth.executeWithOptions(
        { ...healthRead, summary: `Health of v${rollout.version} (${step.kind} ${step.percent}%) vs v${champion}` },
        [{ model, candidate: rollout.version, champion, route: step.kind, from: bake.windowFrom, to: nowIso() }],
      );
      const judgement = judgeHealth(figures, rollout.plan.health);
      await this.recordCheck(rollout, step, record, figures, judgement, false);
      if (step.kind === 'shadow') {
        const { reportKey } = await io.storeShadowReport.executeWithOptions({ ...shortIo, summary: `Shadow report of v${rollout.version}` }, [
          { model, candidate: rollout.version, champion, figures, verdict: judgement.verdict, reasons: judgement.reasons },
        ]);
        record.reportKey = reportKey;
      }
      const next = deployment.nextMove(rollout, step, judgement, bake.extensions);
      switch (next.kind) {
        case 'advance':
          return 'healthy';
        case 'roll-back':
          await this.finish(rollout, 'rolled-back', 'sluice', next.reason);
          return 'ended';
        case 'bake-again':
          bake = deployment.beginBake(rollout, step, bake.windowFrom, bake.extensions + 1);
          continue;
        case 'hold-paused':
          // Paused: the next bake stops at once, and the resume bakes afresh.
          bake = deployment.beginBake(rollout, step, bake.windowFrom, bake.extensions);
          continue;
      }
    }
  }

  /**
   * Waits out the step's bake unless a command arrives or the rollout is paused. A canary step is
   * checked every `checkEvery` on the way, over its window so far, on the figures that are clear
   * early (error rate, p99 latency); a breach ends the bake at once, even when a pause came while
   * the check ran: holding a failing candidate's share helps no one.
   */
  private async bake(rollout: CurrentRollout, step: BakedStep, record: StepRecord, bake: BakeUnderWay): Promise<BakeEnd> {
    const { deployment } = this;
    const stopped = () => deployment.command !== undefined || (deployment.current?.paused ?? false);
    const bakeMs = Math.max(step.bakeMs, MIN_BAKE_MS);
    const every = deployment.inBakeCheckMs(rollout, step);
    // Runs recorded before these checks waited out each bake in one timer.
    if (every === undefined || every >= bakeMs || !patched(EARLY_ABORT)) return { kind: (await condition(stopped, bakeMs)) ? 'stopped' : 'elapsed' };
    const until = Date.parse(bake.until);
    for (;;) {
      const left = until - Date.now();
      if (await condition(stopped, Math.max(Math.min(every, left), 1))) return { kind: 'stopped' };
      if (left <= every) return { kind: 'elapsed' };
      const figures = await this.checkWhileBaking(rollout, step, bake.windowFrom);
      const judgement = figures && judgeServing(figures, rollout.plan.health);
      if (figures && judgement?.verdict === 'breach') {
        await this.recordCheck(rollout, step, record, figures, judgement, true);
        return { kind: 'breach', reason: deployment.breachedWhileBaking(step, judgement).reason };
      }
      if (this.historyIsLong()) return { kind: 'continue-as-new' };
    }
  }

  /** The step's figures so far; undefined when the read failed (logged): the bake goes on and its end judges. */
  private async checkWhileBaking(rollout: CurrentRollout, step: BakedStep, windowFrom: string): Promise<HealthFigures | undefined> {
    const { model } = this;
    const champion = rollout.champion as number;
    try {
      return await health.measureRolloutHealth.executeWithOptions(
        { ...inBakeRead, summary: `Health of v${rollout.version} (${step.kind} ${step.percent}%) vs v${champion}, while baking` },
        [{ model, candidate: rollout.version, champion, route: step.kind, from: windowFrom, to: nowIso() }],
      );
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('health check while baking failed', { model, version: rollout.version, error: err.message });
      return undefined;
    }
  }

  /** Files a judged check in the step's record and tells subscribers (`rollout.step`). */
  private async recordCheck(rollout: CurrentRollout, step: BakedStep, record: StepRecord, figures: HealthFigures, judgement: Judgement, early: boolean): Promise<void> {
    const { model } = this;
    record.checks.push({ at: nowIso(), figures, verdict: judgement.verdict, reasons: judgement.reasons, ...(early && { early: true as const }) });
    await notify(
      'rollout.step',
      model,
      `${model} v${rollout.version} at ${step.kind} ${step.percent}%: ${judgement.verdict}${early ? ' while baking' : ''}${judgement.reasons.length > 0 ? ` (${judgement.reasons.join('; ')})` : ''}`,
      {
        step: { kind: step.kind, percent: step.percent },
        champion: rollout.champion,
        verdict: judgement.verdict,
        reasons: judgement.reasons,
        candidateFigures: figures.candidate,
        championFigures: figures.champion,
        ...(early && { early: true }),
      },
      rollout.version,
    );
  }

  /** Ends the rollout: a promotion routes everything to the candidate, a rollback to the champion; then it is filed in the history. */
  async finish(rollout: CurrentRollout, kind: RolloutOutcome, by: string, reason: string): Promise<void> {
    const { deployment, model } = this;
    const version = rollout.version;
    deployment.closeLastStep(rollout);
    if (kind === 'promoted') {
      deployment.promoting(rollout);
      this.showDetails();
      await this.writeRoutes({ primary: version }, by, `promote ${model} v${version}: ${reason}`);
      await io.recordRolloutStatus.executeWithOptions({ ...shortIo, summary: `Promote ${model} v${version}` }, [{ model, version, action: 'promote', by, reason }]);
      deployment.promoted(rollout);
      await this.followServedModel();
    } else if (kind === 'rolled-back') {
      deployment.rollingBack();
      this.showDetails();
      const champion = rollout.champion;
      await this.writeRoutes(champion === undefined ? undefined : { primary: champion }, by, `roll back ${model} v${version}: ${reason}`);
      await io.recordRolloutStatus.executeWithOptions({ ...shortIo, summary: `Roll back ${model} v${version}` }, [{ model, version, action: 'rollback', by, reason }]);
      if (champion === undefined) await this.followServedModel();
    }
    deployment.end(rollout, kind, by, reason);
    this.showDetails();
    if (kind !== 'failed') await notify(kind === 'promoted' ? 'rollout.promoted' : 'rollout.rolled-back', model, `${model} v${version} ${kind} by ${by}: ${reason}`, { by, reason, champion: rollout.champion ?? null }, version);
  }

  /**
   * Rolls a promoted champion back to the one it replaced: the registry first (one write: the
   * previous champion production again, the demoted one archived), so a refusal changes nothing,
   * then the routes. Recorded in the history as a plan-less record; a refusal as `failed`.
   */
  async restorePreviousChampion(req: ControlRequest): Promise<void> {
    const { deployment, model } = this;
    const restore = deployment.beginRestore(req);
    const { demoted, restored, reason } = restore;
    this.showDetails();
    try {
      await io.recordRolloutStatus.executeWithOptions({ ...shortIo, summary: `Restore ${model} v${restored} over v${demoted}` }, [
        { model, version: restored, action: 'restore', replaces: demoted, by: req.by, reason: `rollback of v${demoted}: ${reason}` },
      ]);
    } catch (err) {
      const failure = applicationFailureOf(err) ?? (err as Error);
      const why = `could not roll champion v${demoted} back to v${restored}: ${failure.message}`;
      deployment.endRestore(restore, 'failed', why);
      this.showDetails();
      throw ApplicationFailure.nonRetryable(why, 'RolloutRefused');
    }
    await this.writeRoutes({ primary: restored }, req.by, `roll back ${model} champion v${demoted} to v${restored}: ${reason}`);
    deployment.restored(restore);
    this.showDetails();
  }

  /**
   * Starts (or pauses, once nothing is served) the model's online feature refresh Schedule. Added
   * after histories of this workflow were recorded, hence the patch. A failure is logged and the
   * rollout's outcome stands: serving does not depend on the schedule.
   */
  private async followServedModel(): Promise<void> {
    if (!patched('refresh-schedule-on-promote')) return;
    const { model } = this;
    try {
      await schedules.followServedModel.executeWithOptions({ ...scheduleIo, summary: `Feature refresh schedule of ${model}` }, [{ model }]);
    } catch (err) {
      if (!applicationFailureOf(err)) throw err;
      log.warn('feature refresh schedule not updated', { model, error: (err as Error).message });
    }
  }

  private async writeRoutes(routes: ModelRoutesConfig | undefined, by: string, reason: string): Promise<void> {
    await io.writeModelRoutes.executeWithOptions({ ...shortIo, summary: reason }, [{ model: this.model, routes: routes ?? null, by, reason }]);
    this.deployment.routesWritten(routes);
  }
}
