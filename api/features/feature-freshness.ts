import type { ModelRoutes } from '../serving/routing.ts';

/** The online snapshot a replica serves for one feature spec, and how its last check for a newer one went. */
export interface SnapshotFreshness {
  key: string;
  /** Epoch ms the snapshot's values are as of. */
  asOf: number;
  /** Epoch ms the snapshot object was written: the refresh that produced it. */
  writtenAt: number;
  /** The last check for a newer snapshot failed, or found one that could not be loaded: the one in use is kept. */
  lastError?: string;
}

/** Where the API learns what snapshot serves a feature spec; undefined for a spec without windowed aggregates. */
export interface FeatureFreshnessSource {
  freshness(featureSpecHash: string): SnapshotFreshness | undefined;
}

export interface ModelFeatureFreshness {
  featureSpecHash: string;
  /** stale: older than the configured bound, or a newer snapshot exists that could not be loaded; it is still served. */
  state: 'current' | 'stale';
  snapshotKey: string;
  asOf: string;
  ageSeconds: number;
  refreshedAt: string;
  maxAgeSeconds: number;
  lastError?: string;
}

/**
 * Freshness of the online features each served model's primary version reads, judged against
 * `maxAgeMs` at `now`. Models whose features need no snapshot are left out.
 */
export function modelFeatureFreshness(models: ReadonlyMap<string, ModelRoutes>, source: FeatureFreshnessSource, now: number, maxAgeMs: number): Record<string, ModelFeatureFreshness> {
  const out: Record<string, ModelFeatureFreshness> = {};
  for (const [model, routes] of models) {
    const hash = routes.primary.manifest.featureDefinitionHash;
    const served = source.freshness(hash);
    if (!served) continue;
    const ageMs = now - served.asOf;
    out[model] = {
      featureSpecHash: hash,
      state: ageMs > maxAgeMs || served.lastError !== undefined ? 'stale' : 'current',
      snapshotKey: served.key,
      asOf: new Date(served.asOf).toISOString(),
      ageSeconds: ageMs / 1000,
      refreshedAt: new Date(served.writtenAt).toISOString(),
      maxAgeSeconds: maxAgeMs / 1000,
      ...(served.lastError === undefined ? {} : { lastError: served.lastError }),
    };
  }
  return out;
}
