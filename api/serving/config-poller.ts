import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { SERVING_CONFIG_KEY, type ServingConfig, servingConfigSchema } from '../../shared/serving-config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ApiMetrics } from '../metrics/api-metrics.ts';
import type { ModelLoader } from '../scoring/model-loader.ts';
import type { ModelRuntime } from '../scoring/model-runtime.ts';
import type { ModelRoutes } from './routing.ts';
import { describeIssues } from '../../shared/parse-input.ts';
import { DeadlineExceededError, withDeadline } from '../../shared/deadline.ts';
import { modelNameSchema } from '../../shared/registry.ts';
import { ApiError } from '../errors.ts';

/** What requests route by: replaced as a whole, never changed in place. */
export interface ServingSnapshot {
  revision: number | undefined;
  models: ReadonlyMap<string, ModelRoutes>;
}

export type ConfigState = 'never-read' | 'absent' | 'current' | 'stale';

export interface ServingHealth {
  /** never-read: no poll has reached the store yet; absent: there is no config object (nothing to serve); stale: the last poll failed and the last good config is served. */
  configState: ConfigState;
  revision: number | undefined;
  lastSuccessAt: string | undefined;
  lastError: string | undefined;
  /** Models in the config with no loaded routes at all: they answer 503. */
  unavailableModels: string[];
  /** The latest load failure per model, also when an older version still serves it. */
  modelErrors: Record<string, string>;
}

export interface PollerDeps {
  store: ArtifactStore;
  bucket: string;
  loader: ModelLoader;
  metrics: ApiMetrics;
  log: Logger;
  intervalMs: number;
}

const stripQuotes = (etag: string) => etag.replace(/^"|"$/g, '');

/**
 * Keeps the API's routes in step with the serving config object. Each poll asks for the object's
 * etag only; a new etag means read, validate, load every version it names in the background while
 * requests keep using the current snapshot, then swap the snapshot in one assignment and retire the
 * versions no longer named (they are freed once their in-flight requests finish). When the store
 * cannot be reached, or the object is missing or invalid, the last good snapshot keeps serving and
 * the health report says why.
 */
export class ServingConfigPoller {
  private snapshot: ServingSnapshot = { revision: undefined, models: new Map() };
  private config: ServingConfig | undefined;
  private appliedEtag: string | undefined;
  private rejectedEtag: string | undefined;
  private retryLoads = false;
  private reached = false;
  private lastSuccessAt: string | undefined;
  /** Why the last poll failed (store unreachable, object missing); cleared by the next good poll. */
  private pollError: string | undefined;
  /** Why the config in the store is not the one served (invalid, older revision); cleared by a new one. */
  private rejection: string | undefined;
  private modelErrors: Record<string, string> = {};
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: PollerDeps) {
    deps.metrics.modelsLoaded.collect(() => [{ labels: {}, value: this.loadedVersions().length }]);
  }

  get current(): ServingSnapshot {
    return this.snapshot;
  }

  health(): ServingHealth {
    const configured = this.config ? Object.keys(this.config.models) : [];
    return {
      configState: this.state,
      revision: this.snapshot.revision,
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.pollError ?? this.rejection,
      unavailableModels: configured.filter((m) => !this.snapshot.models.has(m)),
      modelErrors: { ...this.modelErrors },
    };
  }

  /** Polls now, then every interval until `stop`. Resolves after the first poll. */
  async start(): Promise<void> {
    await this.pollNow();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pollNow().finally(() => this.schedule());
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One poll; concurrent callers share the poll in progress. */
  pollNow(): Promise<void> {
    this.running ??= this.poll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async poll(): Promise<void> {
    const { store, bucket } = this.deps;
    let etag: string;
    let body: Buffer;
    // Each request must answer within one interval: a frozen store would otherwise hold this poll, and
    // every later one, forever while the health report kept saying `current`.
    const within = <T>(work: Promise<T>, what: string) => withDeadline(work, this.deps.intervalMs, `the object store (${what} s3://${bucket}/${SERVING_CONFIG_KEY})`);
    try {
      const info = await within(store.stat(bucket, SERVING_CONFIG_KEY), 'stat');
      if (info === undefined) return this.onAbsent();
      etag = stripQuotes(info.etag);
      if ((etag === this.appliedEtag && !this.retryLoads) || etag === this.rejectedEtag) return this.succeeded();
      body = await within(store.get(bucket, SERVING_CONFIG_KEY), 'get');
    } catch (err) {
      if (err instanceof DeadlineExceededError) return this.failed('timeout', `object store not answering: ${err.message}`);
      return this.failed('unreachable', `object store unreachable: ${(err as Error).message}`);
    }
    let config: ServingConfig;
    try {
      const parsed = servingConfigSchema.safeParse(JSON.parse(body.toString('utf8')));
      if (!parsed.success) throw new Error(describeIssues(parsed.error, '(config)').join('; '));
      config = parsed.data;
    } catch (err) {
      this.rejectedEtag = etag;
      return this.rejected(`serving config s3://${bucket}/${SERVING_CONFIG_KEY} is invalid: ${(err as Error).message}`);
    }
    if (this.config && config.revision < this.config.revision) {
      this.rejectedEtag = etag;
      return this.rejected(`serving config revision ${config.revision} is older than revision ${this.config.revision} in use; ignored`);
    }
    await this.apply(config);
    this.appliedEtag = etag;
    this.rejectedEtag = undefined;
    this.rejection = undefined;
    this.succeeded();
  }

  private async apply(config: ServingConfig): Promise<void> {
    const { loader, log } = this.deps;
    const previous = this.snapshot;
    const models = new Map<string, ModelRoutes>();
    const errors: Record<string, string> = {};
    await Promise.all(
      Object.entries(config.models).map(async ([model, routes]) => {
        try {
          const [primary, canary, shadow] = await Promise.all([
            loader.get(model, routes.primary),
            routes.canary ? loader.get(model, routes.canary.version) : undefined,
            routes.shadow ? loader.get(model, routes.shadow.version) : undefined,
          ]);
          models.set(model, {
            primary,
            canary: canary && routes.canary ? { runtime: canary, percent: routes.canary.percent } : undefined,
            shadow: shadow && routes.shadow ? { runtime: shadow, percent: routes.shadow.percent } : undefined,
          });
        } catch (err) {
          errors[model] = (err as Error).message;
          const serving = previous.models.get(model);
          if (serving) models.set(model, serving);
        }
      }),
    );
    this.snapshot = { revision: config.revision, models };
    this.config = config;
    this.modelErrors = errors;
    this.retryLoads = Object.keys(errors).length > 0;
    if (this.retryLoads) this.deps.metrics.configPollErrors.with({ reason: 'load_failed' }).inc();
    this.deps.metrics.configRevision.with().set(config.revision);

    const keep = new Set(this.loadedVersions().map((r) => r.key));
    for (const runtime of runtimesOf(previous.models)) if (!keep.has(runtime.key)) loader.retire(runtime);
    log.info('serving config applied', { revision: config.revision, models: Object.fromEntries([...models].map(([m, r]) => [m, describeRoutes(r)])), errors });
  }

  /** At shutdown, after the last request: frees every loaded version. */
  retireAll(): void {
    for (const runtime of this.loadedVersions()) this.deps.loader.retire(runtime);
    this.snapshot = { revision: this.snapshot.revision, models: new Map() };
  }

  private loadedVersions(): ModelRuntime[] {
    return runtimesOf(this.snapshot.models);
  }

  private onAbsent(): void {
    if (this.config) return this.failed('missing', `serving config s3://${this.deps.bucket}/${SERVING_CONFIG_KEY} disappeared; serving the last good config (revision ${this.config.revision})`);
    this.succeeded();
  }

  private succeeded(): void {
    this.reached = true;
    this.pollError = undefined;
    this.lastSuccessAt = new Date().toISOString();
    this.deps.metrics.configLastSuccess.with().set(Date.now() / 1000);
    this.updateStale();
  }

  /** The store holds a config that cannot be served; the last good one keeps serving until a new one comes. */
  private rejected(message: string): void {
    if (message !== this.rejection) this.deps.log.warn('serving config rejected; serving the last good config', { error: message, revision: this.snapshot.revision });
    this.rejection = message;
    this.deps.metrics.configPollErrors.with({ reason: 'invalid' }).inc();
    this.succeeded();
  }

  private failed(reason: 'unreachable' | 'timeout' | 'missing', message: string): void {
    if (message !== this.pollError) this.deps.log.warn('serving config poll failed; serving the last good config', { reason, error: message, revision: this.snapshot.revision });
    this.pollError = message;
    this.deps.metrics.configPollErrors.with({ reason }).inc();
    this.updateStale();
  }

  private get state(): ConfigState {
    if (!this.config) return this.reached ? 'absent' : 'never-read';
    return this.pollError !== undefined || this.rejection !== undefined ? 'stale' : 'current';
  }

  private updateStale(): void {
    this.deps.metrics.configStale.with().set(this.state === 'stale' ? 1 : 0);
  }
}

function runtimesOf(models: ReadonlyMap<string, ModelRoutes>): ModelRuntime[] {
  const out: ModelRuntime[] = [];
  for (const routes of models.values()) {
    out.push(routes.primary);
    if (routes.canary) out.push(routes.canary.runtime);
    if (routes.shadow) out.push(routes.shadow.runtime);
  }
  return out;
}

/**
 * The loaded routes of a model the request names (predict, feedback), or the error its caller gets:
 * 503 while the config is unread or the model's versions are loading, 404 when it is not served.
 */
export function servedRoutes(serving: ServingConfigPoller, model: string): ModelRoutes {
  const routes = serving.current.models.get(model);
  if (routes) return routes;
  const health = serving.health();
  if (health.configState === 'never-read') throw new ApiError('ServingNotReady', 'the serving config has not been loaded yet; retry shortly', { retryAfterSeconds: 1 });
  if (health.unavailableModels.includes(model)) {
    throw new ApiError('ModelNotReady', `model "${model}" is configured but none of its versions is loaded: ${health.modelErrors[model] ?? 'loading'}`, { retryAfterSeconds: 5 });
  }
  const shown = modelNameSchema.safeParse(model).success ? model : JSON.stringify(model.slice(0, 64));
  throw new ApiError('UnknownModel', `no model named ${shown} is being served (GET /v1/models lists them)`, { field: 'path.name' });
}

export function describeRoutes(routes: ModelRoutes) {
  return {
    primary: routes.primary.version,
    ...(routes.canary ? { canary: { version: routes.canary.runtime.version, percent: routes.canary.percent } } : {}),
    ...(routes.shadow ? { shadow: { version: routes.shadow.runtime.version, percent: routes.shadow.percent } } : {}),
  };
}
