import { Client, Connection, ServiceError, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, isGrpcServiceError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import type { Config } from '../shared/config.ts';
import { SluiceError, ruleOf } from '../shared/errors.ts';
import { explainTemporalFailure, temporalClientOptions } from '../control/temporal-connection.ts';

/** Exit codes a script can rely on: 5 means try again once Temporal or the object store is back. */
export const EXIT = { ok: 0, userError: 1, config: 2, notApproved: 3, runFailed: 4, unavailable: 5 } as const;

/** Wrong or missing arguments: printed as it is, exit code 1. */
export class UsageError extends SluiceError {
  override readonly name = 'UsageError';
  readonly kind = 'InvalidInput';
}

/** Temporal or the object store did not answer: exit code 5, with the setting that points at it. */
export class InfrastructureUnavailableError extends SluiceError {
  override readonly name = 'InfrastructureUnavailableError';
  readonly kind = 'InfrastructureUnavailable';
}

/** What a command that needs no Temporal gets: config, the artifact store and registry, and where to write. */
export interface StoreEnv {
  config: Config;
  store: ArtifactStore;
  registry: ModelRegistry;
  write: (line: string) => void;
}

/** What every other command gets besides: a connected Temporal client. */
export interface Env extends StoreEnv {
  connection: Connection;
  client: Client;
  uiRunUrl: (workflowId: string) => string;
  /** On a terminal: redraws one progress line in place (undefined clears it). */
  live?: (line: string | undefined) => void;
}

export type Command = (env: Env, args: string[]) => Promise<number>;
export type StoreCommand = (env: StoreEnv, args: string[]) => Promise<number>;

/** Marks a command that reads or writes only the object store or local files, so it runs with Temporal down. */
export const withoutTemporal = (run: StoreCommand) => ({ withoutTemporal: run });

/** One subcommand (`deploy start`): what it runs, and what `--help` or a usage mistake prints. */
export interface Subcommand {
  run: Command | ReturnType<typeof withoutTemporal>;
  help: string;
}

/** A noun's subcommands, keyed by their full name; the compiler checks each help text has a command and each command a help text. */
export function subcommands<K extends string>(help: Record<K, string>, run: Record<NoInfer<K>, Subcommand['run']>): Record<K, Subcommand> {
  const keys = Object.keys(help) as K[];
  return Object.fromEntries(keys.map((key) => [key, { run: run[key], help: help[key] }])) as Record<K, Subcommand>;
}

/** A positive whole number option, or a UsageError naming the option. */
export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number, got '${value}'`);
  return n;
}

/** The store-side Env, which connects to nothing until a command asks the store. */
export function openStoreEnv(config: Config, write: (line: string) => void): StoreEnv {
  const store = MinioArtifactStore.fromConfig(config.minio);
  return { config, store, registry: new ModelRegistry(store, config.buckets.models), write };
}

/** Connects to Temporal and builds the Env; the caller closes `env.connection`. */
export async function openEnv(config: Config, write: (line: string) => void): Promise<Env> {
  const connection = await Connection.connect({ ...temporalClientOptions(config.temporal), connectTimeout: 5000 }).catch(async (err: unknown) => {
    if (err instanceof SluiceError) throw err;
    throw new InfrastructureUnavailableError(`Cannot reach Temporal at ${config.temporal.address} (SLUICE_TEMPORAL_ADDRESS): ${await explainTemporalFailure(config.temporal, err)}. Is the stack up? Try: npm run infra:up`);
  });
  const [host] = config.temporal.address.split(':');
  return {
    ...openStoreEnv(config, write),
    connection,
    client: new Client({ connection, namespace: config.temporal.namespace }),
    uiRunUrl: (id) => `http://${host}:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(id)}`,
  };
}

/** Socket errors that mean a server is not there (or not answering), as Node and the MinIO client raise them. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);
const GRPC_UNAVAILABLE = 14;

/** Node's codes for a server certificate it cannot trust (an https object store): the endpoint answered, TLS failed. */
const TLS_CODES = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE']);

/** The first error code of `codes` anywhere in `err`'s cause chain. */
function codeIn(err: unknown, codes: ReadonlySet<string>): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && codes.has(code)) return code;
  }
  return undefined;
}

/** An error meaning Temporal or the object store went away mid-command, as the one plain line to print. */
function unavailable(err: unknown, config: Config | undefined): string | undefined {
  const grpc = err instanceof ServiceError ? err.cause : err;
  if (isGrpcServiceError(grpc) && (grpc.code as number) === GRPC_UNAVAILABLE) {
    return `Temporal${config ? ` at ${config.temporal.address} (SLUICE_TEMPORAL_ADDRESS)` : ''} stopped answering: ${grpc.details || grpc.message}. Is the stack up? Try: npm run infra:status`;
  }
  const tls = codeIn(err, TLS_CODES);
  if (tls !== undefined) {
    return `TLS to the object store${config ? ` at ${config.minio.endpoint}` : ''} failed (${tls}: ${(err as Error).message}). Check SLUICE_MINIO_CA: it must name the CA that signed the store's certificate, and the certificate must name the endpoint's host`;
  }
  const code = codeIn(err, UNREACHABLE_CODES);
  if (code === undefined) return undefined;
  return `Cannot reach the object store${config ? ` at ${config.minio.endpoint} (SLUICE_MINIO_ENDPOINT)` : ''}: ${(err as Error).message}. Is the stack up? Try: npm run infra:up`;
}

/**
 * The exit code for an error a command ended with, its one plain line written with `error`: a
 * SluiceError's kind says which code (`exit` in ERROR_KINDS); Temporal's refusals are the user's to
 * fix. Anything else is a bug and is rethrown with its stack.
 */
export function exitCodeFor(err: unknown, error: (line: string) => void, config?: Config): number {
  const plain = plainError(err, config);
  if (plain === undefined) throw err;
  error(plain.message);
  return plain.code;
}

function plainError(err: unknown, config: Config | undefined): { code: number; message: string } | undefined {
  const down = unavailable(err, config);
  if (down !== undefined) return { code: EXIT.unavailable, message: down };
  if (err instanceof SluiceError) {
    const exit = ruleOf(err.kind).exit;
    return exit === undefined ? undefined : { code: EXIT[exit], message: err.message };
  }
  // A run that ended failed (an activity out of retries, a timeout): exit 4 with its causes in a line, not a stack.
  if (err instanceof WorkflowFailedError) return { code: EXIT.runFailed, message: `The run failed: ${failureCauses(err.cause)}. Its history in the Temporal UI has the details.` };
  const user = (message: string) => ({ code: EXIT.userError, message });
  // Typed failures raised before anything is started (e.g. a dataset source that does not exist).
  if (err instanceof ApplicationFailure && err.type) return user(err.message);
  if (err instanceof WorkflowNotFoundError) return user(`No workflow run with id '${err.workflowId}'. List runs with: sluice pipeline list`);
  if (err instanceof WorkflowUpdateFailedError) return user(`Refused: ${err.cause instanceof Error ? err.cause.message : err.message}`);
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) return user(err.message);
  return undefined;
}

/** A failure's chain of causes in one line, e.g. `activity trainCandidate: Activity task timed out: activity Heartbeat timeout`. */
export function failureCauses(failure: Error | undefined): string {
  const parts: string[] = [];
  for (let f: unknown = failure; f instanceof Error; f = f.cause) {
    if (f instanceof ActivityFailure && f.activityType) parts.push(`activity ${f.activityType}`);
    if (f.message && parts.at(-1) !== f.message) parts.push(f.message);
  }
  return parts.join(': ') || 'no cause recorded';
}
