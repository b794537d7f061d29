import { type Client, type Connection, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ModelRegistry } from '../domain/registry/model-registry.ts';
import type { Config } from '../shared/config.ts';
import { SluiceError, ruleOf } from '../shared/errors.ts';

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, userError: 1, config: 2, notApproved: 3, runFailed: 4 } as const;

/** Wrong or missing arguments: printed as it is, exit code 1. */
export class UsageError extends SluiceError {
  override readonly name = 'UsageError';
  readonly kind = 'InvalidInput';
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

/** What every command gets: config, a connected client, the registry, and where to write. */
export interface Env {
  config: Config;
  connection: Connection;
  client: Client;
  registry: ModelRegistry;
  write: (line: string) => void;
  uiRunUrl: (workflowId: string) => string;
}

export type Command = (env: Env, args: string[]) => Promise<number>;

/** A positive whole number option, or a UsageError naming the option. */
export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number, got '${value}'`);
  return n;
}
