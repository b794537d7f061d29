import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ScheduleRequestError } from '../control/monitor-schedule.ts';
import { RecordedSpecUnavailableError } from '../control/request-retraining.ts';
import { PipelineSpecError, RetrainingRequestError } from '../domain/retraining/start-retraining.ts';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { ModelNotFoundError, ModelRegistry } from '../domain/registry/model-registry.ts';
import type { Config } from '../shared/config.ts';
import { SpecFileError } from './load-spec.ts';

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, userError: 1, config: 2, notApproved: 3, runFailed: 4 } as const;

/** Wrong or missing arguments: printed as it is, exit code 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
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

/** The one line an expected error prints (the command then exits with EXIT.userError); undefined for a bug, which is rethrown. */
export function plainError(err: unknown): string | undefined {
  if (
    err instanceof UsageError ||
    err instanceof SpecFileError ||
    err instanceof PipelineSpecError ||
    err instanceof ModelNotFoundError ||
    err instanceof RetrainingRequestError ||
    err instanceof RecordedSpecUnavailableError ||
    err instanceof ScheduleRequestError
  ) {
    return err.message;
  }
  // Typed failures raised before anything is started (e.g. a dataset source that does not exist).
  if (err instanceof ApplicationFailure && err.type) return err.message;
  if (err instanceof WorkflowNotFoundError) return `No workflow run with id '${err.workflowId}'. List runs with: sluice pipeline list`;
  if (err instanceof WorkflowUpdateFailedError) return `Refused: ${err.cause instanceof Error ? err.cause.message : err.message}`;
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) return err.message;
  return undefined;
}
