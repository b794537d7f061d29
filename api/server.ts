import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import { ExecutionProviders } from '../domain/scoring/execution-providers.ts';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';
import { createApp, matchedRoute } from './app.ts';
import { ApprovalRelay, loadApprovalSigner } from './approvals/approval-relay.ts';
import { DeploymentRelay } from './deployments/deployment-relay.ts';
import { RetrainingRelay } from './retraining/retraining-relay.ts';
import { TimelineView } from './timeline/timeline-view.ts';
import { consoleRouter } from './console/console-wiring.ts';
import { TemporalLink } from './temporal/temporal-link.ts';
import { KeyRing } from './auth/key-ring.ts';
import { KeysFileWatcher } from './auth/keys-file-watcher.ts';
import type { FeatureAssemblers } from './features/feature-assembler.ts';
import { type ModelFeatureFreshness, modelFeatureFreshness } from './features/feature-freshness.ts';
import { FeedbackStore } from './feedback/feedback-store.ts';
import { CorsPolicy } from './http/cors.ts';
import { RequestLifecycle } from './http/request-lifecycle.ts';
import { ApiMetrics } from './metrics/api-metrics.ts';
import { recordGcPauses } from './metrics/gc-pauses.ts';
import { registerProcessMetrics } from './metrics/process-metrics.ts';
import { openApiDocument } from './openapi/openapi-document.ts';
import { PredictHandler, predictTarget } from './predict/predict-handler.ts';
import { ShadowScorer } from './predict/shadow-scorer.ts';
import { ParquetWriter } from './prediction-log/parquet-writer.ts';
import { PredictionLog } from './prediction-log/prediction-log.ts';
import { InProcessScoring } from './scoring/in-process-scoring.ts';
import { Arrivals } from './scoring/micro-batcher.ts';
import { ModelLoader } from './scoring/model-loader.ts';
import { ScoringThread, type ServingProviders } from './scoring/scoring-thread-client.ts';
import { ServingConfigPoller } from './serving/config-poller.ts';

export interface ApiServerDeps {
  config: Config;
  store: ArtifactStore;
  logger: Logger;
  assemblers: FeatureAssemblers;
  /** Defaults to the keys file named by the config. */
  keys?: KeyRing;
}

export interface ApiServer {
  readonly url: string;
  readonly server: Server;
  readonly metrics: ApiMetrics;
  readonly serving: ServingConfigPoller;
  readonly predictionLog: PredictionLog;
  /** Resolves after the first serving config poll (whatever its outcome). */
  readonly firstPoll: Promise<void>;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), flushes the prediction log. */
  shutdown(): Promise<void>;
}

/**
 * Wires the API and starts listening. The HTTP server sends `POST /v1/models/{name}/predict` to the
 * lean predict handler and everything else to the Express app. Serving starts without Temporal and
 * without the object store: the config poller keeps trying in the background and `/readyz` says
 * when there is something to serve.
 */
export async function startApiServer(deps: ApiServerDeps): Promise<ApiServer> {
  const { config, store, logger } = deps;
  const metrics = new ApiMetrics();
  const stopGcPauses = recordGcPauses(metrics.gcPauses);
  const stopProcessMetrics = registerProcessMetrics(metrics.registry);
  const keys = deps.keys ?? (await KeyRing.fromConfig(config.api));
  const keysWatcher = deps.keys === undefined && config.api.keysFile !== undefined ? new KeysFileWatcher(config.api.keysFile, keys, config.api.keysReloadMs, logger) : undefined;
  if (keys.size === 0) logger.warn('no API keys configured: every protected route answers 401 (set SLUICE_API_KEYS_FILE)');
  const cors = new CorsPolicy(config.api.corsOrigins);
  const sessions = config.serving.scoringThread ? new ScoringThread(config.serving.intraOpThreads) : new InProcessScoring(config.serving.intraOpThreads);
  const providers: ServingProviders = new ExecutionProviders(config.serving.executionProviders, logger, sessions);
  metrics.provider.collect(() => providers.report().active.map((provider) => ({ labels: { provider }, value: 1 })));
  metrics.providerUnavailable.collect(() => Object.keys(providers.report().unavailable).map((provider) => ({ labels: { provider }, value: 1 })));

  const freshnessSource = deps.assemblers.freshness;
  const features = freshnessSource && { source: freshnessSource, maxAgeMs: config.serving.featuresMaxAgeMs };
  const arrivals = new Arrivals();
  const loader = new ModelLoader({
    registry: new ModelRegistry(store, config.buckets.models),
    providers,
    assemblers: deps.assemblers,
    metrics,
    log: logger,
    serving: config.serving,
    othersArriving: arrivals.any,
  });
  const serving = new ServingConfigPoller({ store, bucket: config.buckets.serving, loader, metrics, log: logger, intervalMs: config.serving.pollIntervalMs });
  if (features) {
    const freshness = () => modelFeatureFreshness(serving.current.models, features.source, Date.now(), features.maxAgeMs);
    const perModel = (value: (f: ModelFeatureFreshness) => number) => () => Object.entries(freshness()).map(([model, f]) => ({ labels: { model }, value: value(f) }));
    metrics.featuresAge.collect(perModel((f) => f.ageSeconds));
    metrics.featuresRefreshed.collect(perModel((f) => Date.parse(f.refreshedAt) / 1000));
    metrics.featuresStale.collect(perModel((f) => (f.state === 'stale' ? 1 : 0)));
  }
  const logDir = await mkdtemp(join(tmpdir(), 'sluice-prediction-log-'));
  const predictionLog = new PredictionLog({ store, bucket: config.buckets.predictions, writer: new ParquetWriter(logDir, config.serving.log.pageCodec), limits: config.serving.log, metrics, log: logger, hashKey: config.logHashKey });
  const shadow = new ShadowScorer({ log: predictionLog, metrics, logger, maxPending: config.serving.shadowMaxPending });
  const limits = { maxBodyBytes: config.api.maxBodyBytes, maxBatch: config.api.maxBatch, requestTimeoutMs: config.api.requestTimeoutMs };
  const predict = new PredictHandler({ serving, keys, cors, predictionLog, shadow, metrics, logger, limits, arrivals });
  const temporal = new TemporalLink(config.temporal, config.api.requestTimeoutMs);
  const approvals = new ApprovalRelay(temporal, logger, loadApprovalSigner(config.api.approvalSigning));
  const deployments = new DeploymentRelay(temporal, config.taskQueues.pipeline, logger);
  const retraining = new RetrainingRelay(temporal, { config, store }, logger);
  const timeline = new TimelineView(temporal, { store, buckets: config.buckets });
  let shuttingDown = false;
  const appLifecycle = new RequestLifecycle({ metrics, logger, requestTimeoutMs: limits.requestTimeoutMs, routeOf: matchedRoute });
  const app = createApp({
    keys,
    cors,
    serving,
    providers,
    predict,
    predictionLog,
    feedback: new FeedbackStore(store, config.buckets.predictions),
    approvals,
    deployments,
    retraining,
    timeline,
    metrics,
    logger,
    openapi: openApiDocument(limits),
    limits,
    lifecycle: appLifecycle,
    isShuttingDown: () => shuttingDown,
    ...(features ? { features } : {}),
    console: consoleRouter({ config, store, temporal, keys, approvals, logger, freshness: () => (features ? modelFeatureFreshness(serving.current.models, features.source, Date.now(), features.maxAgeMs) : {}) }),
  });

  let active = 0;
  const drained = new Set<() => void>();
  const server = createServer({ requestTimeout: config.api.requestTimeoutMs, headersTimeout: Math.min(config.api.requestTimeoutMs, 60_000), keepAliveTimeout: 5000 }, (req, res) => {
    active++;
    res.once('close', () => {
      active--;
      if (active === 0) for (const resolve of drained) resolve();
    });
    // While draining, answers ask clients to reconnect, which takes them to another replica.
    if (shuttingDown) res.setHeader('Connection', 'close');
    const target = req.method === 'POST' ? predictTarget(req.url) : undefined;
    if (target !== undefined) predict.handle(req, res, target);
    else app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.api.port, config.api.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host}:${port}`;
  logger.info('api listening', { url, executionProviders: config.serving.executionProviders, keys: keys.size });
  const firstPoll = serving.start();

  const untilIdle = (ms: number) =>
    new Promise<void>((resolve) => {
      if (active === 0) return resolve();
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        drained.delete(finish);
        resolve();
      }
      drained.add(finish);
    });

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      shuttingDown = true;
      logger.info('api shutting down: no new connections; draining', { inFlight: active, graceMs: config.api.shutdownGraceMs });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await serving.stop();
      await untilIdle(config.api.shutdownGraceMs);
      server.closeAllConnections();
      await closed;
      predict.close();
      appLifecycle.close();
      stopGcPauses();
      stopProcessMetrics();
      keysWatcher?.close();
      await shadow.drained();
      await predictionLog.close();
      await temporal.close();
      serving.retireAll();
      await providers.close();
      await rm(logDir, { recursive: true, force: true });
      logger.info('api stopped', { predictionLogDroppedRows: predictionLog.droppedRows });
    })();
    return stopping;
  };

  return { url, server, metrics, serving, predictionLog, firstPoll, shutdown };
}
