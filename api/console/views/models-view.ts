import { MonitorStateStore } from '../../../domain/monitoring/monitor-state.ts';
import type { ModelSummary, ModelsView } from '../../../shared/api/console.ts';
import type { ModelIndex } from '../../../shared/registry.ts';
import type { ConsoleSources } from '../console-sources.ts';

/** Statuses of a version registered and not yet settled: awaiting a decision, approved and not serving, or on canary. */
const IN_FLIGHT = new Set(['candidate', 'approved', 'canary']);

const latestStatuses = (index: ModelIndex) =>
  Object.entries(index.versions).flatMap(([version, entry]) => {
    const last = entry.history.at(-1);
    return last ? [{ version: Number(version), status: last.status }] : [];
  });

/** Every registered model the reader may see (`visible`) at a glance: its champion, versions in flight, the last drift verdict, feature freshness, approvals waiting. */
export async function loadModelsView(sources: ConsoleSources, now: Date, visible: (model: string) => boolean): Promise<ModelsView> {
  const monitor = new MonitorStateStore(sources.store, sources.buckets);
  const freshness = sources.featureFreshness();
  const models = await Promise.all(
    (await sources.registry.models()).filter(visible).map(async (name): Promise<ModelSummary> => {
      const [index, state] = await Promise.all([sources.registry.index(name), monitor.read(name)]);
      const champion = index.aliases.champion;
      const statuses = latestStatuses(index);
      const lastWindow = state.windows.at(-1);
      const features = freshness[name];
      return {
        name,
        champion: champion === undefined ? null : { version: champion, metrics: (await sources.registry.manifest(name, champion)).metrics },
        inFlight: statuses.filter((s) => IN_FLIGHT.has(s.status)).sort((a, b) => a.version - b.version),
        lastDrift: lastWindow ? { until: lastWindow.until, version: lastWindow.version, verdict: lastWindow.verdict, ...(lastWindow.performance ? { performance: lastWindow.performance } : {}) } : null,
        features: features ? { state: features.state, asOf: features.asOf, ageSeconds: features.ageSeconds, maxAgeSeconds: features.maxAgeSeconds } : null,
        pendingApprovals: statuses.filter((s) => s.status === 'candidate').length,
      };
    }),
  );
  return { generatedAt: now.toISOString(), models };
}
