import type { Client, Connection } from '@temporalio/client';
import type { ModelRegistry } from '../domain/registry/model-registry.ts';
import type { Config } from '../shared/config.ts';
import { SluiceError } from '../shared/errors.ts';

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, userError: 1, config: 2, notApproved: 3, runFailed: 4 } as const;

/** Wrong or missing arguments: printed as it is, exit code 1. */
export class UsageError extends SluiceError {
  override readonly name = 'UsageError';
  readonly kind = 'InvalidInput';
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
