import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../shared/config.ts';
import { durationMs } from '../../shared/duration.ts';
import { asFailure } from '../../shared/failure.ts';
import { parseInput } from '../../shared/parse-input.ts';
import { compactModelLogInputSchema, type ModelCompaction } from '../../shared/prediction-log-compaction.ts';
import { openDuckDb } from '../../domain/duckdb/duckdb-session.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { compactModelLog } from '../../domain/prediction-log/compact-log.ts';
import { ModelRegistry } from '../../domain/registry/model-registry.ts';
import { startProgress } from '../heartbeat.ts';

/** The prediction log's upkeep: compaction of closed hours into one zstd Parquet file per version. */
export const createPredictionLogActivities = (deps: { store: ArtifactStore; buckets: Config['buckets'] }) => {
  const { store, buckets } = deps;
  const registry = new ModelRegistry(store, buckets.models);
  return {
    /** The models whose logs are compacted: every registered one (the API serves nothing else). */
    async predictionLogModels(): Promise<string[]> {
      return registry.models();
    },

    /** Compacts one model's closed hours not visited yet (see domain/prediction-log/compact-log.ts). */
    async compactModelLog(raw: unknown): Promise<ModelCompaction> {
      const input = parseInput(compactModelLogInputSchema, raw, () => 'Invalid prediction log compaction input');
      using progress = startProgress('compactModelLog');
      const dir = await mkdtemp(join(tmpdir(), 'sluice-compaction-'));
      try {
        using session = await openDuckDb({ tempDirectory: dir });
        return await compactModelLog(
          { store, bucket: buckets.predictions, db: session.db, dir, progress: (detail) => progress.report(detail) },
          { model: input.model, nowMs: Date.now(), closedAfterMs: durationMs(input.closedAfter) },
        );
      } catch (err) {
        throw asFailure(err);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
};

export type PredictionLogActivities = ReturnType<typeof createPredictionLogActivities>;
