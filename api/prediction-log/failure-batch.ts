import type { PredictionRoute } from '../../shared/api/prediction-log.ts';

/** A request that failed after a version was chosen for it: the model's failure, not the caller's. */
export interface PredictionFailureEntry {
  requestId: string;
  routingKey: string | undefined;
  /** Epoch ms when the request arrived. */
  at: number;
  route: PredictionRoute;
  /** Events the request held: the error rate is counted in events, like the served log's rows. */
  events: number;
  /** The API error code the caller got (Internal, Timeout...). */
  error: string;
  latencyMs: number;
}

/**
 * The failures of one model version in one UTC hour, as they cross to the writer thread. Failures
 * are rare next to served predictions, so plain arrays (cloned, not transferred) are cheap enough.
 */
export interface PredictionFailureBatch {
  model: string;
  version: number;
  hour: string;
  since: number;
  failures: PredictionFailureEntry[];
}
