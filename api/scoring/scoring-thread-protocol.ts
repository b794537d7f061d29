import type { ExecutionProvider } from '../../shared/config.ts';
import type { ProviderFailure } from '../../domain/scoring/execution-providers.ts';

/**
 * Messages between the main thread and the scoring thread. In: `create` (model bytes, providers to
 * try in order, the graph output its runs read), `run` (one micro-batch), `release`. Out: one answer
 * per `create` (with the graph's output names) and `run` (the output, row-major), by `id`.
 */

/** Joins a run's categorical values into one string for posting (none of them may contain it). */
export const SEPARATOR = '\u0000';

export type ScoringRequest =
  | { type: 'create'; id: number; session: number; model: Uint8Array; providers: ExecutionProvider[]; intraOpThreads: number; output: string }
  | { type: 'run'; id: number; session: number; rows: number; kNum: number; kCat: number; numeric: Float32Array | undefined; categorical: string | string[] | undefined }
  | { type: 'release'; session: number };

export type ScoringResponse =
  | { id: number; provider: ExecutionProvider; failures: ProviderFailure[]; outputNames: readonly string[] }
  | { id: number; failures: ProviderFailure[]; error: string }
  | { id: number; scores: Float32Array }
  | { id: number; error: string };

