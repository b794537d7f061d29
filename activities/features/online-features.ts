import { type FeatureSpec, analysedFeatureSpec } from '../../shared/data/feature-spec.ts';
import type { EntityKeyValue } from '../../shared/data/online-snapshot.ts';
import { type Evaluator, type JsValue, expressionToJs } from './expression-js.ts';
import { readEventField } from './online-event.ts';
import type { AggregateValues, OnlineFeatureStore } from './online-store.ts';

/**
 * The online path: what the prediction API calls for each request. Row-level features come from the
 * spec's expressions compiled to JavaScript (the same AST the offline SQL is compiled from); windowed
 * aggregates come from an `OnlineFeatureStore`. Pure apart from the store lookup.
 */

export type FeatureValue = number | string | null;

type Event = Readonly<Record<string, unknown>>;

export interface OnlineFeatures {
  /** Feature names in feature-table (and model input) order. */
  featureNames: string[];
  /** Event fields a request must carry (null allowed): entity keys, event time and every column a row-level feature reads. */
  requiredFields: string[];
  /** The full feature vector of one raw event, keyed by feature name in table order. */
  vector(event: Event, store: OnlineFeatureStore): Promise<Record<string, FeatureValue>>;
}

/** What an aggregate reads over a window with nothing in it, offline and online alike. */
const EMPTY_WINDOW = { count: 0, sum: 0, mean: null } as const;

export function compileOnlineFeatures(spec: FeatureSpec): OnlineFeatures {
  const analysed = analysedFeatureSpec(spec);
  const columns = spec.columns;
  const used = new Set<string>([...spec.entityKeys, spec.eventTime]);
  const column = (name: string): Evaluator<Map<string, JsValue>> => {
    used.add(name);
    return (row) => row.get(name) ?? null;
  };
  const rowFeatures = analysed.rowFeatures.map((f) => {
    const evaluate = expressionToJs(f.expr, columns, column);
    const asNumber = f.type === 'boolean';
    return { name: f.name, evaluate, asNumber };
  });
  const requiredFields = [...used];

  const groups = new Map<string, { groupBy: string[]; aggregates: { name: string; fn: 'count' | 'sum' | 'mean' }[] }>();
  for (const a of analysed.aggregates) {
    const id = JSON.stringify(a.groupBy);
    const group = groups.get(id) ?? { groupBy: a.groupBy, aggregates: [] };
    group.aggregates.push({ name: a.name, fn: a.fn });
    groups.set(id, group);
  }
  const families = [...groups.values()];
  const featureNames = [...analysed.rowFeatures.map((f) => f.name), ...analysed.aggregates.map((a) => a.name)];

  return {
    featureNames,
    requiredFields,
    async vector(event, store) {
      const row = new Map<string, JsValue>();
      for (const field of requiredFields) row.set(field, readEventField(event, field, columns[field] as FeatureSpec['columns'][string]));

      const values: Record<string, FeatureValue> = {};
      for (const f of rowFeatures) {
        const v = f.evaluate(row);
        values[f.name] = f.asNumber && v !== null ? (v ? 1 : 0) : (v as FeatureValue);
      }

      // A group with a NULL key is never looked up: offline, a NULL key joins nothing either.
      const keyed = families.map((family) => {
        const key = family.groupBy.map((k) => row.get(k) ?? null);
        return key.includes(null) ? undefined : { groupBy: family.groupBy, key: key as EntityKeyValue[] };
      });
      const lookups = keyed.filter((k) => k !== undefined);
      const found = await store.get(lookups);
      let next = 0;
      families.forEach((family, i) => {
        const stored: AggregateValues | undefined = keyed[i] ? found[next++] : undefined;
        for (const a of family.aggregates) values[a.name] = stored ? (stored[a.name] ?? null) : EMPTY_WINDOW[a.fn];
      });

      return Object.fromEntries(featureNames.map((name) => [name, values[name] ?? null]));
    },
  };
}
