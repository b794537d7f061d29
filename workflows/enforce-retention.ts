import { type ActivityOptions, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { PredictionLogActivities } from '../activities/prediction-log/prediction-log-activities.ts';
import type { RetentionActivities } from '../activities/prediction-log/retention-activities.ts';
import { NON_RETRYABLE_FAILURE_TYPES as NON_RETRYABLE } from '../shared/failure.ts';
import { parseInput } from '../shared/parse-input.ts';
import type { ModelCompaction } from '../shared/prediction-log-compaction.ts';
import { type RetentionOutcome, enforceRetentionInputSchema } from '../shared/prediction-log-retention.ts';

/** As the compaction's: a model's first run may list and compact its whole log. */
const longIo = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const { compactModelLog } = proxyActivities<PredictionLogActivities>(longIo);
const { expireModelData } = proxyActivities<RetentionActivities>(longIo);

export interface EnforceRetentionResult {
  compaction: ModelCompaction;
  retention: RetentionOutcome;
}

/**
 * One firing of a model's retention Schedule (`upsertRetentionSchedule`): compacts the model's closed
 * hours not compacted yet, so every expired hour can be deleted whole, then deletes the expired hours
 * of its prediction log and its expired feedback labels (see shared/prediction-log-retention.ts).
 */
export async function enforceRetention(raw: unknown): Promise<EnforceRetentionResult> {
  const input = parseInput(enforceRetentionInputSchema, raw, () => 'Invalid retention input');
  setCurrentDetails(`Compacting ${input.model}'s closed hours before deleting expired ones`);
  const compaction = await compactModelLog({ model: input.model, closedAfter: input.closedAfter });
  setCurrentDetails(`Deleting ${input.model}'s prediction log older than ${input.retention.predictionLog} and feedback older than ${input.retention.feedback}`);
  const retention = await expireModelData({ model: input.model, retention: input.retention });
  setCurrentDetails(
    `Deleted ${retention.predictionLog.hoursDeleted.length} hours of ${input.model}'s prediction log (${retention.predictionLog.awaitingCompaction.length} expired hours await compaction) and ${retention.feedback.labelsDeleted} feedback labels`,
  );
  return { compaction, retention };
}
