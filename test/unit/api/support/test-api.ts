import type { ArtifactStore } from '../../../../domain/object-store/artifact-store.ts';
import { OnlineFeatureAssemblers } from '../../../../api/features/online-feature-assembler.ts';
import type { FeatureAssemblers } from '../../../../api/features/feature-assembler.ts';
import { KeyRing, hashApiKey } from '../../../../api/auth/key-ring.ts';
import { type ApiServer, startApiServer } from '../../../../api/server.ts';
import { type Config, loadConfig } from '../../../../shared/config.ts';
import { createLogger } from '../../../../shared/logger.ts';
import type { ErrorBody } from '../../../../shared/api/errors.ts';
import type { BinaryPrediction } from '../../../../shared/api/predict.ts';
import { SERVING_CONFIG_KEY, type ServingConfigInput } from '../../../../shared/serving-config.ts';
import { flightsDefinitions } from './flights-model.ts';

/**
 * One key per scope, one with all three, one limited to a burst of 2 at 0.5 requests/s, and one with
 * all three on the models named flights-* only; the secrets are plain test strings.
 */
export const KEYS = { predict: 'test-key-predict', feedback: 'test-key-feedback', admin: 'test-key-admin', all: 'test-key-all', limited: 'test-key-limited', flights: 'test-key-flights' } as const;

export function testKeyRing(rateLimit = { perSecond: 100_000, burst: 100_000 }, now?: () => number): KeyRing {
  return new KeyRing(
    {
      keys: [
        { id: 'app-predict', sha256: hashApiKey(KEYS.predict), scopes: ['predict'] },
        { id: 'app-feedback', sha256: hashApiKey(KEYS.feedback), scopes: ['feedback'] },
        { id: 'ana-admin', sha256: hashApiKey(KEYS.admin), scopes: ['admin'] },
        { id: 'ops-all', sha256: hashApiKey(KEYS.all), scopes: ['predict', 'feedback', 'admin'] },
        { id: 'slow-client', sha256: hashApiKey(KEYS.limited), scopes: ['predict'], rateLimit: { perSecond: 0.5, burst: 2 } },
        { id: 'app-flights', sha256: hashApiKey(KEYS.flights), scopes: ['predict:flights-*', 'feedback:flights-*', 'admin:flights-*'] },
      ],
    },
    rateLimit,
    now,
  );
}

/** Config for a test API: loopback, an ephemeral port, fast polling; `env` overrides SLUICE_* settings. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  const config = loadConfig({ ...process.env, SLUICE_SERVING_POLL_INTERVAL_MS: '200', SLUICE_LOG_LEVEL: 'warn', ...env });
  return { ...config, api: { ...config.api, host: '127.0.0.1', port: 0 } };
}

/** The fields test assertions read from API answers (error bodies and a binary model's predictions); others, and other kinds' predictions, by cast. */
export interface AnswerJson {
  error?: ErrorBody['error'];
  requestId?: string;
  model?: string;
  prediction?: BinaryPrediction;
  predictions?: BinaryPrediction[];
}

export interface Answer<T = AnswerJson> {
  status: number;
  headers: Headers;
  /** The parsed body ({} when it is not JSON). */
  json: T;
  text: string;
}

export interface TestApi extends ApiServer {
  request<T = AnswerJson>(method: string, path: string, options?: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Answer<T>>;
  predict(model: string, body: unknown, key?: string): Promise<Answer>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startTestApi(options: { store: ArtifactStore; config?: Config; assemblers?: FeatureAssemblers; keys?: KeyRing; logLines?: string[] }): Promise<TestApi> {
  const config = options.config ?? testConfig();
  const lines = options.logLines;
  const logger = createLogger(config.logLevel, { component: 'api-test' }, lines ? (line) => lines.push(line) : undefined);
  const api = await startApiServer({ config, store: options.store, logger, assemblers: options.assemblers ?? new OnlineFeatureAssemblers(flightsDefinitions()), keys: options.keys ?? testKeyRing() });
  const request = async <T = AnswerJson>(method: string, path: string, { key, body, raw, headers = {} }: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer<T>> => {
    const init: RequestInit = { method, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } };
    if (raw !== undefined) init.body = raw;
    else if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(`${api.url}${path}`, init);
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = {};
    }
    return { status: res.status, headers: res.headers, json: json as T, text };
  };
  let disposed = false;
  return {
    ...api,
    request,
    predict: (model, body, key = KEYS.predict) => request('POST', `/v1/models/${model}/predict`, { key, body }),
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      await api.shutdown();
    },
  };
}

/** Writes the serving config as the deployment workflow would. */
export async function writeServingConfig(store: ArtifactStore, config: Config, models: ServingConfigInput['models'], revision: number): Promise<void> {
  const body: ServingConfigInput = { kind: 'sluice.serving-config', revision, updatedAt: new Date().toISOString(), updatedBy: 'test', reason: '', models };
  await store.put(config.buckets.serving, SERVING_CONFIG_KEY, JSON.stringify(body), { contentType: 'application/json' });
}
