import { type FeatureSpec, analysedFeatureSpec } from '../../shared/data/feature-spec.ts';
import type { EntityKeyValue } from '../../shared/data/online-snapshot.ts';
import { type JsValue, expressionToJs } from './expression/expression-js.ts';
import { OnlineEventError, readEventField } from './online-event.ts';
import type { OnlineFeatureStore, OnlineLookup } from './online-store.ts';

/**
 * The online path: what the prediction API calls for each request. Row-level features come from the
 * spec's expressions compiled to JavaScript (the same AST the offline SQL is compiled from); windowed
 * aggregates come from an `OnlineFeatureStore`. Pure apart from the store lookup.
 *
 * Built for batches: a request of 100 events makes one store call, evaluates into one flat array and
 * allocates nothing per event beyond its values, because at serving rates the per-event overhead of
 * maps, promises and keyed records costs more than scoring the model does.
 */

export type FeatureValue = number | string | null;

type Event = Readonly<Record<string, unknown>>;

/** Feature values of `rows` events, row-major: `values[row * featureNames.length + feature]`. */
export interface FeatureTable {
  rows: number;
  values: FeatureValue[];
}

/** Event `index` of a batch has a value the features cannot read. */
export class OnlineBatchEventError extends OnlineEventError {
  constructor(
    readonly index: number,
    cause: OnlineEventError,
  ) {
    super(cause.field, cause.problem);
  }
}

export interface OnlineFeatures {
  /** Feature names in feature-table (and model input) order. */
  featureNames: string[];
  /** Event fields a request must carry (null allowed): entity keys, event time and every column a row-level feature reads. */
  requiredFields: string[];
  /** The feature values of a batch of raw events, in `featureNames` order; a bad field throws `OnlineBatchEventError`. */
  table(events: readonly Event[], store: OnlineFeatureStore): Promise<FeatureTable>;
  /** The full feature vector of one raw event, keyed by feature name in table order. */
  vector(event: Event, store: OnlineFeatureStore): Promise<Record<string, FeatureValue>>;
}

/** What an aggregate reads over a window with nothing in it, offline and online alike. */
const EMPTY_WINDOW = { count: 0, sum: 0, mean: null } as const;

interface AggregateFamily {
  groupBy: string[];
  /** Positions of the group-by columns in the event row. */
  keyFields: number[];
  aggregates: { name: string; column: number; empty: FeatureValue }[];
}

export function compileOnlineFeatures(spec: FeatureSpec): OnlineFeatures {
  const analysed = analysedFeatureSpec(spec);
  const columns = spec.columns;
  const fieldIndex = new Map<string, number>();
  const field = (name: string): number => {
    let index = fieldIndex.get(name);
    if (index === undefined) {
      index = fieldIndex.size;
      fieldIndex.set(name, index);
    }
    return index;
  };
  for (const name of [...spec.entityKeys, spec.eventTime]) field(name);
  const rowFeatures = analysed.rowFeatures.map((f) => {
    const evaluate = expressionToJs<JsValue[]>(f.expr, columns, (name) => {
      const at = field(name);
      return (row) => row[at] ?? null;
    });
    return { evaluate, asNumber: f.type === 'boolean' };
  });
  const requiredFields = [...fieldIndex.keys()];
  const fieldTypes = requiredFields.map((name) => columns[name] as FeatureSpec['columns'][string]);
  const featureNames = [...analysed.rowFeatures.map((f) => f.name), ...analysed.aggregates.map((a) => a.name)];

  const families = new Map<string, AggregateFamily>();
  analysed.aggregates.forEach((a, i) => {
    const id = JSON.stringify(a.groupBy);
    const family = families.get(id) ?? { groupBy: a.groupBy, keyFields: a.groupBy.map((k) => fieldIndex.get(k) ?? field(k)), aggregates: [] };
    family.aggregates.push({ name: a.name, column: rowFeatures.length + i, empty: EMPTY_WINDOW[a.fn] });
    families.set(id, family);
  });
  const aggregateFamilies = [...families.values()];
  const width = featureNames.length;

  async function table(events: readonly Event[], store: OnlineFeatureStore): Promise<FeatureTable> {
    const rows = events.length;
    const values = new Array<FeatureValue>(rows * width);
    const lookups: OnlineLookup[] = [];
    // Per (event, family): the index of its lookup, or -1 when a key column is NULL (offline, a NULL key joins nothing either).
    const lookupOf = new Int32Array(rows * aggregateFamilies.length);
    const row = new Array<JsValue>(requiredFields.length);
    for (let i = 0; i < rows; i++) {
      const event = events[i] as Event;
      for (let f = 0; f < requiredFields.length; f++) {
        try {
          row[f] = readEventField(event, requiredFields[f] as string, fieldTypes[f] as FeatureSpec['columns'][string]);
        } catch (err) {
          throw err instanceof OnlineEventError ? new OnlineBatchEventError(i, err) : err;
        }
      }
      const base = i * width;
      for (let j = 0; j < rowFeatures.length; j++) {
        const feature = rowFeatures[j] as (typeof rowFeatures)[number];
        const v = feature.evaluate(row);
        values[base + j] = feature.asNumber && v !== null ? (v ? 1 : 0) : (v as FeatureValue);
      }
      for (let g = 0; g < aggregateFamilies.length; g++) {
        const family = aggregateFamilies[g] as AggregateFamily;
        const key = family.keyFields.map((at) => row[at] ?? null);
        if (key.includes(null)) lookupOf[i * aggregateFamilies.length + g] = -1;
        else {
          lookupOf[i * aggregateFamilies.length + g] = lookups.length;
          lookups.push({ groupBy: family.groupBy, key: key as EntityKeyValue[] });
        }
      }
    }
    const found = lookups.length > 0 ? await store.get(lookups) : [];
    for (let i = 0; i < rows; i++) {
      for (let g = 0; g < aggregateFamilies.length; g++) {
        const family = aggregateFamilies[g] as AggregateFamily;
        const at = lookupOf[i * aggregateFamilies.length + g] as number;
        const stored = at < 0 ? undefined : found[at];
        for (const a of family.aggregates) values[i * width + a.column] = stored ? (stored[a.name] ?? null) : a.empty;
      }
    }
    return { rows, values };
  }

  return {
    featureNames,
    requiredFields,
    table,
    async vector(event, store) {
      let computed: FeatureTable;
      try {
        computed = await table([event], store);
      } catch (err) {
        // A single event has no index worth naming.
        throw err instanceof OnlineBatchEventError ? new OnlineEventError(err.field, err.problem) : err;
      }
      return Object.fromEntries(featureNames.map((name, j) => [name, computed.values[j] ?? null]));
    },
  };
}
