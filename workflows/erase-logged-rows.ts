import { type ActivityOptions, proxyActivities, setCurrentDetails, sleep, workflowInfo } from '@temporalio/workflow';
import type { ErasureActivities } from '../activities/prediction-log/erasure-activities.ts';
import { durationMs } from '../shared/duration.ts';
import { NON_RETRYABLE_FAILURE_TYPES as NON_RETRYABLE } from '../shared/failure.ts';
import { parseInput } from '../shared/parse-input.ts';
import { type ErasureRecord, type LogErasure, eraseLoggedRowsInputSchema, erasureHours } from '../shared/prediction-log-erasure.ts';

/** Each pass reads and rewrites every hour of the model's log: as long as a first compaction may take. */
const erasureIo = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const shortIo = {
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const { eraseLogHours, eraseFeedback } = proxyActivities<ErasureActivities>(erasureIo);
const { writeErasureRecord } = proxyActivities<ErasureActivities>(shortIo);

/**
 * `sluice erase`: removes a subject's rows (by request id or routing key) from a model's prediction
 * log and the feedback labels of the same requests, then records what it did in the reports bucket.
 * The hours closed at the start are erased at once; the hours still open (the API may still write
 * them) are erased once they have closed, after a durable timer, unless the input says not to wait
 * (then the record lists them as not erased). See shared/prediction-log-erasure.ts for why only
 * closed hours are rewritten.
 */
export async function eraseLoggedRows(raw: unknown): Promise<ErasureRecord> {
  const input = parseInput(eraseLoggedRowsInputSchema, raw, () => 'Invalid erasure request');
  const { model, match } = input;
  const startedMs = Date.now();
  const { lastClosed, openHours, openClosesAtMs } = erasureHours(startedMs, durationMs(input.closedAfter));

  setCurrentDetails(`Erasing ${model}'s closed hours through ${lastClosed}`);
  const passes: LogErasure[] = [await eraseLogHours({ model, match, through: lastClosed })];
  let openHoursNotErased: string[] = [];
  if (input.waitForOpenHours) {
    setCurrentDetails(`Erased ${passes[0]?.rowsErased ?? 0} rows of closed hours; waiting until ${new Date(openClosesAtMs).toISOString()} for ${openHours.join(', ')} to close`);
    await sleep(Math.max(0, openClosesAtMs - Date.now()));
    passes.push(await eraseLogHours({ model, match, after: lastClosed, through: openHours.at(-1) ?? lastClosed }));
  } else {
    openHoursNotErased = openHours;
  }

  const requestIds = [...new Set([...match.requestIds, ...passes.flatMap((p) => p.requestIds)])].sort();
  setCurrentDetails(`Erasing the feedback labels of ${requestIds.length} requests`);
  const feedback = await eraseFeedback({ model, requestIds });
  const files = passes.flatMap((p) => p.files);
  const record = await writeErasureRecord({
    erasureId: workflowInfo().workflowId,
    model,
    requestedBy: input.requestedBy,
    reason: input.reason,
    requestedAt: new Date(startedMs).toISOString(),
    match,
    predictionLog: {
      hoursVisited: passes.reduce((s, p) => s + p.hoursVisited, 0),
      rowsErased: files.reduce((s, f) => s + f.rowsErased, 0),
      requests: new Set(passes.flatMap((p) => p.requestIds)).size,
      files,
    },
    feedback,
    openHoursNotErased,
  });
  setCurrentDetails(`Erased ${record.predictionLog.rowsErased} prediction rows in ${files.length} files and ${feedback.rowsErased} feedback labels`);
  return record;
}
