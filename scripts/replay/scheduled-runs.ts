import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';

/** The schedule did not start a run for an instant it should have fired at. */
export class ScheduledRunMissingError extends Error {
  override readonly name = 'ScheduledRunMissingError';
}

/**
 * The workflow id of the run a schedule started for the firing at `scheduledAt`, read from the
 * schedule's recent actions (the proof the run came from the schedule, not from this process).
 */
export async function scheduledRunAt(client: Client, scheduleId: string, scheduledAt: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen = 'none';
  for (;;) {
    try {
      const { info } = await client.schedule.getHandle(scheduleId).describe();
      const action = info.recentActions.find((a) => a.scheduledAt.getTime() === scheduledAt);
      if (action) return action.action.workflow.workflowId;
      seen = info.recentActions.map((a) => a.scheduledAt.toISOString()).join(', ') || 'none';
    } catch (err) {
      // A dev server busy with a training run can miss a describe's deadline; the next poll asks again.
      seen = `describe failed: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) {
      throw new ScheduledRunMissingError(`schedule ${scheduleId} started no run for ${new Date(scheduledAt).toISOString()} within ${timeoutMs / 1000} s (recent actions: ${seen}); is a pipeline worker polling its task queue?`);
    }
    await sleep(1000);
  }
}
