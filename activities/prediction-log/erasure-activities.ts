import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../shared/config.ts';
import { asFailure } from '../../shared/failure.ts';
import { parseInput } from '../../shared/parse-input.ts';
import {
  type ErasureRecord,
  type FeedbackErasure,
  type LogErasure,
  eraseFeedbackInputSchema,
  eraseLogHoursInputSchema,
  erasureRecordSchema,
  writeErasureRecordInputSchema,
} from '../../shared/prediction-log-erasure.ts';
import { erasureKeys } from '../../shared/storage-keys.ts';
import { openDuckDb } from '../../domain/duckdb/duckdb-session.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { eraseFeedback } from '../../domain/prediction-log/erase-feedback.ts';
import { eraseLogHours } from '../../domain/prediction-log/erase-rows.ts';
import { startProgress } from '../heartbeat.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Erasure of a subject's rows from the prediction log and feedback (see shared/prediction-log-erasure.ts). */
export const createErasureActivities = (deps: { store: ArtifactStore; buckets: Config['buckets'] }) => {
  const { store, buckets } = deps;
  return {
    /** One pass over the closed hours in (after, through]: compacts each, then rewrites its compacted files without the rows. */
    async eraseLogHours(raw: unknown): Promise<LogErasure> {
      const input = parseInput(eraseLogHoursInputSchema, raw, () => 'Invalid erasure input');
      using progress = startProgress('eraseLogHours');
      const dir = await mkdtemp(join(tmpdir(), 'sluice-erasure-'));
      try {
        using session = await openDuckDb({ tempDirectory: dir });
        return await eraseLogHours({ store, bucket: buckets.predictions, db: session.db, dir, progress: (detail) => progress.report(detail) }, input);
      } catch (err) {
        throw asFailure(err);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    /** Removes the labels of the erased requests from every feedback file. */
    async eraseFeedback(raw: unknown): Promise<FeedbackErasure> {
      const input = parseInput(eraseFeedbackInputSchema, raw, () => 'Invalid feedback erasure input');
      using progress = startProgress('eraseFeedback');
      try {
        return await eraseFeedback({ store, bucket: buckets.predictions, progress: (detail) => progress.report(detail) }, input);
      } catch (err) {
        throw asFailure(err);
      }
    },

    /** Writes the erasure's record to the reports bucket, the identifiers asked for as SHA-256 digests only; the same key on a retry. */
    async writeErasureRecord(raw: unknown): Promise<ErasureRecord> {
      const input = parseInput(writeErasureRecordInputSchema, raw, () => 'Invalid erasure record');
      const { match, ...rest } = input;
      const record = erasureRecordSchema.parse({
        kind: 'sluice.erasure',
        ...rest,
        completedAt: new Date().toISOString(),
        match: { requestIdSha256: match.requestIds.map(sha256), routingKeySha256: match.routingKeys.map(sha256) },
      });
      await store.put(buckets.reports, erasureKeys.record(input.model, input.erasureId), JSON.stringify(record, null, 2), { contentType: 'application/json' });
      return record;
    },
  };
};

export type ErasureActivities = ReturnType<typeof createErasureActivities>;
