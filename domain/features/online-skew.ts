import { type ModelInputs, ModelInputLayout } from '../scoring/model-inputs.ts';
import type { FeatureValue } from './online-features.ts';

/**
 * Online/offline skew, measured: for events served from a snapshot older than the event, how often
 * the online features differ from the offline point-in-time features at the event's own time, and
 * how far apart the two scores are. At the snapshot instant the two paths agree (the parity test);
 * between refreshes they may not, and these figures say by how much.
 */

/** One event seen both ways: feature values in the same order on both sides, and the model's score of each. */
export interface SkewObservation {
  online: readonly FeatureValue[];
  offline: readonly FeatureValue[];
  onlineScore: number;
  offlineScore: number;
}

export interface SkewSummary {
  events: number;
  /** Events with at least one feature differing beyond the tolerance. */
  differing: number;
  shareDiffering: number;
  maxAbsScoreDiff: number;
  meanAbsScoreDiff: number;
}

/** Numbers compare within `tolerance` (the float error the two computations may differ by); anything else must be equal. */
export function featuresDiffer(online: readonly FeatureValue[], offline: readonly FeatureValue[], tolerance = 1e-6): boolean {
  if (online.length !== offline.length) throw new RangeError(`feature vectors differ in length: ${online.length} online, ${offline.length} offline`);
  return online.some((value, i) => {
    const other = offline[i] ?? null;
    return typeof value === 'number' && typeof other === 'number' ? Math.abs(value - other) > tolerance : value !== other;
  });
}

export function summarizeSkew(observations: readonly SkewObservation[], tolerance = 1e-6): SkewSummary {
  let differing = 0;
  let maxAbsScoreDiff = 0;
  let sumAbsScoreDiff = 0;
  for (const o of observations) {
    if (featuresDiffer(o.online, o.offline, tolerance)) differing++;
    const diff = Math.abs(o.onlineScore - o.offlineScore);
    maxAbsScoreDiff = Math.max(maxAbsScoreDiff, diff);
    sumAbsScoreDiff += diff;
  }
  const events = observations.length;
  return { events, differing, shareDiffering: events > 0 ? differing / events : 0, maxAbsScoreDiff, meanAbsScoreDiff: events > 0 ? sumAbsScoreDiff / events : 0 };
}

/** The refresh serving an event at `t` when snapshots are materialized at `first` and every `intervalMs` after: the latest one at or before `t`. */
export function latestRefresh(t: number, first: number, intervalMs: number): number {
  if (!(intervalMs > 0)) throw new RangeError(`refresh interval must be positive, got ${intervalMs}`);
  if (t < first) throw new RangeError(`event at ${new Date(t).toISOString()} precedes the first refresh at ${new Date(first).toISOString()}`);
  return first + Math.floor((t - first) / intervalMs) * intervalMs;
}

/** Model inputs from feature rows, through the serving assembler's own layout. */
export function modelInputs(rows: readonly (readonly FeatureValue[])[], featureNames: readonly string[], model: { numeric: readonly string[]; categorical: readonly string[] }): ModelInputs {
  return new ModelInputLayout(featureNames, model).pack(rows.length, rows.flat(), featureNames.length);
}
