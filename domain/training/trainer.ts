import type { OnnxMetadata } from '../../shared/trainers.ts';
import type { FeatureMatrix } from './feature-matrix.ts';
import { SluiceError } from '../../shared/errors.ts';

/**
 * What every trainer offers the training activity. A trainer is pure computation over in-memory
 * matrices; the activity around it loads data, heartbeats from `onProgress`, stores checkpoints and
 * writes the exported model.
 */

export interface TrainingProgress {
  /** 1-based: the number of trees (GBDT) or optimiser steps (LR) done. */
  iteration: number;
  /** Mean log loss on training rows (GBDT: on at most 200k evenly spaced rows, to stay cheap). */
  trainLoss: number;
  /** Mean log loss on all validation rows. */
  validationLoss: number;
}

export interface TrainingCheckpoint {
  /** Save after every `every` iterations. */
  every: number;
  /** The state is JSON-serialisable and is only meaningful to the trainer that produced it. */
  save(state: unknown): Promise<void>;
  /** A state previously given to `save`, to continue from instead of starting over. */
  resumeFrom?: unknown;
}

export interface TrainingContext {
  seed: number;
  /** Called once per iteration; trainers yield to the event loop around it so heartbeats get out. */
  onProgress?(progress: TrainingProgress): void | Promise<void>;
  checkpoint?: TrainingCheckpoint;
}

export interface TrainingData {
  train: FeatureMatrix;
  validation: FeatureMatrix;
}

export interface TrainedModel {
  kind: string;
  /** P(label = 1) per row, computed in the same float32 arithmetic as the exported graph. */
  predict(matrix: FeatureMatrix): Float64Array;
  /** A self-contained ONNX model following the contract in `onnx/sluice-graph.ts`. */
  toOnnx(metadata: OnnxMetadata): Uint8Array;
  /** Facts about the fit worth recording in the manifest: iterations, best iteration, losses... */
  summary: Record<string, unknown>;
}

export interface Trainer<P, M extends TrainedModel = TrainedModel> {
  kind: string;
  train(data: TrainingData, params: P, ctx: TrainingContext): Promise<M>;
}

/** Lets a Temporal activity's heartbeat (and cancellation) run between iterations. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The data cannot be trained on (no rows, one class only...): retrying will not help. */
export class TrainingDataError extends SluiceError {
  override readonly name = 'TrainingDataError';
  readonly kind = 'TrainingDataInvalid';
}
