import type { EntityKeyValue, OnlineSnapshot } from '../../shared/data/online-snapshot.ts';

/**
 * Where the prediction API gets windowed aggregates at request time. The embedded backend is an
 * in-memory copy of a snapshot object from the serving bucket; a networked backend (e.g. Redis keyed
 * by spec hash, group-by columns and key values) implements the same interface, and the contract
 * tests in test/unit/data run against every backend.
 */

export interface OnlineLookup {
  /** Group-by columns of the aggregates wanted, as declared in the feature spec. */
  groupBy: readonly string[];
  /** The event's values of those columns, in the same order. */
  key: readonly EntityKeyValue[];
}

/** Aggregate values by feature name; NULL where the aggregate is undefined (a mean over nothing). */
export type AggregateValues = Readonly<Record<string, number | null>>;

export interface OnlineFeatureStore {
  /** The instant the values were materialized as of (epoch ms): they cover what was known strictly before it. */
  readonly asOf: number;
  /** One result per lookup, in order; undefined when nothing was known about that group before `asOf`. */
  get(lookups: readonly OnlineLookup[]): Promise<(AggregateValues | undefined)[]>;
}

const tableId = (groupBy: readonly string[]) => JSON.stringify(groupBy);
const entryId = (key: readonly EntityKeyValue[]) => JSON.stringify(key);

/** The embedded default: a snapshot held in memory, one Map per group-by key set. */
export class SnapshotOnlineStore implements OnlineFeatureStore {
  readonly asOf: number;
  private readonly tables = new Map<string, Map<string, AggregateValues>>();

  constructor(snapshot: OnlineSnapshot) {
    this.asOf = Date.parse(snapshot.asOf);
    for (const table of snapshot.tables) {
      const entries = new Map<string, AggregateValues>();
      for (const [key, values] of table.entries) {
        entries.set(entryId(key), Object.freeze(Object.fromEntries(table.features.map((name, i) => [name, values[i] ?? null]))));
      }
      this.tables.set(tableId(table.groupBy), entries);
    }
  }

  async get(lookups: readonly OnlineLookup[]): Promise<(AggregateValues | undefined)[]> {
    return lookups.map((l) => this.tables.get(tableId(l.groupBy))?.get(entryId(l.key)));
  }
}
