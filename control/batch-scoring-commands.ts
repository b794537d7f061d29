import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import type { BatchScoringResult, ChunkResult, ObjectRef } from '../shared/batch-scoring.ts';
import type { Config } from '../shared/config.ts';
import { SluiceError } from '../shared/errors.ts';
import { type BatchScoringProgress, batchScoringProgressQuery } from '../workflows/batch-scoring.ts';

/** How often a waiting caller asks the job how far it is. */
const PROGRESS_POLL_MS = 500;

export class ScoringRequestError extends SluiceError {
  override readonly name = 'ScoringRequestError';
  readonly kind = 'InvalidInput';
}

export interface ScoreRequest {
  model: string;
  /** Default: the champion. */
  version?: number;
  /** A local Parquet file (uploaded beside the job's outputs) or `s3://bucket/key`. */
  input: string;
  inputKind: 'events' | 'features';
  /** Output prefix in the predictions bucket; default `batch/<job id>/`. */
  out?: string;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Starts (or attaches to) the batch scoring of one input by one model version and waits for it. The
 * job id is derived from model, version, input and kind, so asking twice scores once; a local input
 * is uploaded to the predictions bucket first, keyed by its content hash.
 */
export async function scoreBatch(deps: { client: Client; config: Config; store: ArtifactStore; onProgress?: (progress: BatchScoringProgress) => void }, request: ScoreRequest): Promise<{ workflowId: string; result: BatchScoringResult & { chunks: ChunkResult[] } }> {
  const registry = new ModelRegistry(deps.store, deps.config.buckets.models);
  const index = await registry.index(request.model);
  const version = request.version ?? index.aliases.champion;
  if (version === undefined) throw new ScoringRequestError(`model ${request.model} has no champion: name a version with --version (it has ${Object.keys(index.versions).map((v) => `v${v}`).join(', ') || 'none'})`);
  if (!index.versions[String(version)]) throw new ScoringRequestError(`model ${request.model} has no version ${version}; it has ${Object.keys(index.versions).map((v) => `v${v}`).join(', ')}`);

  let input: ObjectRef;
  let inputId: string;
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(request.input);
  if (s3) {
    input = { bucket: s3[1] as string, key: s3[2] as string };
    if (!(await deps.store.stat(input.bucket, input.key))) throw new ScoringRequestError(`no object ${request.input}`);
    inputId = createHash('sha256').update(request.input).digest('hex');
  } else {
    if (!existsSync(request.input)) throw new ScoringRequestError(`no file ${request.input} (give a local Parquet file or s3://bucket/key)`);
    inputId = await sha256File(request.input);
    input = { bucket: deps.config.buckets.predictions, key: `batch/_inputs/${inputId}.parquet` };
    if (!(await deps.store.stat(input.bucket, input.key))) await deps.store.putFile(input.bucket, input.key, request.input, { contentType: 'application/vnd.apache.parquet' });
  }
  const jobId = `${request.model}-v${version}-${request.inputKind}-${inputId.slice(0, 16)}`;
  const workflowId = `batch-scoring-${jobId}`;
  const args = {
    jobId,
    model: request.model,
    version,
    input,
    inputKind: request.inputKind,
    ...(request.out !== undefined ? { output: { bucket: deps.config.buckets.predictions, prefix: request.out.endsWith('/') ? request.out : `${request.out}/` } } : {}),
  };
  const handle = await deps.client.workflow.start('batchScoring', { taskQueue: deps.config.taskQueues.scoring, workflowId, args: [args], workflowIdConflictPolicy: 'USE_EXISTING' });
  const result = handle.result() as Promise<BatchScoringResult & { chunks: ChunkResult[] }>;
  if (deps.onProgress) {
    const report = deps.onProgress;
    let finished = false;
    void result.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      const progress = await handle.query(batchScoringProgressQuery).catch(() => undefined);
      if (progress && !finished) report(progress);
      await Promise.race([result.catch(() => undefined), sleep(PROGRESS_POLL_MS)]);
    }
  }
  return { workflowId, result: await result };
}
