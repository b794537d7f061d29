/**
 * What the month-by-month replay sends. A tenth of all flights (by a hash of the flight) is held out
 * of everything the platform sees: the training data and the online store. The model trains on the
 * rest of 1 January – 21 February 2001; the first replayed slice is the held-out tenth of its
 * training split (the period its reference statistics describe), then each later month. Each day
 * is served with the online features as of that day's midnight, as a daily materialization would
 * hold them: the windowed aggregates never include the day being served.
 */

export interface ReplaySlice {
  /** Table label. */
  name: string;
  /** Sampled from the held-out tenth of the flights instead of the rest. */
  heldOut?: boolean;
  /** Events are sampled from [from, until) (UTC, the data's scheduled departure time), whole days. */
  from: string;
  until: string;
}

const DAY_MS = 86_400_000;

/** Midnight (UTC) of each day of the slice: the instants its online snapshots are materialized as of. */
export function dayStarts(slice: ReplaySlice): string[] {
  const days: string[] = [];
  for (let t = Date.parse(slice.from); t < Date.parse(slice.until); t += DAY_MS) days.push(new Date(t).toISOString());
  return days;
}

/** The first model's data ends here (its test split is 13–21 February). */
export const TRAINING_UNTIL = '2001-02-22T00:00:00.000Z';

/** Splits of the first model: reference statistics come from `train`, the period the held-out slice is drawn from. */
export const TRAINING_SPLITS = [
  { name: 'train', from: '2001-01-01', until: '2001-02-04' },
  { name: 'validation', from: '2001-02-04', until: '2001-02-13' },
  { name: 'test', from: '2001-02-13' },
];

/** Splits of a retraining run: its data is every flight up to the end of the month whose window triggered it (March at the earliest). */
export const RETRAINING_SPLITS = [
  { name: 'train', from: '2001-01-01', until: '2001-03-01' },
  { name: 'validation', from: '2001-03-01', until: '2001-03-11' },
  { name: 'test', from: '2001-03-11' },
];

export const SLICES: readonly ReplaySlice[] = [
  { name: 'Jan 1-Feb 3 held-out', heldOut: true, from: '2001-01-01T00:00:00.000Z', until: '2001-02-04T00:00:00.000Z' },
  { name: 'Mar', from: '2001-03-01T00:00:00.000Z', until: '2001-04-01T00:00:00.000Z' },
  { name: 'Apr', from: '2001-04-01T00:00:00.000Z', until: '2001-05-01T00:00:00.000Z' },
  { name: 'May', from: '2001-05-01T00:00:00.000Z', until: '2001-06-01T00:00:00.000Z' },
  { name: 'Jun', from: '2001-06-01T00:00:00.000Z', until: '2001-07-01T00:00:00.000Z' },
];
