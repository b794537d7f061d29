import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import type { Config } from '../shared/config.ts';
import { SluiceError, ruleOf } from '../shared/errors.ts';

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, userError: 1, config: 2, notApproved: 3, runFailed: 4 } as const;

/** Wrong or missing arguments: printed as it is, exit code 1. */
export class UsageError extends SluiceError {
  override readonly name = 'UsageError';
  readonly kind = 'InvalidInput';
}

/** What every command gets: config, a connected client, the artifact store and registry, and where to write. */
export interface Env {
  config: Config;
  connection: Connection;
  client: Client;
  store: ArtifactStore;
  registry: ModelRegistry;
  write: (line: string) => void;
  uiRunUrl: (workflowId: string) => string;
}

export type Command = (env: Env, args: string[]) => Promise<number>;

/** One subcommand (`deploy start`): what it runs, and what `--help` or a usage mistake prints. */
export interface Subcommand {
  run: Command;
  help: string;
}

/** A noun's subcommands, keyed by their full name; the compiler checks each help text has a command and each command a help text. */
export function subcommands<K extends string>(help: Record<K, string>, run: Record<NoInfer<K>, Command>): Record<K, Subcommand> {
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

/** Connects to Temporal and builds the Env; the caller closes `env.connection`. */
export async function openEnv(config: Config, write: (line: string) => void): Promise<Env> {
  const store = MinioArtifactStore.fromConfig(config.minio);
  const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 5000 }).catch((err: unknown) => {
    throw new UsageError(`Cannot reach Temporal at ${config.temporal.address} (SLUICE_TEMPORAL_ADDRESS): ${(err as Error).message}. Is the stack up? Try: npm run infra:up`);
  });
  const [host] = config.temporal.address.split(':');
  return {
    config,
    connection,
    client: new Client({ connection, namespace: config.temporal.namespace }),
    store,
    registry: new ModelRegistry(store, config.buckets.models),
    write,
    uiRunUrl: (id) => `http://${host}:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(id)}`,
  };
}

/**
 * The exit code for an error a command ended with, its one plain line written with `error`: a
 * SluiceError's kind says which code (`exit` in ERROR_KINDS); Temporal's refusals are the user's to
 * fix. Anything else is a bug and is rethrown with its stack.
 */
export function exitCodeFor(err: unknown, error: (line: string) => void): number {
  const plain = plainError(err);
  if (plain === undefined) throw err;
  error(plain.message);
  return plain.code;
}

function plainError(err: unknown): { code: number; message: string } | undefined {
  if (err instanceof SluiceError) {
    const exit = ruleOf(err.kind).exit;
    return exit === undefined ? undefined : { code: EXIT[exit], message: err.message };
  }
  const user = (message: string) => ({ code: EXIT.userError, message });
  // Typed failures raised before anything is started (e.g. a dataset source that does not exist).
  if (err instanceof ApplicationFailure && err.type) return user(err.message);
  if (err instanceof WorkflowNotFoundError) return user(`No workflow run with id '${err.workflowId}'. List runs with: sluice pipeline list`);
  if (err instanceof WorkflowUpdateFailedError) return user(`Refused: ${err.cause instanceof Error ? err.cause.message : err.message}`);
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) return user(err.message);
  return undefined;
}
