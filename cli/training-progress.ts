import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { z } from 'zod';

/**
 * The training activity's progress as its heartbeats carry it (`activities/pipeline/train-candidate.ts`):
 * iteration of `of`, and both losses. Read from the run's pending activity, so any client of the
 * Temporal service sees the same figures the UI shows under "Pending activities".
 */
const heartbeatSchema = z.object({
  iteration: z.number().int().nonnegative(),
  of: z.number().int().positive().optional(),
  trainLoss: z.number(),
  validationLoss: z.number(),
  resumed: z.boolean().optional(),
});
export type TrainingHeartbeat = z.infer<typeof heartbeatSchema>;

/** The latest training heartbeat of the run's pending `trainCandidate` activity, if it has sent one. */
export function trainingHeartbeat(description: WorkflowExecutionDescription): TrainingHeartbeat | undefined {
  for (const activity of description.raw.pendingActivities ?? []) {
    if (activity.activityType?.name !== 'trainCandidate') continue;
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (!payload) return undefined;
    const parsed = heartbeatSchema.safeParse(defaultPayloadConverter.fromPayload(payload));
    return parsed.success ? parsed.data : undefined;
  }
  return undefined;
}

const BAR_WIDTH = 24;

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

/**
 * Turns successive heartbeats into progress lines with a rate and an ETA. The rate is measured from
 * the first heartbeat this view saw (not the activity's start, which includes loading the tables), so
 * the ETA is for the iterations left at the current pace.
 */
export class TrainingProgressView {
  private first: { iteration: number; at: number } | undefined;
  private lastPlainDecile = -1;

  /** One line for a terminal that redraws it in place: a bar, iteration of total, losses and ETA. */
  line(beat: TrainingHeartbeat, now = Date.now()): string {
    this.first ??= { iteration: beat.iteration, at: now };
    const parts = [`training ${beat.of ? `${this.bar(beat.iteration / beat.of)} ${beat.iteration}/${beat.of}` : `iteration ${beat.iteration}`}`];
    parts.push(`train loss ${beat.trainLoss.toFixed(4)}`, `validation ${beat.validationLoss.toFixed(4)}`);
    const done = beat.iteration - this.first.iteration;
    const elapsed = (now - this.first.at) / 1000;
    if (beat.of && done > 0 && elapsed > 0) parts.push(`ETA ${duration(((beat.of - beat.iteration) * elapsed) / done)}`);
    if (beat.resumed) parts.push('resumed from a checkpoint');
    return parts.join(' · ');
  }

  /** For output that is not a terminal: the same line once per tenth of the run, else undefined. */
  plainLine(beat: TrainingHeartbeat, now = Date.now()): string | undefined {
    const line = this.line(beat, now);
    if (!beat.of) return undefined;
    const decile = Math.floor((10 * beat.iteration) / beat.of);
    if (decile <= this.lastPlainDecile) return undefined;
    this.lastPlainDecile = decile;
    return `  ${line}`;
  }

  private bar(fraction: number): string {
    return progressBar(fraction);
  }
}

/** `[#########---------------]`: a fraction done, for a progress line. */
export function progressBar(fraction: number): string {
  const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round(fraction * BAR_WIDTH)));
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
}
