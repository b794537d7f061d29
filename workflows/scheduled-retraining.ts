import { type ActivityOptions, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { MonitoringActivities } from '../activities/monitoring/monitoring-activities.ts';
import { NON_RETRYABLE_FAILURE_TYPES as NON_RETRYABLE } from '../shared/failure.ts';
import { parseInput } from '../shared/parse-input.ts';
import { type RetrainingOutcome, scheduledRetrainingInputSchema } from '../shared/retraining.ts';

/** Starting a pipeline hashes the dataset source first, which takes a while for a large file. */
const startIo = {
  startToCloseTimeout: '15 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const { retrainOnSchedule } = proxyActivities<MonitoringActivities>(startIo);

/**
 * One firing of a model's retraining Schedule (`upsertRetrainingSchedule`): starts a training pipeline
 * on the newest data with the schedule's spec and returns at once, so the schedule's next firing is
 * not held up by a days-long approval. The pipeline's run id is derived from (model, data, spec): on
 * unchanged data the firing attaches to the run that already trained on it instead of training again.
 */
export async function scheduledRetraining(raw: unknown): Promise<RetrainingOutcome> {
  const input = parseInput(scheduledRetrainingInputSchema, raw, () => 'Invalid scheduled retraining input');
  setCurrentDetails(`Retraining ${input.model} for schedule ${input.scheduleId}`);
  return retrainOnSchedule(input);
}
