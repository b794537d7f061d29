/**
 * What the month-by-month replay sends, and when each slice's data was "known". The model trains on
 * 1 January – 21 February 2001; each replayed slice is the week from the 22nd of a month, served
 * with the online features as of that day's midnight (the windowed aggregates a daily
 * materialization would hold), so no slice sees outcomes from its own week.
 */

export interface ReplaySlice {
  /** Table label. */
  name: string;
  /** Events are sampled from [from, until) (UTC, the data's scheduled departure time). */
  from: string;
  until: string;
  /**
   * The online snapshot the API serves this slice with. Absent for the held-out week: it is served
   * with the snapshot the training pipeline itself materialized at the end of the training data.
   */
  snapshotAsOf?: string;
}

/** Training data ends where the held-out week starts. */
export const TRAINING_UNTIL = '2001-02-22T00:00:00.000Z';

/** Splits of the first model: reference statistics come from `train` (January and early February). */
export const TRAINING_SPLITS = [
  { name: 'train', from: '2001-01-01', until: '2001-02-04' },
  { name: 'validation', from: '2001-02-04', until: '2001-02-13' },
  { name: 'test', from: '2001-02-13' },
];

/** Splits of a retraining run: its data is whatever landed before the month it was triggered in (at least up to 21 March). */
export const RETRAINING_SPLITS = [
  { name: 'train', from: '2001-01-01', until: '2001-03-01' },
  { name: 'validation', from: '2001-03-01', until: '2001-03-11' },
  { name: 'test', from: '2001-03-11' },
];

export const SLICES: readonly ReplaySlice[] = [
  { name: 'Feb 22-28 (held-out)', from: '2001-02-22T00:00:00.000Z', until: '2001-03-01T00:00:00.000Z' },
  { name: 'Mar 22-28', from: '2001-03-22T00:00:00.000Z', until: '2001-03-29T00:00:00.000Z', snapshotAsOf: '2001-03-22T00:00:00.000Z' },
  { name: 'Apr 22-28', from: '2001-04-22T00:00:00.000Z', until: '2001-04-29T00:00:00.000Z', snapshotAsOf: '2001-04-22T00:00:00.000Z' },
  { name: 'May 22-28', from: '2001-05-22T00:00:00.000Z', until: '2001-05-29T00:00:00.000Z', snapshotAsOf: '2001-05-22T00:00:00.000Z' },
  { name: 'Jun 22-28', from: '2001-06-22T00:00:00.000Z', until: '2001-06-29T00:00:00.000Z', snapshotAsOf: '2001-06-22T00:00:00.000Z' },
];
