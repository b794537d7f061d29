import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Config } from '../../shared/config.ts';
import { type DriftMonitorInput, driftMonitorInputSchema } from '../../shared/monitoring.ts';

export const driftMonitorScheduleId = (model: string) => `drift-monitor-${model}`;

/**
 * Creates the Temporal Schedule that runs `driftMonitor` for a model every `interval`, or updates it
 * (interval and input) when it exists. Runs never overlap: a pass still running when the next is due
 * makes the next one skip. Callable from a script, the CLI or an activity.
 */
export async function upsertDriftMonitorSchedule(
  deps: { client: Client; config: Config },
  request: { input: DriftMonitorInput; interval: string },
): Promise<{ scheduleId: string; created: boolean }> {
  const input = driftMonitorInputSchema.parse(request.input);
  const scheduleId = driftMonitorScheduleId(input.model);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'driftMonitor',
    workflowId: `drift-monitor-${input.model}-run`,
    taskQueue: deps.config.taskQueues.pipeline,
    args: [{ ...request.input, align: request.input.align ?? request.interval }],
  };
  try {
    await deps.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: request.interval as `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: request.interval as `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` },
    });
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await deps.client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: { intervals: [{ every: request.interval as `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` }] }, action }));
    return { scheduleId, created: false };
  }
}
