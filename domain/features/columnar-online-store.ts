import type { DecodedSnapshot, SnapshotTable } from '../../formats/online-snapshot/snapshot-codec.ts';
import type { AggregateValues, OnlineFeatureStore, OnlineLookup } from './online-store.ts';

const tableId = (groupBy: readonly string[]) => groupBy.join('\u0000');

/**
 * The embedded store over a decoded `.snap` object: keys and values stay in typed arrays outside the
 * JS heap, and only the entries a request asks for become objects. Memory is the object's size plus
 * a Uint32 slot per half row, where the JSON form held millions of arrays, numbers and strings.
 */
export class ColumnarOnlineStore implements OnlineFeatureStore {
  readonly asOf: number;
  /** Bytes held outside the heap: the object and its key indexes. */
  readonly byteLength: number;
  private readonly tables = new Map<string, SnapshotTable>();
  /** Callers pass the same group-by arrays again and again (the compiled spec's); resolved once each. */
  private readonly byGroupBy = new Map<readonly string[], SnapshotTable | undefined>();

  constructor(snapshot: DecodedSnapshot) {
    this.asOf = Date.parse(snapshot.asOf);
    this.byteLength = snapshot.bytes;
    for (const table of snapshot.tables) this.tables.set(tableId(table.groupBy), table);
  }

  async get(lookups: readonly OnlineLookup[]): Promise<(AggregateValues | undefined)[]> {
    const found: (AggregateValues | undefined)[] = [];
    for (let i = 0; i < lookups.length; i++) {
      const { groupBy, key } = lookups[i] as OnlineLookup;
      const table = this.tableFor(groupBy);
      const row = table ? table.index.find(key) : -1;
      if (row < 0) {
        found.push(undefined);
        continue;
      }
      const { features, values } = table as SnapshotTable;
      const entry: Record<string, number | null> = {};
      const base = row * features.length;
      for (let f = 0; f < features.length; f++) {
        const v = values[base + f] as number;
        entry[features[f] as string] = Number.isNaN(v) ? null : v;
      }
      found.push(entry);
    }
    return found;
  }

  private tableFor(groupBy: readonly string[]): SnapshotTable | undefined {
    if (this.byGroupBy.has(groupBy)) return this.byGroupBy.get(groupBy);
    const table = this.tables.get(tableId(groupBy));
    // Bounded by the spec: a caller building a fresh array per lookup would only miss the cache.
    if (this.byGroupBy.size < 64) this.byGroupBy.set(groupBy, table);
    return table;
  }
}
