import { type Client, type ScheduleDescription, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { z } from 'zod';
import type { Config } from '../shared/config.ts';
import { durationSchema } from '../shared/duration.ts';
import { type DriftMonitorInput, driftMonitorInputSchema } from '../shared/monitoring.ts';
import { describeIssues } from '../shared/parse-input.ts';
import { retrainingScheduleId, retrainingScheduleRequestSchema } from '../shared/retraining.ts';
import { COMPACTION_CLOSED_AFTER, compactionScheduleId } from '../shared/prediction-log-compaction.ts';
import { type Retention, retentionScheduleId, retentionSchema } from '../shared/prediction-log-retention.ts';
import { checkRetrainingSpec } from '../domain/retraining/start-retraining.ts';
import { SluiceError } from '../shared/errors.ts';

/**
 * The Temporal Schedules that look after a deployed model: the drift monitor (`driftMonitor` every
 * interval) and periodic retraining (`scheduledRetraining` every interval), one of each per model,
 * and the one that compacts every model's prediction log (`compactPredictionLog`, hourly). Schedules are
 * created or updated in place; runs never overlap (a run still going when the next is due makes the
 * next one skip). Callable from a script, the CLI or an activity.
 */

/** A schedule request that cannot be acted on as given; one line per problem. */
export class ScheduleRequestError extends SluiceError {
  override readonly name = 'ScheduleRequestError';
  readonly kind = 'InvalidInput';
  constructor(what: string, readonly problems: string[]) {
    super(`The ${what} has ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { details: { problems } });
  }
}

function parseOrExplain<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ScheduleRequestError(what, describeIssues(parsed.error));
  return parsed.data;
}

export const driftMonitorScheduleId = (model: string) => `drift-monitor-${model}`;

type Interval = `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

interface ScheduleAction {
  type: 'startWorkflow';
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  args: unknown[];
}

async function upsertSchedule(client: Client, scheduleId: string, interval: string, action: ScheduleAction): Promise<{ scheduleId: string; created: boolean }> {
  const every = interval.trim() as Interval;
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every },
    });
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: { intervals: [{ every }] }, action }));
    return { scheduleId, created: false };
  }
}

/** Creates or updates the schedule running `driftMonitor` for a model every `interval`. */
export async function upsertDriftMonitorSchedule(
  deps: { client: Client; config: Config },
  request: { input: DriftMonitorInput; interval: string },
): Promise<{ scheduleId: string; created: boolean }> {
  const input = parseOrExplain(driftMonitorInputSchema, request.input, 'drift monitor input');
  parseOrExplain(durationSchema, request.interval, 'schedule interval');
  return upsertSchedule(deps.client, driftMonitorScheduleId(input.model), request.interval, {
    type: 'startWorkflow',
    workflowType: 'driftMonitor',
    workflowId: `drift-monitor-${input.model}-run`,
    taskQueue: deps.config.taskQueues.pipeline,
    args: [{ ...request.input, align: request.input.align ?? request.interval }],
  });
}

/**
 * Creates or updates the schedule retraining a model every `every` with `spec` on the newest data of
 * the spec's source. The spec is checked now, so a bad one is refused here rather than a week later.
 */
export async function upsertRetrainingSchedule(
  deps: { client: Client; config: Config },
  request: { model: string; every: string; spec: unknown },
): Promise<{ scheduleId: string; created: boolean }> {
  const { model, every, spec } = parseOrExplain(retrainingScheduleRequestSchema, request, 'retraining schedule');
  checkRetrainingSpec(model, spec);
  const scheduleId = retrainingScheduleId(model);
  return upsertSchedule(deps.client, scheduleId, every, {
    type: 'startWorkflow',
    workflowType: 'scheduledRetraining',
    workflowId: `${scheduleId}-run`,
    taskQueue: deps.config.taskQueues.pipeline,
    args: [{ model, scheduleId, spec }],
  });
}

/**
 * Creates or updates the one schedule compacting every model's prediction log every `every` (hourly
 * by default: an hour is compacted once it closed, `closedAfter` after its end).
 */
export async function upsertCompactionSchedule(
  deps: { client: Client; config: Config },
  request: { every?: string; closedAfter?: string } = {},
): Promise<{ scheduleId: string; created: boolean }> {
  const every = parseOrExplain(durationSchema, request.every ?? '1h', 'schedule interval');
  const closedAfter = parseOrExplain(durationSchema, request.closedAfter ?? COMPACTION_CLOSED_AFTER, 'closed-after duration');
  return upsertSchedule(deps.client, compactionScheduleId, every, {
    type: 'startWorkflow',
    workflowType: 'compactPredictionLog',
    workflowId: `${compactionScheduleId}-run`,
    taskQueue: deps.config.taskQueues.pipeline,
    args: [{ closedAfter }],
  });
}

/**
 * Creates or updates a model's retention Schedule: every `every` (hourly by default) it compacts the
 * model's closed hours and deletes what is past `retention` (see shared/prediction-log-retention.ts).
 */
export async function upsertRetentionSchedule(
  deps: { client: Client; config: Config },
  request: { model: string; retention: Retention; every?: string },
): Promise<{ scheduleId: string; created: boolean }> {
  const every = parseOrExplain(durationSchema, request.every ?? '1h', 'schedule interval');
  const retention = parseOrExplain(retentionSchema, request.retention, 'retention');
  const scheduleId = retentionScheduleId(request.model);
  return upsertSchedule(deps.client, scheduleId, every, {
    type: 'startWorkflow',
    workflowType: 'enforceRetention',
    workflowId: `${scheduleId}-run`,
    taskQueue: deps.config.taskQueues.pipeline,
    args: [{ model: request.model, retention }],
  });
}

/** A schedule's description, or null when the model has none. */
export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleDescription | null> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}
