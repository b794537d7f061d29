import type { ExecutionProvider } from '../../shared/config.ts';
import type { ProviderFailure } from './onnx-session.ts';

/**
 * Messages between the main thread and the scoring thread. In: `create` (model bytes, providers to
 * try in order), `run` (one micro-batch), `release`. Out: one answer per `create` and `run`, by `seq`.
 */

/** Joins a run's categorical values into one string for posting (none of them may contain it). */
export const SEPARATOR = '\u0000';

export type ScoringRequest =
  | { type: 'create'; seq: number; session: number; model: Uint8Array; providers: ExecutionProvider[]; intraOpThreads: number }
  | { type: 'run'; seq: number; session: number; rows: number; kNum: number; kCat: number; numeric: Float32Array | undefined; categorical: string | string[] | undefined }
  | { type: 'release'; session: number };

export type ScoringResponse =
  | { seq: number; provider: ExecutionProvider; failures: ProviderFailure[] }
  | { seq: number; failures: ProviderFailure[]; error: string }
  | { seq: number; scores: Float32Array }
  | { seq: number; error: string };

