import type { z } from 'zod';
import type { readinessSchema } from '../../shared/api/health.ts';
import type { PredictionLog } from '../prediction-log/prediction-log.ts';
import type { ServingProviders } from '../scoring/scoring-thread-client.ts';
import { type ServingConfigPoller, describeRoutes } from '../serving/config-poller.ts';

export type Readiness = z.infer<typeof readinessSchema>;

/**
 * Ready means: the serving config has been read (or found absent: nothing to serve), every model it
 * names has a loaded version, and the server is not shutting down. A stale config (store unreachable,
 * or an unusable new config) does not make the replica unready, since it still serves its last good
 * config; the report says so.
 */
export function readiness(deps: { serving: ServingConfigPoller; providers: ServingProviders; predictionLog: PredictionLog; shuttingDown: boolean }): Readiness {
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
  };
}
