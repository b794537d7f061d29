import express, { type Express } from 'express';
import type { ArtifactStore } from '../activities/object-store/artifact-store.ts';
import type { Config } from '../shared/config.ts';

/**
 * The prediction API's Express app. Liveness says the process answers; readiness says the object
 * store that holds serving configs and models is reachable, so a load balancer sends no traffic to
 * a replica that could not load a model.
 */
export function createApp(deps: { config: Config; store: ArtifactStore }): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const bucket = deps.config.buckets.serving;
    try {
      await deps.store.list(bucket, '_ready/');
      res.json({ status: 'ready', objectStore: 'reachable' });
    } catch (err) {
      res.status(503).json({ status: 'not-ready', objectStore: `unreachable: ${(err as Error).message}` });
    }
  });

  return app;
}
