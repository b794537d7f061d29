import { allHandlersFinished, condition, continueAsNew, defineQuery, defineSignal, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';
import { type ControlInput, type DeploymentInput, type RolloutRecord, type StartRolloutInput, deploymentInputSchema } from '../shared/deployment.ts';
import { parseInput } from '../shared/parse-input.ts';
import type { ModelRoutesConfig } from '../shared/serving-config.ts';
import { Deployer } from './model-deployment/deployer.ts';
import { type CurrentRollout, type DeploymentView, Deployment } from './model-deployment/deployment.ts';

export { RolloutRefused } from './model-deployment/deployment.ts';
export type { CurrentRollout, DeploymentView, IgnoredSignal } from './model-deployment/deployment.ts';

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

/**
 * One per model (workflow id `deploy-<model>`), running for the model's lifetime: the single writer
 * of the model's routes in the serving config and of its registry canary/production status and
 * aliases. A rollout moves the candidate through the plan's steps (optional shadow, then canary
 * percentages), judging each step's health over its bake window from the prediction logs; a breach
 * rolls back, success promotes. A second `startRollout` while one runs is refused with the reason:
 * finish, promote or roll back the first. `rollback` with no rollout in progress returns to the
 * previous champion (the one archived at the last promotion). Continues as new between steps, or
 * at a check while a step bakes, once the history is long.
 */
export async function modelDeployment(rawInput: DeploymentInput): Promise<void> {
  const input = parseInput(deploymentInputSchema, rawInput, (problems) => `Invalid deployment input: ${problems.join('; ')}`);
  const historyIsLong = () => workflowInfo().historyLength >= input.maxHistoryEvents || workflowInfo().continueAsNewSuggested;
  const deployment = new Deployment(input.model, input.historyLimit, input);
  const deployer = new Deployer(deployment, historyIsLong);
  listen(deployment, deployer);
  if (input.start) deployment.startOrIgnore(input.start);

  /** Runs the rollout from its step index; returns 'continue-as-new' at a step boundary, or at a check while a step bakes, when the history is long. */
  async function runRollout(rollout: CurrentRollout): Promise<'ended' | 'continue-as-new'> {
    if (deployment.notYetBegun(rollout) && !(await deployer.begin(rollout))) return 'ended';
    const steps = deployment.stepsToRun(rollout);
    while (rollout.stepIndex < steps.length) {
      const step = steps[rollout.stepIndex];
      if (!step) break;
      const command = deployment.command;
      if (command) {
        await deployer.finish(rollout, command.kind === 'promote' ? 'promoted' : 'rolled-back', command.by, command.reason);
        return 'ended';
      }
      if (step.kind === 'promote') {
        await deployer.finish(rollout, 'promoted', rollout.by, 'every step healthy');
        return 'ended';
      }
      const moved = await deployer.runStep(rollout, step);
      if (moved === 'ended' || moved === 'continue-as-new') return moved;
      // A promote or rollback came while the step baked: act on it before moving on.
      if (deployment.command) continue;
      deployment.advance(rollout);
      if (historyIsLong() && rollout.stepIndex < steps.length) return 'continue-as-new';
    }
    return 'ended';
  }

  deployer.showDetails();
  for (;;) {
    await condition(() => deployment.current !== undefined || historyIsLong());
    const rollout = deployment.current;
    if (rollout) {
      const result = await runRollout(rollout);
      if (result === 'ended' && !historyIsLong()) continue;
    }
    // Between steps or between rollouts: hand the state to a fresh run once no handler waits on this
    // one. A handler that waits for the rollout to move (start, promote, rollback) sends us back to it.
    await condition(() => allHandlersFinished() || deployment.command !== undefined || deployment.current?.steps.length === 0);
    if (!allHandlersFinished()) continue;
    await continueAsNew<typeof modelDeployment>({ model: input.model, ...deployment.carried(), maxHistoryEvents: input.maxHistoryEvents, historyLimit: input.historyLimit });
  }
}

/**
 * Updates answer with the state, or are refused with the reason before they reach history. Signals
 * (the Temporal UI, signal-with-start) cannot be refused: an invalid one is recorded as ignored.
 */
function listen(deployment: Deployment, deployer: Deployer): void {
  /** Resolves when the rollout that was current when the request came has ended. */
  const untilEnded = async () => {
    const startedAt = deployment.current?.startedAt;
    await condition(() => deployment.current?.startedAt !== startedAt);
    return deployment.view();
  };
  setHandler(startRolloutUpdate, async (req) => {
    deployment.start(deployment.checkStart(req));
    // Answer once the first step's routes are written (or the rollout already ended).
    const startedAt = deployment.current?.startedAt;
    await condition(() => deployment.current?.startedAt !== startedAt || deployment.state.phase !== 'idle');
    return deployment.view();
  }, { validator: (req) => void deployment.checkStart(req) });
  setHandler(promoteUpdate, async (req) => {
    deployment.control('promote', deployment.checkControl('promote', req));
    return untilEnded();
  }, { validator: (req) => void deployment.checkControl('promote', req) });
  setHandler(rollbackUpdate, async (req) => {
    if (!deployment.current) {
      await deployer.restorePreviousChampion(deployment.checkRestore(req));
      return deployment.view();
    }
    deployment.control('rollback', deployment.checkControl('rollback', req));
    return untilEnded();
  }, { validator: (req) => void deployment.checkRollback(req) });
  for (const [update, action] of [
    [pauseUpdate, 'pause'],
    [resumeUpdate, 'resume'],
  ] as const) {
    setHandler(update, (req) => {
      deployment.control(action, deployment.checkControl(action, req));
      return deployment.view();
    }, { validator: (req) => void deployment.checkControl(action, req) });
  }

  setHandler(startRolloutSignal, (req) => deployment.startOrIgnore(req));
  setHandler(rollbackSignal, async (req) => {
    try {
      if (deployment.current) deployment.control('rollback', deployment.checkControl('rollback', req));
      else await deployer.restorePreviousChampion(deployment.checkRestore(req));
    } catch (err) {
      deployment.ignore('rollback', req, err);
    }
  });
  for (const [signal, action] of [
    [promoteSignal, 'promote'],
    [pauseSignal, 'pause'],
    [resumeSignal, 'resume'],
  ] as const) {
    setHandler(signal, (req) => deployment.controlOrIgnore(action, req));
  }

  setHandler(deploymentStateQuery, () => deployment.view());
  setHandler(splitQuery, () => deployment.state.routes);
  setHandler(rolloutHistoryQuery, () => deployment.rollouts());
}
