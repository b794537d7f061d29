import type { z } from 'zod';
import type { readinessSchema } from '../../shared/api/health.ts';
import { type FeatureFreshnessSource, modelFeatureFreshness } from '../features/feature-freshness.ts';
import type { PredictionLog } from '../prediction-log/prediction-log.ts';
import type { ServingProviders } from '../scoring/scoring-thread-client.ts';
import { type ServingConfigPoller, describeRoutes } from '../serving/config-poller.ts';

export type Readiness = z.infer<typeof readinessSchema>;

/**
 * Ready means: the serving config has been read (or found absent: nothing to serve), every model it
 * names has a loaded version, and the server is not shutting down. A stale config (store unreachable,
 * or an unusable new config) does not make the replica unready, since it still serves its last good
 * config; the report says so. Stale online features (past the configured age, or a newer snapshot
 * that could not be loaded) do not either: the last good snapshot keeps serving, reported per model.
 */
export function readiness(deps: {
  serving: ServingConfigPoller;
  providers: ServingProviders;
  predictionLog: PredictionLog;
  shuttingDown: boolean;
  features?: { source: FeatureFreshnessSource; maxAgeMs: number; now: number };
}): Readiness {
  const health = deps.serving.health();
  const reasons: string[] = [];
  if (deps.shuttingDown) reasons.push('shutting down');
  if (health.configState === 'never-read') reasons.push(`serving config not read yet${health.lastError ? `: ${health.lastError}` : ''}`);
  for (const model of health.unavailableModels) reasons.push(`model ${model} has no loaded version: ${health.modelErrors[model] ?? 'loading'}`);
  return {
    status: reasons.length === 0 ? 'ready' : 'not-ready',
    reasons,
    servingConfig: {
      state: health.configState,
      ...(health.revision === undefined ? {} : { revision: health.revision }),
      ...(health.lastSuccessAt === undefined ? {} : { lastSuccessAt: health.lastSuccessAt }),
      ...(health.lastError === undefined ? {} : { lastError: health.lastError }),
    },
    models: Object.fromEntries([...deps.serving.current.models].map(([model, routes]) => [model, describeRoutes(routes)])),
    modelErrors: health.modelErrors,
    executionProviders: { ...deps.providers.report(), preferences: [...deps.providers.report().preferences] },
    predictionLog: { heldRows: deps.predictionLog.heldRows, droppedRows: deps.predictionLog.droppedRows },
    onlineFeatures: deps.features ? modelFeatureFreshness(deps.serving.current.models, deps.features.source, deps.features.now, deps.features.maxAgeMs) : {},
  };
}
