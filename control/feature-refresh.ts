import { ApplicationFailure } from '@temporalio/common';
import { type Client, ScheduleAlreadyRunning, type ScheduleDescription, ScheduleOverlapPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { Config } from '../shared/config.ts';
import { durationMs } from '../shared/duration.ts';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import { newestSnapshot, readSnapshot } from '../domain/features/online-snapshot-loader.ts';
import { DEFAULT_KEEP_SNAPSHOTS, DEFAULT_REFRESH_EVERY, type RefreshAsOf, type RefreshOutcome, type RefreshScheduleRequest, refreshOnlineFeaturesInputSchema, refreshScheduleId, refreshScheduleRequestSchema } from '../shared/online-refresh.ts';
import { describeIssues } from '../shared/parse-input.ts';
import { ScheduleRequestError, describeSchedule } from './monitor-schedule.ts';

/**
 * The Schedule that keeps a served model's online features fresh: `refreshOnlineFeatures` every
 * interval (default 15 minutes), a run still going when the next is due makes that one skip, paused
 * while the model is not served. Created or updated in place by the deployment (after a promotion),
 * the CLI or a script.
 */

type Interval = `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

export interface RefreshScheduleState {
  scheduleId: string;
  created: boolean;
  every: string;
  asOf: RefreshAsOf;
  keepSnapshots: number;
  paused: boolean;
}

/** 900000 → 15m: an interval as people write it, in the duration grammar. */
function intervalText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The interval and as-of mode a schedule was created with, read back from its description. */
function settingsOf(description: ScheduleDescription): { every: string; asOf: RefreshAsOf; keepSnapshots: number } {
  const ms = description.spec.intervals?.[0]?.every;
  const action = description.action;
  const args = action.type === 'startWorkflow' ? (action.args as unknown[] | undefined) : undefined;
  const parsed = refreshOnlineFeaturesInputSchema.safeParse(args?.[0]);
  return {
    every: ms === undefined ? DEFAULT_REFRESH_EVERY : intervalText(Number(ms)),
    asOf: parsed.success ? parsed.data.asOf : 'data-end',
    keepSnapshots: parsed.success ? parsed.data.keepSnapshots : DEFAULT_KEEP_SNAPSHOTS,
  };
}

/**
 * Creates the model's refresh schedule, or updates it: settings not given keep the schedule's own
 * (so a promotion does not undo an interval someone chose), `paused` pauses or unpauses it.
 */
export async function upsertFeatureRefreshSchedule(deps: { client: Client; config: Config }, request: RefreshScheduleRequest): Promise<RefreshScheduleState> {
  const parsed = refreshScheduleRequestSchema.safeParse(request);
  if (!parsed.success) throw new ScheduleRequestError('feature refresh schedule', describeIssues(parsed.error));
  const { model } = parsed.data;
  const scheduleId = refreshScheduleId(model);
  const action = (asOf: RefreshAsOf, keepSnapshots: number) => ({
    type: 'startWorkflow' as const,
    workflowType: 'refreshOnlineFeatures',
    workflowId: `${scheduleId}-run`,
    taskQueue: deps.config.taskQueues.pipeline,
    args: [{ model, asOf, keepSnapshots }],
  });
  const existing = await describeSchedule(deps.client, scheduleId);
  const every = parsed.data.every ?? (existing ? settingsOf(existing).every : DEFAULT_REFRESH_EVERY);
  const asOf = parsed.data.asOf ?? (existing ? settingsOf(existing).asOf : 'data-end');
  const keepSnapshots = parsed.data.keepSnapshots ?? (existing ? settingsOf(existing).keepSnapshots : DEFAULT_KEEP_SNAPSHOTS);
  const paused = parsed.data.paused ?? existing?.state.paused ?? false;
  const spec = { intervals: [{ every: every.trim() as Interval }] };
  const note = paused ? `paused: ${model} is not served` : `refreshing ${model}`;
  if (!existing) {
    try {
      await deps.client.schedule.create({
        scheduleId,
        spec,
        action: action(asOf, keepSnapshots),
        // A refresh missed while the worker was down is worth one catch-up run, not a burst.
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: durationMs(every) },
        state: { paused, note },
      });
      return { scheduleId, created: true, every, asOf, keepSnapshots, paused };
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
  }
  const handle = deps.client.schedule.getHandle(scheduleId);
  await handle.update((previous) => ({ ...previous, spec, action: action(asOf, keepSnapshots) }));
  const now = await handle.describe();
  if (now.state.paused !== paused) await (paused ? handle.pause(note) : handle.unpause(note));
  return { scheduleId, created: false, every, asOf, keepSnapshots, paused };
}

/**
 * After a rollout changed who is served: a model with a champion gets its schedule running (created
 * with defaults the first time), a model without one gets it paused.
 */
export async function followServedModel(deps: { client: Client; config: Config; store: ArtifactStore }, model: string): Promise<RefreshScheduleState | null> {
  const index = await new ModelRegistry(deps.store, deps.config.buckets.models).index(model);
  if (index.aliases.champion !== undefined) return upsertFeatureRefreshSchedule(deps, { model, paused: false });
  if (!(await describeSchedule(deps.client, refreshScheduleId(model)))) return null;
  return upsertFeatureRefreshSchedule(deps, { model, paused: true });
}

export interface FeatureRefreshStatus {
  model: string;
  schedule: (RefreshScheduleState & { nextRunAt: string | null; recentRuns: { workflowId: string; runId: string; startedAt: string }[] }) | null;
  /** The snapshot the API serves for the champion's feature spec. */
  snapshot: { key: string; asOf: string; writtenAt: string; datasetVersion: string } | null;
  champion: number | null;
}

/** What the CLI's `features status` shows: the schedule, its recent runs and the newest snapshot. */
export async function featureRefreshStatus(deps: { client: Client; config: Config; store: ArtifactStore }, model: string): Promise<FeatureRefreshStatus> {
  const registry = new ModelRegistry(deps.store, deps.config.buckets.models);
  const champion = (await registry.index(model)).aliases.champion ?? null;
  const description = await describeSchedule(deps.client, refreshScheduleId(model));
  let snapshot: FeatureRefreshStatus['snapshot'] = null;
  if (champion !== null) {
    const hash = (await registry.manifest(model, champion)).featureDefinitionHash;
    const newest = await newestSnapshot(deps.store, deps.config.buckets.serving, hash);
    if (newest) {
      const read = await readSnapshot(deps.store, deps.config.buckets.serving, newest.key);
      snapshot = { key: newest.key, asOf: read.asOf, writtenAt: newest.lastModified.toISOString(), datasetVersion: read.datasetVersion };
    }
  }
  return {
    model,
    champion,
    snapshot,
    schedule: description && {
      scheduleId: description.scheduleId,
      created: false,
      ...settingsOf(description),
      paused: description.state.paused,
      nextRunAt: description.info.nextActionTimes[0]?.toISOString() ?? null,
      recentRuns: description.info.recentActions.flatMap((a) =>
        'workflow' in a.action ? [{ workflowId: a.action.workflow.workflowId, runId: a.action.workflow.firstExecutionRunId, startedAt: a.takenAt.toISOString() }] : [],
      ),
    },
  };
}

/** Runs one refresh now and waits for it; a refresh already running for the model is waited on instead. */
export async function refreshFeaturesNow(deps: { client: Client; config: Config }, request: { model: string; asOf?: RefreshAsOf }): Promise<RefreshOutcome> {
  const input = refreshOnlineFeaturesInputSchema.safeParse(request);
  if (!input.success) throw new ScheduleRequestError('feature refresh request', describeIssues(input.error));
  const handle = await deps.client.workflow.start('refreshOnlineFeatures', {
    workflowId: `${refreshScheduleId(input.data.model)}-manual`,
    taskQueue: deps.config.taskQueues.pipeline,
    args: [input.data],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  try {
    return (await handle.result()) as RefreshOutcome;
  } catch (err) {
    // The run's own typed failure (a model with no champion, a refused partition) is the answer, not the wrapper around it.
    throw typedCause(err) ?? err;
  }
}

/** The innermost typed `ApplicationFailure` in a workflow failure's cause chain. */
function typedCause(err: unknown): ApplicationFailure | undefined {
  let found: ApplicationFailure | undefined;
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof ApplicationFailure && e.type) found = e;
  return found;
}

