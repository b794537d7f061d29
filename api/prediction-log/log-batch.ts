import type { PredictionRoute } from '../../shared/api/prediction-log.ts';
import type { FeatureRows } from '../scoring/micro-batcher.ts';

/** What one request (or one shadow scoring) adds to the prediction log: one row per event. */
export interface PredictionLogEntry {
  requestId: string;
  routingKey: string | undefined;
  /** Epoch ms when the request arrived. */
  at: number;
  route: PredictionRoute;
  latencyMs: number;
  features: FeatureRows;
  /** The entry's own copy: a view into a micro-batch's output would drag the whole batch along. */
  scores: Float32Array;
}

/** The rows of one model version in one UTC hour: one Parquet file. Crosses to the writer thread by structured clone. */
export interface PredictionLogBatch {
  model: string;
  version: number;
  hour: string;
  threshold: number;
  featureNames: { numeric: readonly string[]; categorical: readonly string[] };
  entries: PredictionLogEntry[];
  rows: number;
  /** Epoch ms of the first entry, for flushing by age. */
  since: number;
  /** Set when the batch is first flushed, so a retried upload overwrites the same object. */
  fileId?: string;
}
