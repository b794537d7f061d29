import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { InferenceSession } from 'onnxruntime-node';
import { type BatchScoringResult, type Chunk, type ChunkResult, type ObjectRef, batchScoringKeys, planChunks } from '../../shared/batch-scoring.ts';
import type { Config, ExecutionProvider } from '../../shared/config.ts';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import { openDuckDb } from '../../domain/duckdb/duckdb-session.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { ModelRegistry } from '../../domain/registry/model-registry.ts';
import { asFailure } from '../../shared/failure.ts';
import type { ExecutionProviders } from '../../domain/scoring/execution-providers.ts';
import { parquetRows, scoreParquetRange } from '../../domain/scoring/score-parquet.ts';
import { featurizeEvents } from '../../domain/scoring/featurize-events.ts';
import { loadOnlineDefinition } from '../../domain/features/online-definition.ts';
import { startProgress } from '../heartbeat.ts';

/** The worker's execution providers, over sessions on its own thread. */
export type ScoringSessions = ExecutionProviders<InferenceSession>;

export interface ScoringDeps {
  store: ArtifactStore;
  buckets: Config['buckets'];
  sessions: ScoringSessions;
  /** Where staged inputs are cached for the worker's lifetime; a temp dir by default. */
  workDir?: string;
}

/**
 * Activities of the scoring task queue. A worker keeps one ONNX session per model version and one
 * staged copy per input object, so the chunks of a job that land on it download and load once.
 */
export const createScoringActivities = (deps: ScoringDeps) => {
  const { store, buckets } = deps;
  const registry = new ModelRegistry(store, buckets.models);
  const sessions = new Map<string, Promise<{ session: InferenceSession; provider: ExecutionProvider; numeric: string[]; categorical: string[]; task: LabelTask }>>();
  const staged = new Map<string, Promise<string>>();
  let workDir: Promise<string> | undefined;
  const dir = () => (workDir ??= deps.workDir ? mkdir(deps.workDir, { recursive: true }).then(() => deps.workDir as string) : mkdtemp(join(tmpdir(), 'sluice-scoring-')));

  const stage = (ref: ObjectRef) => {
    const id = `${ref.bucket}/${ref.key}`;
    let found = staged.get(id);
    if (!found) {
      found = (async () => {
        const path = join(await dir(), `input-${staged.size}-${Buffer.from(id).toString('base64url').slice(0, 80)}.parquet`);
        if (!existsSync(path)) await store.getFile(ref.bucket, ref.key, path);
        return path;
      })();
      found.catch(() => staged.delete(id));
      staged.set(id, found);
    }
    return found;
  };

  const model = (name: string, version: number) => {
    const id = `${name}@${version}`;
    let found = sessions.get(id);
    if (!found) {
      found = (async () => {
        const manifest = await registry.manifest(name, version);
        const choice = await deps.sessions.createSession(await registry.onnx(name, version), `model ${name} v${version}`);
        deps.sessions.track(choice.provider, 1);
        return { ...choice, numeric: manifest.featureNames.numeric, categorical: manifest.featureNames.categorical, task: manifest.task };
      })();
      found.catch(() => sessions.delete(id));
      sessions.set(id, found);
    }
    return found.catch((err: unknown) => {
      throw asFailure(err);
    });
  };

  return {
    /** Rows of the input and the chunks that cover them. */
    async planBatchScoring(input: { input: ObjectRef; chunkRows: number }): Promise<{ rows: number; chunks: Chunk[] }> {
      const path = await stage(input.input);
      using session = await openDuckDb({ tempDirectory: await dir() });
      const rows = await parquetRows(session.db, path);
      return { rows, chunks: planChunks(rows, input.chunkRows) };
    },

    /** Scores one chunk into its own part; a part that already exists is left as it is. */
    async scoreChunk(input: { model: string; version: number; input: ObjectRef; output: { bucket: string; prefix: string }; chunk: Chunk }): Promise<ChunkResult> {
      const started = performance.now();
      const key = batchScoringKeys.part(input.output.prefix, input.chunk.index);
      const { session, provider, numeric, categorical, task } = await model(input.model, input.version);
      const existing = await store.stat(input.output.bucket, key);
      if (existing) return { index: input.chunk.index, key, rows: input.chunk.rows, skipped: true, provider, seconds: 0 };
      using progress = startProgress('scoreChunk');
      progress.report({ chunk: input.chunk.index, stage: 'staging' });
      const work = await mkdtemp(join(await dir(), 'chunk-'));
      try {
        const inputPath = await stage(input.input);
        const outputPath = join(work, 'part.parquet');
        using db = await openDuckDb({ tempDirectory: work });
        const rows = await scoreParquetRange(db.db, session, { inputPath, outputPath, offset: input.chunk.offset, rows: input.chunk.rows, numeric, categorical, model: input.model, version: input.version, task });
        await store.putFile(input.output.bucket, key, outputPath, { contentType: 'application/vnd.apache.parquet', metadata: { model: input.model, 'model-version': String(input.version), provider } });
        return { index: input.chunk.index, key, rows, skipped: false, provider, seconds: (performance.now() - started) / 1000 };
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },

    /**
     * Raw events to the model's feature columns, written beside the job's parts: the features each
     * event would get from the API now (the newest online snapshot of the model's feature spec). A
     * job re-run finds them written and reuses them, as it does its parts.
     */
    async featurizeBatchInput(input: { model: string; version: number; input: ObjectRef; output: { bucket: string; prefix: string } }): Promise<{ input: ObjectRef; rows: number; snapshotKey: string | null; asOf: string }> {
      const key = batchScoringKeys.features(input.output.prefix);
      const output = { bucket: input.output.bucket, key };
      // A re-run reuses the features written before, and what they were read from (their metadata), without loading the snapshot again.
      const existing = await store.stat(output.bucket, key);
      if (existing) {
        using session = await openDuckDb({ tempDirectory: await dir() });
        const rows = await parquetRows(session.db, await stage(output));
        return { input: output, rows, snapshotKey: existing.metadata['snapshot-key'] || null, asOf: existing.metadata['as-of'] ?? '' };
      }
      const manifest = await registry.manifest(input.model, input.version);
      const definition = await loadOnlineDefinition(store, buckets, manifest).catch((err: unknown) => {
        throw asFailure(err);
      });
      const described = { snapshotKey: definition.snapshot?.key ?? null, asOf: new Date(definition.store.asOf).toISOString() };
      using progress = startProgress('featurizeBatchInput');
      const work = await mkdtemp(join(await dir(), 'featurize-'));
      try {
        const outputPath = join(work, 'features.parquet');
        using session = await openDuckDb({ tempDirectory: work });
        const { rows } = await featurizeEvents(session.db, {
          inputPath: await stage(input.input),
          outputPath,
          spec: definition.spec,
          store: definition.store,
          features: manifest.featureNames,
          onBatch: (done) => progress.report({ stage: 'featurizing', rows: done }),
        }).catch((err: unknown) => {
          throw asFailure(err);
        });
        await store.putFile(output.bucket, key, outputPath, {
          contentType: 'application/vnd.apache.parquet',
          metadata: { model: input.model, 'model-version': String(input.version), 'snapshot-key': described.snapshotKey ?? '', 'as-of': described.asOf },
        });
        return { input: output, rows, ...described };
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },

    /** The predictions bucket: batch outputs sit beside the online log. */
    async defaultOutputBucket(): Promise<string> {
      return buckets.predictions;
    },

    /** The job's manifest, written last: its presence means every part is there. */
    async writeBatchManifest(result: Omit<BatchScoringResult, 'manifestKey'>): Promise<string> {
      const key = batchScoringKeys.manifest(result.output.prefix);
      await store.put(result.output.bucket, key, JSON.stringify({ kind: 'sluice.batch-scoring', ...result }, null, 2), { contentType: 'application/json' });
      return key;
    },

    /** Which execution providers this worker scores on, and why the others it prefers are not used. */
    async scoringProvider(): Promise<{ preferences: readonly string[]; active: string[]; unavailable: Record<string, string> }> {
      return deps.sessions.report();
    },
  };
};

export type ScoringActivities = ReturnType<typeof createScoringActivities>;
