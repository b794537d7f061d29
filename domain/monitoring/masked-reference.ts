import type { LogMask } from '../../shared/data/feature-spec.ts';
import type { ReferenceStats } from '../../shared/data/feature-tables.ts';
import { hashLogValue } from '../prediction-log/log-hash.ts';

/**
 * The training reference as the masked prediction log can be compared with it. A hashed categorical
 * feature is logged as the keyed hash of each value, so its reference categories are hashed with the
 * same key: the category shares, and so PSI, Jensen–Shannon and chi-square, are exactly those of the
 * unhashed values (the hash is one-to-one in practice); only the report names categories by hash. A
 * dropped feature (or a hashed one while no key is configured, logged as NULL) has nothing to compare
 * and is left out of the judged features, its weight shared among the others.
 */
export function maskedReference(reference: ReferenceStats, featureNames: readonly string[], masks: ReadonlyMap<string, LogMask>, hashKey: string | undefined): { reference: ReferenceStats; featureNames: string[] } {
  const unjudged = new Set([...masks].flatMap(([name, mask]) => (mask === 'drop' || hashKey === undefined ? [name] : [])));
  const features = reference.features.map((feature) => {
    if (feature.kind !== 'categorical' || masks.get(feature.name) !== 'hash' || hashKey === undefined) return feature;
    return { ...feature, top: feature.top.map((c) => ({ ...c, value: hashLogValue(hashKey, c.value) })) };
  });
  return { reference: { ...reference, features }, featureNames: featureNames.filter((n) => !unjudged.has(n)) };
}
