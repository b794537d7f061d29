import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { SluiceError } from './errors.ts';
import { durationMs, durationSchema } from './duration.ts';
import { LIGHTGBM_TASK_QUEUE } from './trainers.ts';

/**
 * Every setting sluice reads, as environment variables. This schema is the single source of the
 * settings table in the README and of the env names docker-compose.yml may set; entry points call
 * `loadConfig` once and pass the result down, so no other module reads `process.env`.
 */

const port = z.coerce
  .number({ error: 'expected a port number from 1 to 65535' })
  .int('expected a whole number')
  .min(1, 'expected a port from 1 to 65535')
  .max(65535, 'expected a port from 1 to 65535');

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:7233');
/** Where a worker serves Prometheus metrics, or `off`. */
const metricsAddress = z.union([z.literal('off'), hostPort], { error: 'expected host:port (e.g. 127.0.0.1:9464) or off' });

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/]+(:\d+)?\/?$/, 'expected an http(s) URL with host and optional port, e.g. http://127.0.0.1:9000');

/** S3 bucket naming rules, so a bad name fails at start-up rather than on the first write. */
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens');

const taskQueue = z.string().min(1, 'expected a non-empty task queue name');

const nonEmpty = z.string().min(1, 'expected a non-empty value');

const count = (min: number, max: number) =>
  z.coerce
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int(`expected a whole number from ${min} to ${max}`)
    .min(min, `expected a whole number from ${min} to ${max}`)
    .max(max, `expected a whole number from ${min} to ${max}`);

export const EXECUTION_PROVIDERS = ['cuda', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

const executionProviders = z
  .string()
  .regex(/^(cuda|cpu)(,(cuda|cpu))*$/, 'expected a comma-separated list of cuda and cpu, in order of preference, e.g. cuda,cpu');

const corsOrigins = z
  .string()
  .regex(/^https?:\/\/[^\s,/]+(,https?:\/\/[^\s,/]+)*$/, 'expected comma-separated origins such as https://app.example.com,http://localhost:3000');

/** Real booleans only: "true" or "false". "1", "yes" and "on" are rejected to avoid guessing. */
/** A page codec of the API's Parquet writer, as `uncompressed` or `<codec>-<level>` (gzip 1-9, brotli quality 0-11). */
const pageCodec = z
  .string()
  .regex(/^(uncompressed|gzip-[1-9]|brotli-([0-9]|1[01]))$/, 'expected uncompressed, gzip-<1 to 9> or brotli-<0 to 11>, e.g. gzip-1');

export type LogPageCodec = { codec: 'uncompressed' } | { codec: 'gzip' | 'brotli'; level: number };

/** A setting the schema accepted, as the writer takes it (kept a string in the schema so the settings table shows its default). */
function logPageCodec(setting: string): LogPageCodec {
  const [codec, level] = setting.split('-');
  return codec === 'gzip' || codec === 'brotli' ? { codec, level: Number(level) } : { codec: 'uncompressed' };
}

const bool = z.enum(['true', 'false'], { error: 'expected true or false' }).transform((v) => v === 'true');

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const configSchema = z.strictObject({
  SLUICE_TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233').describe('Temporal frontend (gRPC) address'),
  SLUICE_TEMPORAL_NAMESPACE: nonEmpty.default('default').describe('Temporal namespace'),
  SLUICE_TEMPORAL_TLS: bool.default(false).describe('Connect to Temporal over TLS, trusting the system CAs (Temporal Cloud); implied by any SLUICE_TEMPORAL_TLS_* file below'),
  SLUICE_TEMPORAL_TLS_CA: nonEmpty.optional().describe("PEM file of the CA that signed Temporal's server certificate, when the system CAs do not"),
  SLUICE_TEMPORAL_TLS_CERT: nonEmpty.optional().describe('PEM client certificate for mutual TLS (with SLUICE_TEMPORAL_TLS_KEY): how Temporal Cloud and most clusters authenticate workers'),
  SLUICE_TEMPORAL_TLS_KEY: nonEmpty.optional().describe('PEM private key of SLUICE_TEMPORAL_TLS_CERT'),
  SLUICE_TEMPORAL_TLS_SERVER_NAME: nonEmpty.optional().describe("The name Temporal's certificate is checked against (and sent as SNI), when it is not the address's host"),
  SLUICE_TEMPORAL_UI_PORT: port.default(8233).describe('Port of the Temporal Web UI started by `infra:up`'),
  SLUICE_TASK_QUEUE_PIPELINE: taskQueue.default('sluice-pipeline').describe('Task queue of the CPU pipeline worker'),
  SLUICE_TASK_QUEUE_SCORING: taskQueue.default('sluice-scoring').describe('Task queue of the scoring worker (GPU when available)'),
  SLUICE_TASK_QUEUE_LIGHTGBM: taskQueue.default(LIGHTGBM_TASK_QUEUE).describe('Task queue of the Python LightGBM trainer worker (`npm run worker:lightgbm`), which reads this setting itself'),
  SLUICE_MINIO_ENDPOINT: httpUrl.default('http://127.0.0.1:9000').describe('MinIO / S3 endpoint URL'),
  SLUICE_MINIO_CONSOLE_PORT: port.default(9001).describe('Port of the MinIO console started by `infra:up`'),
  SLUICE_MINIO_ACCESS_KEY: z.string().min(3, 'expected at least 3 characters').default('sluice').describe('MinIO access key (root user for the local server)'),
  SLUICE_MINIO_SECRET_KEY: z.string().min(8, 'expected at least 8 characters (MinIO rejects shorter secrets)').default('sluice-dev-secret').describe('MinIO secret key (root password for the local server)'),
  SLUICE_MINIO_REGION: nonEmpty.default('us-east-1').describe('S3 region'),
  SLUICE_MINIO_IDLE_TIMEOUT_MS: count(100, 3_600_000).default(30_000).describe('A call to the object store fails once its connection has carried nothing for this long (ms): a hung store cannot hold a worker or the API'),
  SLUICE_MINIO_CA: nonEmpty.optional().describe("PEM file of the CA that signed the object store's certificate (an https SLUICE_MINIO_ENDPOINT), when the system CAs do not"),
  SLUICE_BUCKET_DATASETS: bucketName.default('sluice-datasets').describe('Bucket of raw datasets, addressed by content SHA-256'),
  SLUICE_BUCKET_FEATURES: bucketName.default('sluice-features').describe('Bucket of feature tables and reference statistics'),
  SLUICE_BUCKET_MODELS: bucketName.default('sluice-models').describe('Bucket of the model registry: ONNX files, manifests, status history'),
  SLUICE_BUCKET_REPORTS: bucketName.default('sluice-reports').describe('Bucket of validation, evaluation and drift reports'),
  SLUICE_BUCKET_SERVING: bucketName.default('sluice-serving').describe('Bucket of serving configs and online feature snapshots'),
  SLUICE_BUCKET_PREDICTIONS: bucketName.default('sluice-predictions').describe('Bucket of prediction logs and feedback labels'),
  SLUICE_API_HOST: nonEmpty.default('127.0.0.1').describe('Interface the prediction API listens on'),
  SLUICE_API_PORT: port.default(8080).describe('Port of the prediction API'),
  SLUICE_API_KEYS_FILE: nonEmpty.optional().describe('JSON file of the API keys (SHA-256 hashes, scopes, optional rate limits); unset means every protected endpoint answers 401'),
  SLUICE_API_KEYS_RELOAD_MS: count(100, 3_600_000).default(5000).describe('How often the API checks the keys file for changes and reloads it (SIGHUP reloads at once); an invalid file keeps the keys in use'),
  SLUICE_API_MAX_BODY_BYTES: count(1024, 64 * 1024 * 1024).default(1024 * 1024).describe('Largest request body the API reads; larger ones get 413'),
  SLUICE_API_MAX_BATCH: count(1, 100_000).default(1000).describe('Most events in one predict request; more get 413'),
  SLUICE_API_REQUEST_TIMEOUT_MS: count(100, 600_000).default(10_000).describe('Deadline for receiving and answering one request (ms)'),
  SLUICE_API_RATE_LIMIT_PER_SECOND: count(1, 10_000_000).default(1000).describe('Requests per second each API key may make (token bucket refill); a key in the keys file may override it'),
  SLUICE_API_RATE_LIMIT_BURST: count(1, 10_000_000).default(2000).describe('Token bucket size per API key: requests a key may make at once after being idle'),
  SLUICE_CONSOLE_SESSION_SECRET: z.string().min(32, 'expected at least 32 characters (e.g. openssl rand -base64 48)').optional().describe('Signs the web console\'s session cookies; set the same value on every API replica so a session survives restarts and works on each. Unset: a random secret per process'),
  SLUICE_APPROVAL_SIGNING_KEY: nonEmpty.optional().describe("PEM file of the API's Ed25519 private key (`sluice approvers keygen`): it signs approve/reject decisions for the authenticated API key holder, so a model whose policy has requireVerifiedIdentity accepts them; register its public key as a delegate (`sluice approvers add --delegate`). Unset: decisions go unsigned"),
  SLUICE_APPROVAL_SIGNER_ID: nonEmpty.default('sluice-api').describe('The delegate id the API signs approval decisions as; the approvers registry lists its public key under this id'),
  SLUICE_API_CORS_ORIGINS: corsOrigins.optional().describe('Origins allowed to call the API from a browser; unset means CORS is off'),
  SLUICE_API_SHUTDOWN_GRACE_MS: count(0, 600_000).default(15_000).describe('On SIGTERM, how long in-flight requests may take to finish before connections are closed (ms)'),
  SLUICE_SERVING_POLL_INTERVAL_MS: count(100, 3_600_000).default(5000).describe('How often the API checks the serving config object for a new version (ms)'),
  SLUICE_SERVING_FEATURES_MAX_AGE: durationSchema.default('1h').describe('Online features older than this (now minus the served snapshot\'s as-of instant) are reported stale in /readyz and /metrics; still served'),
  SLUICE_SERVING_EXECUTION_PROVIDERS: executionProviders.default('cpu').describe('ONNX Runtime execution providers in order of preference; an unavailable one is skipped with one warning'),
  SLUICE_SERVING_INTRA_OP_THREADS: count(1, 256).default(1).describe('ONNX Runtime threads per model session'),
  SLUICE_SERVING_SCORING_THREAD: bool.default(true).describe('Run models on a worker thread, so scoring overlaps request parsing and feature assembly; false keeps them on the event loop (for a one-core process)'),
  SLUICE_SERVING_MAX_BATCH_ROWS: count(1, 100_000).default(256).describe('Most rows one micro-batched model run scores'),
  SLUICE_SERVING_MAX_WAIT_MS: count(0, 1000).default(2).describe('Longest a request waits for others still being read to join its micro-batch (ms); with none being read it is scored at once'),
  SLUICE_SERVING_SHADOW_MAX_PENDING: count(0, 1_000_000).default(10_000).describe('Shadow-scoring events queued at most; beyond it shadow scoring is skipped and counted'),
  SLUICE_SERVING_LOG_FLUSH_ROWS: count(1, 10_000_000).default(10_000).describe('Prediction log rows that trigger a Parquet flush to the predictions bucket'),
  SLUICE_SERVING_LOG_FLUSH_INTERVAL_MS: count(100, 3_600_000).default(10_000).describe('Oldest buffered prediction log row age that triggers a flush (ms)'),
  SLUICE_SERVING_LOG_BUFFER_ROWS: count(1, 100_000_000).default(200_000).describe('Prediction log rows held at most (buffered or awaiting upload); beyond it rows are dropped and counted'),
  SLUICE_SERVING_LOG_PAGE_CODEC: pageCodec.default('gzip-1').describe('Page compression of the prediction log files the API writes: uncompressed, gzip-<1-9> or brotli-<0-11> (see bench/log-writer.ts for the measured trade-off)'),
  SLUICE_LOG_HASH_KEY: z.string().min(16, 'expected at least 16 characters').optional().describe('Secret key of the HMAC that hashes the features a feature spec marks `log: "hash"` in the prediction log; the same on every API replica and worker (drift hashes the reference with it). Unset: those features are logged as NULL'),
  SLUICE_DATA_DIR: nonEmpty.default('.sluice').describe('Data directory of the local stack (Temporal SQLite file, MinIO data, PIDs); relative to the working directory'),
  SLUICE_BIN_DIR: nonEmpty.default(resolve(homedir(), '.cache', 'sluice', 'bin')).describe('Where `infra:install` caches the temporal and minio binaries (outside the repo)'),
  SLUICE_TEMPORAL_BIN: nonEmpty.optional().describe('Path of an existing temporal CLI binary; skips the lookup and build'),
  SLUICE_MINIO_BIN: nonEmpty.optional().describe('Path of an existing minio binary; skips the lookup and build'),
  SLUICE_ALLOW_DOWNLOAD: bool.default(true).describe('Whether `infra:install` may download official binaries when the Go build fails'),
  SLUICE_WORKER_METRICS_ADDRESS: metricsAddress.default('127.0.0.1:9464').describe('Where the pipeline worker serves Prometheus metrics (`/metrics`: Temporal SDK and sluice figures), or `off`'),
  SLUICE_SCORING_WORKER_METRICS_ADDRESS: metricsAddress.default('127.0.0.1:9465').describe('Where the scoring worker serves Prometheus metrics, or `off`'),
  SLUICE_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info').describe('Log level of workers and the API'),
});

export type ConfigEnv = z.output<typeof configSchema>;

/** Names of every setting, for documentation and for checking docker-compose.yml. */
export const CONFIG_KEYS = Object.keys(configSchema.shape) as (keyof typeof configSchema.shape)[];

export interface Config {
  temporal: { address: string; namespace: string; uiPort: number; tls: TemporalTls | undefined };
  taskQueues: { pipeline: string; scoring: string; lightgbm: string };
  minio: { endpoint: string; consolePort: number; accessKey: string; secretKey: string; region: string; caFile: string | undefined; idleTimeoutMs: number };
  buckets: { datasets: string; features: string; models: string; reports: string; serving: string; predictions: string };
  api: {
    host: string;
    port: number;
    keysFile: string | undefined;
    keysReloadMs: number;
    maxBodyBytes: number;
    maxBatch: number;
    requestTimeoutMs: number;
    rateLimit: { perSecond: number; burst: number };
    corsOrigins: string[];
    shutdownGraceMs: number;
    consoleSessionSecret: string | undefined;
    /** The key the API signs approval decisions with, as a delegate of the approvers registry. */
    approvalSigning: { keyFile: string; signerId: string } | undefined;
  };
  serving: {
    pollIntervalMs: number;
    featuresMaxAgeMs: number;
    executionProviders: ExecutionProvider[];
    intraOpThreads: number;
    scoringThread: boolean;
    maxBatchRows: number;
    maxWaitMs: number;
    shadowMaxPending: number;
    log: { flushRows: number; flushIntervalMs: number; bufferRows: number; pageCodec: LogPageCodec };
  };
  /** The prediction log's hashing key (SLUICE_LOG_HASH_KEY); undefined: hashed features are logged as NULL. */
  logHashKey: string | undefined;
  dataDir: string;
  binDir: string;
  binaries: { temporal: string | undefined; minio: string | undefined };
  allowDownload: boolean;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Prometheus endpoints of the worker processes; undefined when `off`. */
  workerMetrics: { pipeline: string | undefined; scoring: string | undefined };
}

/** TLS to Temporal: file paths as configured (read when connecting, so a renewed certificate is picked up by the next connection). */
export interface TemporalTls {
  caFile: string | undefined;
  cert: { certFile: string; keyFile: string } | undefined;
  serverName: string | undefined;
}

export class ConfigError extends SluiceError {
  override readonly name = 'ConfigError';
  readonly kind = 'ConfigInvalid';
  constructor(readonly problems: string[]) {
    super(`Invalid sluice configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Reads the SLUICE_* variables of `env`. Variables without the prefix are ignored, so the rest of
 * the process environment does not matter; an unknown SLUICE_* name is an error because it is
 * almost always a typo of a real setting.
 */
export function loadConfig(env: Record<string, string | undefined>, cwd: string = process.cwd()): Config {
  const relevant: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('SLUICE_') && value !== undefined && value !== '') relevant[key] = value;
  }
  const parsed = configSchema.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        if (issue.code === 'unrecognized_keys') {
          return issue.keys.map((k) => `${k}: unknown setting; did you mean ${closestKey(k)}? (see the README's settings table)`).join('\n  - ');
        }
        const key = String(issue.path[0]);
        return `${key}=${JSON.stringify(relevant[key])}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  const problems = tlsProblems(e);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    temporal: { address: e.SLUICE_TEMPORAL_ADDRESS, namespace: e.SLUICE_TEMPORAL_NAMESPACE, uiPort: e.SLUICE_TEMPORAL_UI_PORT, tls: temporalTls(e, cwd) },
    taskQueues: { pipeline: e.SLUICE_TASK_QUEUE_PIPELINE, scoring: e.SLUICE_TASK_QUEUE_SCORING, lightgbm: e.SLUICE_TASK_QUEUE_LIGHTGBM },
    minio: {
      endpoint: e.SLUICE_MINIO_ENDPOINT.replace(/\/$/, ''),
      consolePort: e.SLUICE_MINIO_CONSOLE_PORT,
      accessKey: e.SLUICE_MINIO_ACCESS_KEY,
      secretKey: e.SLUICE_MINIO_SECRET_KEY,
      region: e.SLUICE_MINIO_REGION,
      caFile: e.SLUICE_MINIO_CA === undefined ? undefined : resolve(cwd, e.SLUICE_MINIO_CA),
      idleTimeoutMs: e.SLUICE_MINIO_IDLE_TIMEOUT_MS,
    },
    buckets: {
      datasets: e.SLUICE_BUCKET_DATASETS,
      features: e.SLUICE_BUCKET_FEATURES,
      models: e.SLUICE_BUCKET_MODELS,
      reports: e.SLUICE_BUCKET_REPORTS,
      serving: e.SLUICE_BUCKET_SERVING,
      predictions: e.SLUICE_BUCKET_PREDICTIONS,
    },
    api: {
      host: e.SLUICE_API_HOST,
      port: e.SLUICE_API_PORT,
      keysFile: e.SLUICE_API_KEYS_FILE === undefined ? undefined : resolve(cwd, e.SLUICE_API_KEYS_FILE),
      keysReloadMs: e.SLUICE_API_KEYS_RELOAD_MS,
      maxBodyBytes: e.SLUICE_API_MAX_BODY_BYTES,
      maxBatch: e.SLUICE_API_MAX_BATCH,
      requestTimeoutMs: e.SLUICE_API_REQUEST_TIMEOUT_MS,
      rateLimit: { perSecond: e.SLUICE_API_RATE_LIMIT_PER_SECOND, burst: e.SLUICE_API_RATE_LIMIT_BURST },
      corsOrigins: e.SLUICE_API_CORS_ORIGINS?.split(',') ?? [],
      shutdownGraceMs: e.SLUICE_API_SHUTDOWN_GRACE_MS,
      consoleSessionSecret: e.SLUICE_CONSOLE_SESSION_SECRET,
      approvalSigning: e.SLUICE_APPROVAL_SIGNING_KEY === undefined ? undefined : { keyFile: resolve(cwd, e.SLUICE_APPROVAL_SIGNING_KEY), signerId: e.SLUICE_APPROVAL_SIGNER_ID },
    },
    serving: {
      pollIntervalMs: e.SLUICE_SERVING_POLL_INTERVAL_MS,
      featuresMaxAgeMs: durationMs(e.SLUICE_SERVING_FEATURES_MAX_AGE),
      executionProviders: e.SLUICE_SERVING_EXECUTION_PROVIDERS.split(',') as ExecutionProvider[],
      intraOpThreads: e.SLUICE_SERVING_INTRA_OP_THREADS,
      scoringThread: e.SLUICE_SERVING_SCORING_THREAD,
      maxBatchRows: e.SLUICE_SERVING_MAX_BATCH_ROWS,
      maxWaitMs: e.SLUICE_SERVING_MAX_WAIT_MS,
      shadowMaxPending: e.SLUICE_SERVING_SHADOW_MAX_PENDING,
      log: { flushRows: e.SLUICE_SERVING_LOG_FLUSH_ROWS, flushIntervalMs: e.SLUICE_SERVING_LOG_FLUSH_INTERVAL_MS, bufferRows: e.SLUICE_SERVING_LOG_BUFFER_ROWS, pageCodec: logPageCodec(e.SLUICE_SERVING_LOG_PAGE_CODEC) },
    },
    logHashKey: e.SLUICE_LOG_HASH_KEY,
    dataDir: resolve(cwd, e.SLUICE_DATA_DIR),
    binDir: resolve(cwd, e.SLUICE_BIN_DIR),
    binaries: { temporal: e.SLUICE_TEMPORAL_BIN, minio: e.SLUICE_MINIO_BIN },
    allowDownload: e.SLUICE_ALLOW_DOWNLOAD,
    logLevel: e.SLUICE_LOG_LEVEL,
    workerMetrics: {
      pipeline: e.SLUICE_WORKER_METRICS_ADDRESS === 'off' ? undefined : e.SLUICE_WORKER_METRICS_ADDRESS,
      scoring: e.SLUICE_SCORING_WORKER_METRICS_ADDRESS === 'off' ? undefined : e.SLUICE_SCORING_WORKER_METRICS_ADDRESS,
    },
  };
}

/** Settings that are each valid but wrong together. */
function tlsProblems(e: ConfigEnv): string[] {
  const problems: string[] = [];
  if ((e.SLUICE_TEMPORAL_TLS_CERT === undefined) !== (e.SLUICE_TEMPORAL_TLS_KEY === undefined)) {
    problems.push('SLUICE_TEMPORAL_TLS_CERT and SLUICE_TEMPORAL_TLS_KEY: set both (a client certificate and its key) or neither');
  }
  if (e.SLUICE_TEMPORAL_TLS_CERT !== undefined && e.SLUICE_TEMPORAL_TLS_CERT === e.SLUICE_TEMPORAL_TLS_KEY) {
    problems.push('SLUICE_TEMPORAL_TLS_KEY: names the same file as SLUICE_TEMPORAL_TLS_CERT; the key is a file of its own');
  }
  if (e.SLUICE_MINIO_CA !== undefined && !e.SLUICE_MINIO_ENDPOINT.startsWith('https://')) {
    problems.push(`SLUICE_MINIO_CA: only used with an https endpoint, and SLUICE_MINIO_ENDPOINT is ${e.SLUICE_MINIO_ENDPOINT}`);
  }
  return problems;
}

function temporalTls(e: ConfigEnv, cwd: string): TemporalTls | undefined {
  const file = (path: string | undefined) => (path === undefined ? undefined : resolve(cwd, path));
  const anyFile = e.SLUICE_TEMPORAL_TLS_CA ?? e.SLUICE_TEMPORAL_TLS_CERT ?? e.SLUICE_TEMPORAL_TLS_SERVER_NAME;
  if (!e.SLUICE_TEMPORAL_TLS && anyFile === undefined) return undefined;
  const certFile = file(e.SLUICE_TEMPORAL_TLS_CERT);
  const keyFile = file(e.SLUICE_TEMPORAL_TLS_KEY);
  return {
    caFile: file(e.SLUICE_TEMPORAL_TLS_CA),
    cert: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
    serverName: e.SLUICE_TEMPORAL_TLS_SERVER_NAME,
  };
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function closestKey(name: string): string {
  return CONFIG_KEYS.reduce((best, key) => (editDistance(name, key) < editDistance(name, best) ? key : best));
}

/** Loads the config from the process environment, or prints what is wrong and exits. Entry points only. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}
