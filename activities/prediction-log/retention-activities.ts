import type { Config } from '../../shared/config.ts';
import { asFailure } from '../../shared/failure.ts';
import { parseInput } from '../../shared/parse-input.ts';
import { type RetentionOutcome, expireModelDataInputSchema } from '../../shared/prediction-log-retention.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { expireModelData } from '../../domain/prediction-log/retention.ts';
import { startProgress } from '../heartbeat.ts';

/** Retention of the prediction log and feedback (see shared/prediction-log-retention.ts). */
export const createRetentionActivities = (deps: { store: ArtifactStore; buckets: Config['buckets'] }) => {
  const { store, buckets } = deps;
  return {
    /** Deletes the model's expired, compacted log hours, expired failure files and its expired feedback labels. */
    async expireModelData(raw: unknown): Promise<RetentionOutcome> {
      const input = parseInput(expireModelDataInputSchema, raw, () => 'Invalid retention input');
      using progress = startProgress('expireModelData');
      try {
        return await expireModelData({ store, bucket: buckets.predictions, progress: (detail) => progress.report(detail) }, { ...input, nowMs: Date.now() });
      } catch (err) {
        throw asFailure(err);
      }
    },
  };
};

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
