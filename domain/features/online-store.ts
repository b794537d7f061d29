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

const tableId = (groupBy: readonly string[]) => groupBy.join('\u0000');

/**
 * Entries of one group-by key set as nested Maps, one level per key column. Lookups run for every
 * event served: walking Maps with the event's own values hashes nothing new, where building a
 * composite string key per lookup costs more than the rest of the feature step. Map keys compare
 * by type, so the string "1" and the number 1 stay distinct groups, as they are offline.
 */
type KeyTrie = Map<EntityKeyValue, KeyTrie | AggregateValues>;

/** The embedded default: a snapshot held in memory, one key trie per group-by key set. */
export class SnapshotOnlineStore implements OnlineFeatureStore {
  readonly asOf: number;
  private readonly tables = new Map<string, KeyTrie>();
  /** Callers pass the same group-by arrays again and again (the compiled spec's); resolved once each. */
  private readonly byGroupBy = new Map<readonly string[], KeyTrie | undefined>();

  constructor(snapshot: OnlineSnapshot) {
    this.asOf = Date.parse(snapshot.asOf);
    for (const table of snapshot.tables) {
      const root: KeyTrie = new Map();
      for (const [key, values] of table.entries) {
        let level = root;
        key.forEach((part, depth) => {
          if (depth === key.length - 1) {
            level.set(part, Object.freeze(Object.fromEntries(table.features.map((name, i) => [name, values[i] ?? null]))));
            return;
          }
          let next = level.get(part) as KeyTrie | undefined;
          if (!next) {
            next = new Map();
            level.set(part, next);
          }
          level = next;
        });
      }
      this.tables.set(tableId(table.groupBy), root);
    }
  }

  async get(lookups: readonly OnlineLookup[]): Promise<(AggregateValues | undefined)[]> {
    const found = new Array<AggregateValues | undefined>(lookups.length);
    for (let i = 0; i < lookups.length; i++) {
      const { groupBy, key } = lookups[i] as OnlineLookup;
      let node: KeyTrie | AggregateValues | undefined = this.trieFor(groupBy);
      for (let depth = 0; depth < key.length && node !== undefined; depth++) node = (node as KeyTrie).get(key[depth] as EntityKeyValue);
      found[i] = node as AggregateValues | undefined;
    }
    return found;
  }

  private trieFor(groupBy: readonly string[]): KeyTrie | undefined {
    if (this.byGroupBy.has(groupBy)) return this.byGroupBy.get(groupBy);
    const trie = this.tables.get(tableId(groupBy));
    // Bounded by the spec: a caller building a fresh array per lookup would only miss the cache.
    if (this.byGroupBy.size < 64) this.byGroupBy.set(groupBy, trie);
    return trie;
  }
}
