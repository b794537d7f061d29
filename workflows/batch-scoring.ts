import { type ActivityOptions, defineQuery, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ScoringActivities } from '../activities/scoring/scoring-activities.ts';
import { type BatchScoringResult, type ChunkResult, batchScoringInputSchema, batchScoringKeys } from '../shared/batch-scoring.ts';
import { NON_RETRYABLE_FAILURE_TYPES as NON_RETRYABLE } from '../shared/failure.ts';
import { parseInput } from '../shared/parse-input.ts';

// Chunks heartbeat from a timer every third of this, whatever the scoring holds: a chunk on a dead worker is retried within 20 s.
const chunkScoring = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const shortIo = {
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

/**
 * Scores a Parquet dataset with a registered model version: the input is split into chunks, each a
 * `scoreChunk` activity on the scoring task queue (at most `concurrency` at once) writing its own
 * part, so a retried chunk rewrites only its part and a re-run skips finished ones; a manifest is
 * written last. Raw events (`inputKind: 'events'`) get their features computed first, by the same
 * shared definitions and online snapshot the API scores with. Every output row carries `score`, the columns of the model's label kind (regression
 * `value`; multiclass `class` and `probabilities`), `model` and `model_version`.
 */
export interface BatchScoringProgress {
  stage: 'featurizing' | 'planning' | 'scoring' | 'done';
  chunksDone: number;
  /** Known once the input is planned. */
  chunks?: number;
  rows?: number;
}
export const batchScoringProgressQuery = defineQuery<BatchScoringProgress>('progress');

export async function batchScoring(raw: unknown): Promise<BatchScoringResult & { chunks: ChunkResult[] }> {
  const input = parseInput(batchScoringInputSchema, raw, () => 'Invalid batch scoring input');
  const progress: BatchScoringProgress = { stage: input.inputKind === 'events' ? 'featurizing' : 'planning', chunksDone: 0 };
  setHandler(batchScoringProgressQuery, () => progress);
  const output = input.output ?? { bucket: '', prefix: batchScoringKeys.prefix(input.jobId) };
  const { taskQueue } = workflowInfo();
  const io = proxyActivities<ScoringActivities>({ ...shortIo, taskQueue });
  const scoring = proxyActivities<ScoringActivities>({ ...chunkScoring, taskQueue });

  // Raw events first get their features, written beside the parts (so the output bucket is needed first).
  let bucket = input.inputKind === 'events' ? output.bucket || (await io.defaultOutputBucket()) : undefined;
  const featurized = bucket !== undefined ? await scoring.featurizeBatchInput({ model: input.model, version: input.version, input: input.input, output: { bucket, prefix: output.prefix } }) : undefined;
  if (featurized) setCurrentDetails(`Computed the features of ${featurized.rows} events from online snapshot ${featurized.snapshotKey ?? '(none: no windowed aggregates)'}`);
  const scored = featurized?.input ?? input.input;
  progress.stage = 'planning';
  const plan = await io.planBatchScoring({ input: scored, chunkRows: input.chunkRows });
  Object.assign(progress, { stage: 'scoring', chunks: plan.chunks.length, rows: plan.rows });
  bucket ??= output.bucket || (await io.defaultOutputBucket());
  const results: ChunkResult[] = [];
  let next = 0;
  const lane = async () => {
    while (next < plan.chunks.length) {
      const chunk = plan.chunks[next++];
      if (!chunk) return;
      results.push(await scoring.scoreChunk({ model: input.model, version: input.version, input: scored, output: { bucket, prefix: output.prefix }, chunk }));
      progress.chunksDone = results.length;
      setCurrentDetails(`Scored ${results.length} of ${plan.chunks.length} chunks (${plan.rows} rows)`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, plan.chunks.length) }, lane));
  results.sort((a, b) => a.index - b.index);

  const result = {
    jobId: input.jobId,
    model: input.model,
    version: input.version,
    rows: results.reduce((n, r) => n + r.rows, 0),
    output: { bucket, prefix: output.prefix, keys: results.map((r) => r.key) },
    providers: [...new Set(results.filter((r) => !r.skipped).map((r) => r.provider))],
    ...(featurized ? { featurized: { key: featurized.input.key, rows: featurized.rows, snapshotKey: featurized.snapshotKey, asOf: featurized.asOf } } : {}),
  };
  const manifestKey = await io.writeBatchManifest(result);
  progress.stage = 'done';
  return { ...result, manifestKey, chunks: results };
}
