import { hourPartition } from '../../shared/api/prediction-log.ts';

/**
 * Which feedback label files a monitoring window reads: only the hour partitions it can concern, so a
 * pass costs the window, not the model's age (the prediction log's side: domain/prediction-log/).
 */

/**
 * How long after a window ends its feedback labels may still arrive and count. Labels are filed by
 * the hour they are received, so the window's labels lie in the partitions from its start to its end
 * plus this allowance; only those are listed and read, so a long-lived model's pass does not read
 * all feedback ever. A label received later than this is not joined (a live pass, run at the end of
 * its window, could not have seen it anyway; the bound matters for backfills and replays).
 */
export const LABEL_DELAY_ALLOWANCE_MS = 48 * 3_600_000;

/** The hour partitions of feedback labels a window's performance reads: [from, min(until + allowance, now)). */
export function feedbackHoursForWindow(from: string, until: string, allowanceMs: number, nowMs: number): string[] {
  const start = Math.floor(Date.parse(from) / 3_600_000) * 3_600_000;
  const end = Math.min(Date.parse(until) + allowanceMs, nowMs);
  const hours: string[] = [];
  for (let t = start; t < end; t += 3_600_000) hours.push(hourPartition(t));
  return hours;
}
