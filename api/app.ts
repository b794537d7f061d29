import type { IncomingMessage } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { decisionRequestSchema } from '../shared/api/approvals.ts';
import { retrainRequestSchema } from '../shared/api/retraining.ts';
import { deploymentControlRequestSchema, rolloutRequestSchema } from '../shared/api/deployments.ts';
import { DEPLOYMENT_ACTIONS } from '../shared/deployment.ts';
import { type FeedbackLabel, feedbackRequestSchema, feedbackRequestSchemaFor, modelFeedbackRequestSchema } from '../shared/api/feedback.ts';
import type { ApiScope } from '../shared/api/key-scopes.ts';
import type { Logger } from '../shared/logger.ts';
import { modelNameSchema } from '../shared/registry.ts';
import { trainingPipelineModel } from '../shared/pipeline-identity.ts';
import type { ApprovalRelay, Decision } from './approvals/approval-relay.ts';
import type { DeploymentRelay } from './deployments/deployment-relay.ts';
import type { RetrainingRelay } from './retraining/retraining-relay.ts';
import type { TimelineView } from './timeline/timeline-view.ts';
import { renderTimelineHtml } from '../domain/timeline/timeline-html.ts';
import { ANY_MODEL, EVERY_MODEL, type ModelReach } from './auth/key-grants.ts';
import type { KeyRing, Principal } from './auth/key-ring.ts';
import { ApiError } from './errors.ts';
import type { FeedbackStore } from './feedback/feedback-store.ts';
import type { FeatureFreshnessSource } from './features/feature-freshness.ts';
import { readiness } from './health/readiness.ts';
import type { CorsPolicy } from './http/cors.ts';
import { readJsonBody, readOptionalJsonBody } from './http/read-json-body.ts';
import type { InFlight, RequestLifecycle } from './http/request-lifecycle.ts';
import { sendJson } from './http/respond.ts';
import type { ApiMetrics } from './metrics/api-metrics.ts';
import { docsPage } from './openapi/docs-page.ts';
import { invalidRequest } from './predict/event-schema.ts';
import type { PredictHandler } from './predict/predict-handler.ts';
import type { PredictionLog } from './prediction-log/prediction-log.ts';
import type { ServingProviders } from './scoring/scoring-thread-client.ts';
import type { ModelRuntime } from './scoring/model-runtime.ts';
import { type ServingConfigPoller, servedRoutes } from './serving/config-poller.ts';
import type { ModelRoutes } from './serving/routing.ts';

export interface AppDeps {
  keys: KeyRing;
  cors: CorsPolicy;
  serving: ServingConfigPoller;
  providers: ServingProviders;
  predict: PredictHandler;
  predictionLog: PredictionLog;
  feedback: FeedbackStore;
  approvals: ApprovalRelay;
  deployments: DeploymentRelay;
  retraining: RetrainingRelay;
  timeline: TimelineView;
  metrics: ApiMetrics;
  logger: Logger;
  openapi: Record<string, unknown>;
  limits: { maxBodyBytes: number; maxBatch: number; requestTimeoutMs: number };
  /** The app's request lifecycle; its `routeOf` is `matchedRoute`. */
  lifecycle: RequestLifecycle;
  isShuttingDown: () => boolean;
  /** Online feature freshness for /readyz, when the features come from refreshed snapshots. */
  features?: { source: FeatureFreshnessSource; maxAgeMs: number };
  /** The web console's pages and JSON views (`api/console/console-router.ts`). */
  console?: Router;
}

interface Locals {
  request: InFlight;
  requestId: string;
  principal?: Principal;
}

const locals = (res: Response) => res.locals as Locals;
const PREDICT: readonly ApiScope[] = ['predict'];

/** The metrics label of an Express request: the path pattern of the route that matched it. */
export const matchedRoute = (req: IncomingMessage): string => {
  const route = (req as Request).route as { path: string } | undefined;
  return route ? String(route.path) : 'unmatched';
};

/**
 * The Express app: every route except the hot predict path, which the server hands to its lean
 * handler before Express sees the request (it is mounted here too, so the app alone is complete).
 * Handlers throw `ApiError`s; the one error middleware at the end hands anything to the request
 * lifecycle, which turns it into the JSON error body.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  const { lifecycle } = deps;
  app.use((req, res, next) => {
    // A route waiting on the object store or Temporal answers 503 at the deadline rather than hanging; a body still arriving, 408.
    const request = lifecycle.begin(req, res);
    locals(res).request = request;
    locals(res).requestId = request.requestId;
    res.setHeader('X-Request-Id', request.requestId);
    res.once('finish', () => lifecycle.answered(request, res.statusCode));
    res.once('close', () => lifecycle.end(request));
    if (deps.cors.preflight(req, res)) return;
    deps.cors.apply(req, res);
    next(request.problem);
  });

  /** The key's `scope` on what the request acts on: every or any model, or the model `reach` reads from the request. */
  const requireScope = (scope: ApiScope, reach: ModelReach | ((req: Request) => ModelReach)) => (req: Request, res: Response, next: NextFunction) => {
    locals(res).principal = deps.keys.authorize(req, scope, typeof reach === 'function' ? reach(req) : reach);
    next();
  };
  const pathModel = (param: string) => (req: Request) => String(req.params[param]);
  // A run's model is in its workflow id; a key limited to some models may decide only runs whose id names one of them.
  const runModel = (req: Request): ModelReach => trainingPipelineModel(String(req.params.id)) ?? EVERY_MODEL;
  const principalOf = (res: Response) => locals(res).principal as Principal;
  const body = async <S extends z.ZodType>(req: Request, schema: S, optional = false): Promise<z.output<S>> => {
    const parsed = schema.safeParse(await (optional ? readOptionalJsonBody : readJsonBody)(req, deps.limits.maxBodyBytes));
    if (!parsed.success) throw invalidRequest(parsed.error, '');
    return parsed.data;
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const features = deps.features && { ...deps.features, now: Date.now() };
    const report = readiness({ serving: deps.serving, providers: deps.providers, predictionLog: deps.predictionLog, shuttingDown: deps.isShuttingDown(), ...(features ? { features } : {}) });
    res.status(report.status === 'ready' ? 200 : 503).json(report);
  });

  app.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4; charset=utf-8').send(deps.metrics.render());
  });

  const openapiText = JSON.stringify(deps.openapi);
  const docsHtml = docsPage(deps.openapi);
  app.get('/openapi.json', (_req, res) => {
    sendJson(res, 200, openapiText);
  });
  app.get('/docs', (_req, res) => {
    res.type('html').send(docsHtml);
  });

  // A key limited to some models lists those.
  app.get('/v1/models', requireScope('predict', ANY_MODEL), (_req, res) => {
    const snapshot = deps.serving.current;
    const { grants } = principalOf(res);
    res.json({
      ...(snapshot.revision === undefined ? {} : { configRevision: snapshot.revision }),
      models: [...snapshot.models].filter(([name]) => grants.allows(PREDICT, name)).map(([name, routes]) => ({ name, versions: servedVersions(routes).map(({ runtime, route, percent }) => ({ version: runtime.version, route, percent, task: runtime.task })) })),
    });
  });

  app.get('/v1/models/:name', requireScope('predict', pathModel('name')), (req, res) => {
    const snapshot = deps.serving.current;
    const routes = snapshot.models.get(req.params.name as string);
    if (!routes) throw new ApiError('UnknownModel', `no model named ${JSON.stringify(String(req.params.name).slice(0, 64))} is being served`, { field: 'path.name' });
    res.json({
      name: req.params.name,
      ...(snapshot.revision === undefined ? {} : { configRevision: snapshot.revision }),
      versions: servedVersions(routes).map(({ runtime, route, percent }) => ({
        version: runtime.version,
        route,
        percent,
        task: runtime.task,
        ...(runtime.task.kind === 'binary' ? { threshold: runtime.threshold } : {}),
        executionProvider: runtime.provider,
        features: runtime.featureNames,
        eventSchema: z.toJSONSchema(runtime.events.schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
      })),
    });
  });

  app.post('/v1/models/:name/predict', (req, res) => {
    deps.predict.handle(req, res, { model: req.params.name, shape: 'predict' });
  });
  app.post('/v1/models/:name/invocations', (req, res) => {
    deps.predict.handle(req, res, { model: req.params.name, shape: 'invocations' });
  });

  const checkLabelCount = (labels: readonly unknown[]) => {
    if (labels.length > deps.limits.maxBatch) {
      throw new ApiError('BatchTooLarge', `at most ${deps.limits.maxBatch} labels per request; this one has ${labels.length}`, { field: 'labels' });
    }
  };
  const storeFeedback = async (res: Response, labels: readonly FeedbackLabel[], model?: string) => {
    const { requestId } = locals(res);
    const key = await deps.feedback.save(labels, { keyId: principalOf(res).id, requestId }, model).catch((err: unknown) => {
      throw new ApiError('StorageUnavailable', `the labels could not be stored (object store: ${(err as Error).message}); nothing was stored, retry`, { retryAfterSeconds: 5, cause: err });
    });
    deps.logger.info('feedback stored', { requestId, labels: labels.length, key, from: principalOf(res).id, ...(model === undefined ? {} : { model }) });
    res.json({ requestId, accepted: labels.length, key });
  };

  app.post('/v1/feedback', requireScope('feedback', EVERY_MODEL), async (req, res) => {
    const input = await body(req, feedbackRequestSchema);
    checkLabelCount(input.labels);
    await storeFeedback(res, input.labels);
  });

  // The labels are checked against the kind of the version that answers most of the model's traffic
  // (its primary): the whole request is refused, and nothing stored, if one label does not fit.
  app.post('/v1/models/:name/feedback', requireScope('feedback', pathModel('name')), async (req, res) => {
    const model = req.params.name as string;
    const envelope = await body(req, modelFeedbackRequestSchema);
    checkLabelCount(envelope.labels);
    const { task } = servedRoutes(deps.serving, model).primary;
    const typed = feedbackRequestSchemaFor(task, model).safeParse(envelope);
    if (!typed.success) throw invalidRequest(typed.error, '');
    await storeFeedback(res, typed.data.labels, model);
  });

  const decide = (decision: Decision) => async (req: Request, res: Response) => {
    const input = await body(req, decisionRequestSchema);
    const by = principalOf(res).id;
    const pipeline = req.params.id as string;
    const state = await deps.approvals.decide(pipeline, decision, { by, comment: input.comment });
    deps.logger.info('approval decision relayed', { requestId: locals(res).requestId, pipeline, decision, by });
    res.json({ requestId: locals(res).requestId, pipeline, decidedBy: by, state });
  };
  app.post('/v1/pipelines/:id/approve', requireScope('admin', runModel), decide('approve'));
  app.post('/v1/pipelines/:id/reject', requireScope('admin', runModel), decide('reject'));

  app.get('/v1/models/:name/timeline', requireScope('admin', pathModel('name')), async (req, res) => {
    const timeline = await deps.timeline.load(req.params.name as string);
    // A person opens it in a browser; a script asks for JSON.
    if (req.accepts(['text/html', 'application/json']) === 'application/json') res.json({ requestId: locals(res).requestId, timeline });
    else res.type('html').send(renderTimelineHtml(timeline));
  });

  app.post('/v1/models/:name/retrain', requireScope('admin', pathModel('name')), async (req, res) => {
    const model = req.params.name as string;
    const input = await body(req, retrainRequestSchema);
    const by = principalOf(res).id;
    const { status, workflowId, datasetVersion, specFrom, trigger } = await deps.retraining.request(model, by, input);
    deps.logger.info('retraining requested', { requestId: locals(res).requestId, model, by, workflowId, status });
    res.json({ requestId: locals(res).requestId, model, status, workflowId, datasetVersion, specFrom, trigger });
  });

  // The deployment workflow refuses a name the registry cannot hold only once it has started, and the
  // failed workflow then answers no query: refused here, such a name never reaches Temporal.
  const deploymentModel = (req: Request): string => {
    const parsed = modelNameSchema.safeParse(req.params.model);
    if (!parsed.success) throw invalidRequest(parsed.error, 'path.model');
    return parsed.data;
  };
  const deployed = (res: Response, model: string, state: unknown, by?: string) => res.json({ requestId: locals(res).requestId, model, ...(by ? { by } : {}), state });
  app.get('/v1/deployments/:model', requireScope('admin', pathModel('model')), async (req, res) => {
    const model = deploymentModel(req);
    deployed(res, model, await deps.deployments.state(model));
  });
  app.post('/v1/deployments/:model/rollout', requireScope('admin', pathModel('model')), async (req, res) => {
    const model = deploymentModel(req);
    const input = await body(req, rolloutRequestSchema);
    const by = principalOf(res).id;
    const state = await deps.deployments.startRollout(model, by, input);
    deps.logger.info('rollout relayed', { requestId: locals(res).requestId, model, version: input.version, by });
    deployed(res, model, state, by);
  });
  for (const action of DEPLOYMENT_ACTIONS) {
    app.post(`/v1/deployments/:model/${action}`, requireScope('admin', pathModel('model')), async (req, res) => {
      const model = deploymentModel(req);
      const input = await body(req, deploymentControlRequestSchema, true);
      const by = principalOf(res).id;
      const state = await deps.deployments.control(model, action, by, input);
      deps.logger.info('deployment control relayed', { requestId: locals(res).requestId, model, action, by });
      deployed(res, model, state, by);
    });
  }

  if (deps.console) app.use(deps.console);

  // A known path asked with a method it does not serve is 405 with the methods it does serve (RFC
  // 9110 §15.5.6) rather than 404, so the caller learns that the method, not the path, is wrong. The
  // paths and methods are read back from the routes above, so no list can drift from them; Express
  // answers HEAD wherever it answers GET.
  const servedMethods = new Map<string, Set<string>>();
  for (const layer of routeLayers(app.router.stack)) {
    if (!layer.route) continue;
    const methods = servedMethods.get(layer.route.path) ?? new Set<string>();
    for (const handler of layer.route.stack) methods.add(handler.method.toUpperCase());
    if (methods.has('GET')) methods.add('HEAD');
    servedMethods.set(layer.route.path, methods);
  }
  for (const [path, methods] of servedMethods) {
    const allow = [...methods].sort();
    app.all(path, (req: Request) => {
      throw new ApiError('MethodNotAllowed', `${req.method} is not served on ${req.path}; it serves ${allow.join(', ')} (see /docs)`, { allow });
    });
  }

  app.use((req: Request) => {
    throw new ApiError('RouteNotFound', `no route ${req.method} ${req.path} (see /docs)`);
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    lifecycle.fail(locals(res).request, err);
  });

  return app;
}

type RouterLayer = Express['router']['stack'][number];

/** The route layers of `stack` and of the routers mounted in it (the console's, mounted at the root, so its paths are whole). */
function routeLayers(stack: readonly RouterLayer[]): RouterLayer[] {
  return stack.flatMap((layer) => {
    const nested = (layer.handle as { stack?: RouterLayer[] }).stack;
    return layer.route ? [layer] : nested ? routeLayers(nested) : [];
  });
}

function servedVersions(routes: ModelRoutes): { runtime: ModelRuntime; route: 'primary' | 'canary' | 'shadow'; percent: number }[] {
  const canaryPercent = routes.canary?.percent ?? 0;
  return [
    { runtime: routes.primary, route: 'primary' as const, percent: 100 - canaryPercent },
    ...(routes.canary ? [{ runtime: routes.canary.runtime, route: 'canary' as const, percent: routes.canary.percent }] : []),
    ...(routes.shadow ? [{ runtime: routes.shadow.runtime, route: 'shadow' as const, percent: routes.shadow.percent }] : []),
  ];
}
