import { feedbackKeys, predictionFailureKeys, predictionLogKeys } from '../../shared/api/prediction-log.ts';
import type { Retention, RetentionOutcome, RetentionState } from '../../shared/prediction-log-retention.ts';
import { retentionStateSchema } from '../../shared/prediction-log-retention.ts';
import { durationMs } from '../../shared/duration.ts';
import { type ArtifactStore, ObjectNotFoundError } from '../object-store/artifact-store.ts';
import { groupHour, lastClosedHour, nextHour, parseLogKey } from './log-files.ts';

/**
 * Deleting what a model's retention no longer keeps (see shared/prediction-log-retention.ts). An hour
 * is expired when its last instant is older than the retention: the same arithmetic as a closed hour,
 * with the retention as the delay.
 */

const HOUR_KEY = /\/hour=(\d{4}-\d{2}-\d{2}T\d{2})\//;

interface RetentionDeps {
  store: ArtifactStore;
  bucket: string;
  progress?: (detail: Record<string, unknown>) => void;
}

/** Deletes the expired hours of the model's log that are compacted, and the failed-prediction files of expired hours. */
async function expireLog(deps: RetentionDeps, model: string, expiredThrough: string): Promise<RetentionOutcome['predictionLog']> {
  const { store, bucket } = deps;
  const byHour = new Map<string, { key: string }[]>();
  for (const object of await store.list(bucket, predictionLogKeys.prefix(model))) {
    const file = parseLogKey(object.key);
    if (!file || file.hour > expiredThrough) continue;
    byHour.set(file.hour, [...(byHour.get(file.hour) ?? []), object]);
  }
  const hoursDeleted: string[] = [];
  const awaitingCompaction: string[] = [];
  let filesDeleted = 0;
  for (const [hour, objects] of [...byHour].sort(([a], [b]) => a.localeCompare(b))) {
    const groups = groupHour(objects);
    if (groups.some((g) => g.small.length > 0)) {
      awaitingCompaction.push(hour);
      continue;
    }
    for (const group of groups) {
      if (!group.compacted) continue;
      await store.remove(bucket, group.compacted.key);
      filesDeleted++;
    }
    hoursDeleted.push(hour);
    deps.progress?.({ stage: 'prediction-log', hour, filesDeleted });
  }
  // The failed-prediction log is never compacted: its files go as soon as their hour expires.
  let failureFilesDeleted = 0;
  for (const object of await store.list(bucket, predictionFailureKeys.prefix(model))) {
    const hour = HOUR_KEY.exec(object.key)?.[1];
    if (hour === undefined || hour > expiredThrough) continue;
    await store.remove(bucket, object.key);
    failureFilesDeleted++;
  }
  return { expiredThrough, hoursDeleted, filesDeleted, awaitingCompaction, failureFilesDeleted };
}

/** The lines of a feedback file without those labelled for `model`; lines naming another model or none are kept. */
export function withoutModelLabels(text: string, model: string): { text: string; before: number; deleted: number } {
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  const kept = lines.filter((line) => (JSON.parse(line) as { model?: unknown }).model !== model);
  return { text: kept.length > 0 ? `${kept.join('\n')}\n` : '', before: lines.length, deleted: lines.length - kept.length };
}

async function readState(store: ArtifactStore, bucket: string, model: string): Promise<RetentionState | undefined> {
  try {
    return retentionStateSchema.parse(JSON.parse((await store.get(bucket, predictionLogKeys.retentionState(model))).toString('utf8')));
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Deletes the model's labels from the feedback hours that expired since the last run. Feedback files
 * are only ever written into the current hour, so an hour visited once needs no second visit: a
 * watermark keeps each run to the hours that expired since (the first run lists every hour once).
 * Labels sent through the shared route name no model and are kept: per-model retention cannot tell
 * whose they are (the per-model route records the model).
 */
async function expireFeedback(deps: RetentionDeps, model: string, expiredThrough: string, nowMs: number): Promise<RetentionOutcome['feedback']> {
  const { store, bucket } = deps;
  const state = await readState(store, bucket, model);
  let hours: string[];
  if (state === undefined) {
    const listed = (await store.list(bucket, feedbackKeys.prefix)).flatMap((o) => HOUR_KEY.exec(o.key)?.[1] ?? []);
    hours = [...new Set(listed)].filter((h) => h <= expiredThrough).sort();
  } else {
    hours = [];
    for (let h = nextHour(state.feedbackThrough); h <= expiredThrough; h = nextHour(h)) hours.push(h);
  }
  const outcome = { expiredThrough, filesVisited: 0, filesRewritten: 0, filesDeleted: 0, labelsDeleted: 0 };
  for (const hour of hours) {
    for (const object of await store.list(bucket, feedbackKeys.hourPrefix(hour))) {
      outcome.filesVisited++;
      const { text, deleted } = withoutModelLabels((await store.get(bucket, object.key)).toString('utf8'), model);
      if (deleted === 0) continue;
      outcome.labelsDeleted += deleted;
      if (text.length === 0) {
        await store.remove(bucket, object.key);
        outcome.filesDeleted++;
      } else {
        // Conditional: an erasure rewriting the same file meanwhile makes this run fail and its retry read it again.
        await store.put(bucket, object.key, text, { contentType: 'application/x-ndjson', onlyIf: { etag: object.etag } });
        outcome.filesRewritten++;
      }
    }
    deps.progress?.({ stage: 'feedback', hour, labelsDeleted: outcome.labelsDeleted });
  }
  const through = state && state.feedbackThrough > expiredThrough ? state.feedbackThrough : expiredThrough;
  await store.put(bucket, predictionLogKeys.retentionState(model), JSON.stringify({ model, feedbackThrough: through, updatedAt: new Date(nowMs).toISOString() } satisfies RetentionState), { contentType: 'application/json' });
  return outcome;
}

/** Deletes the model's prediction-log hours and feedback labels past its retention; the log's expired hours only once compacted. */
export async function expireModelData(deps: RetentionDeps, request: { model: string; retention: Retention; nowMs: number }): Promise<RetentionOutcome> {
  const { model, retention, nowMs } = request;
  return {
    model,
    predictionLog: await expireLog(deps, model, lastClosedHour(nowMs, durationMs(retention.predictionLog))),
    feedback: await expireFeedback(deps, model, lastClosedHour(nowMs, durationMs(retention.feedback)), nowMs),
  };
}
