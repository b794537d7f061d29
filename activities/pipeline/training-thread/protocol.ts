import type { ErrorKind } from '../../../shared/errors.ts';
import type { ModelDiagnostics } from '../../../shared/model-diagnostics.ts';
import type { TrainerSpec } from '../../../shared/trainers.ts';
import type { FeatureTables } from '../contract.ts';
import type { SplitFiles } from '../stage-tables.ts';

/** What the training thread fits: a built-in trainer on splits already staged to local files. */
export interface CandidateFitJob {
  trainer: TrainerSpec;
  seed: number;
  modelName: string;
  runId: string;
  tables: FeatureTables;
  files: SplitFiles;
  /** A checkpoint an earlier attempt saved, to continue from. */
  resumeFrom?: unknown;
  checkpointEvery: number;
}

/** The fitted candidate: everything the activity returns except where it stored the ONNX file. */
export interface CandidateFit {
  onnx: Uint8Array;
  onnxSha256: string;
  parityMaxAbsDiff: number;
  trainSeconds: number;
  summary: Record<string, unknown>;
  diagnostics?: ModelDiagnostics;
}

/** An error as it crosses the thread boundary: a SluiceError keeps its kind, so it becomes the same typed failure. */
export interface ThreadError {
  name: string;
  message: string;
  kind?: ErrorKind;
  details?: unknown;
}

export type ToTrainingThread = { type: 'fit'; job: CandidateFitJob } | { type: 'checkpoint-saved'; seq: number } | { type: 'checkpoint-failed'; seq: number; message: string };

export type FromTrainingThread =
  | { type: 'progress'; details: Record<string, unknown> }
  | { type: 'checkpoint'; seq: number; state: unknown }
  | { type: 'fitted'; fit: CandidateFit }
  | { type: 'failed'; error: ThreadError };
