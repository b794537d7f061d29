import type { OnlineSnapshot } from '../../shared/data/online-snapshot.ts';
import type { SnapshotChanges } from '../../shared/online-refresh.ts';

/** One entry's identity: its table (group-by columns) and key values; JSON keeps the string "1" and the number 1 apart. */
const entryIds = (snapshot: OnlineSnapshot): Map<string, string> => {
  const ids = new Map<string, string>();
  for (const table of snapshot.tables) {
    const prefix = `${JSON.stringify(table.groupBy)}|${JSON.stringify(table.features)}|`;
    for (const [key, values] of table.entries) ids.set(prefix + JSON.stringify(key), JSON.stringify(values));
  }
  return ids;
};

/**
 * Entity keys added, removed and changed from `previous` to `next`, over every group-by table. A
 * table whose feature list changed counts all its keys as removed and added: their values mean
 * something else. Without a previous snapshot every key is added.
 */
export function snapshotChanges(previous: OnlineSnapshot | undefined, next: OnlineSnapshot): SnapshotChanges {
  const after = entryIds(next);
  if (!previous) return { keys: after.size, added: after.size, removed: 0, changed: 0 };
  const before = entryIds(previous);
  let added = 0;
  let changed = 0;
  for (const [id, values] of after) {
    const old = before.get(id);
    if (old === undefined) added++;
    else if (old !== values) changed++;
  }
  let removed = 0;
  for (const id of before.keys()) if (!after.has(id)) removed++;
  return { keys: after.size, added, removed, changed };
}
