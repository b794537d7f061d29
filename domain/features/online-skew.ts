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

/**
 * Model inputs from feature rows, as the serving assembler lays them out: numeric features in the
 * model's order as float32 (NaN for missing), categorical as strings ('' for missing).
 */
export function modelInputs(rows: readonly (readonly FeatureValue[])[], featureNames: readonly string[], model: { numeric: readonly string[]; categorical: readonly string[] }) {
  const at = (name: string) => {
    const index = featureNames.indexOf(name);
    if (index < 0) throw new RangeError(`the model reads feature "${name}", which the rows do not have`);
    return index;
  };
  const numericAt = model.numeric.map(at);
  const categoricalAt = model.categorical.map(at);
  const numeric = numericAt.length > 0 ? new Float32Array(rows.length * numericAt.length) : undefined;
  const categorical = categoricalAt.length > 0 ? new Array<string>(rows.length * categoricalAt.length) : undefined;
  rows.forEach((row, i) => {
    numericAt.forEach((j, k) => {
      const value = row[j];
      if (numeric) numeric[i * numericAt.length + k] = typeof value === 'number' ? value : NaN;
    });
    categoricalAt.forEach((j, k) => {
      const value = row[j];
      if (categorical) categorical[i * categoricalAt.length + k] = typeof value === 'string' ? value : '';
    });
  });
  return { rows: rows.length, numeric, categorical };
}
