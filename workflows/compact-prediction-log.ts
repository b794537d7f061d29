import { type ActivityOptions, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { PredictionLogActivities } from '../activities/prediction-log/prediction-log-activities.ts';
import { NON_RETRYABLE_FAILURE_TYPES as NON_RETRYABLE } from '../shared/failure.ts';
import { parseInput } from '../shared/parse-input.ts';
import { compactPredictionLogInputSchema, type ModelCompaction } from '../shared/prediction-log-compaction.ts';

/** A model's first run lists and compacts its whole log; later runs an hour or two. */
const compactionIo = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const shortIo = {
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const { compactModelLog } = proxyActivities<PredictionLogActivities>(compactionIo);
const { predictionLogModels } = proxyActivities<PredictionLogActivities>(shortIo);

export interface CompactPredictionLogResult {
  models: ModelCompaction[];
  /** Version-hours given a new compacted file, and small files deleted, over all models. */
  compacted: number;
  removed: number;
}

/**
 * One firing of the hourly compaction Schedule (`upsertCompactionSchedule`): every model's closed
 * hours not compacted yet, one model at a time, each version's small files of an hour merged into one
 * zstd Parquet file. Safe to run again or beside a retry: a run redoes nothing already done.
 */
export async function compactPredictionLog(raw: unknown): Promise<CompactPredictionLogResult> {
  const input = parseInput(compactPredictionLogInputSchema, raw ?? {}, () => 'Invalid prediction log compaction input');
  const models = input.models ?? (await predictionLogModels());
  const results: ModelCompaction[] = [];
  for (const [i, model] of models.entries()) {
    setCurrentDetails(`Compacting the prediction log of ${model} (${i + 1} of ${models.length})`);
    results.push(await compactModelLog({ model, closedAfter: input.closedAfter }));
  }
  const changed = results.flatMap((r) => r.changed);
  const result = { models: results, compacted: changed.filter((c) => c.outcome === 'compacted').length, removed: changed.reduce((s, c) => s + c.removed, 0) };
  setCurrentDetails(`Compacted ${result.compacted} version-hours of ${models.length} models; ${result.removed} small files deleted`);
  return result;
}
