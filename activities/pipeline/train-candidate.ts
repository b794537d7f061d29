import { Context } from '@temporalio/activity';
import type { Config } from '../../shared/config.ts';
import { kindFailure } from '../../shared/failure.ts';
import { candidateKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { startProgress } from '../heartbeat.ts';
import type { PipelineActivities, TrainedCandidate } from './contract.ts';
import { downloadSplits } from './stage-tables.ts';
import { TrainingSpeed } from './training-speed.ts';
import { runTrainingThread } from './training-thread/run-training-thread.ts';

const CHECKPOINT_EVERY = 10;

/**
 * Trains a built-in model on a thread of its own (see `training-thread/`), exports ONNX and proves
 * the export. This thread stages the splits, relays progress as heartbeats (the Temporal UI shows
 * iteration and losses), stores checkpoints and the ONNX file: a checkpoint in the object store lets
 * a retried attempt after a worker crash resume where the last one stopped instead of starting over.
 * Heartbeats go out from a timer here while the thread computes, so the heartbeat timeout can be
 * short: a dead worker's training is retried within it.
 */
export const createTrainCandidate =
  (deps: { store: ArtifactStore; buckets: Config['buckets'] }): PipelineActivities['trainCandidate'] =>
  async (input) => {
    const trainer = input.trainer;
    if (trainer.kind === 'external') {
      throw kindFailure('InvalidInput', `trainer ${trainer.name} is external: its trainCandidate runs on task queue ${trainer.taskQueue}, not on the pipeline worker`);
    }
    const context = Context.current();
    using progress = startProgress('trainCandidate');
    const checkpointKey = candidateKeys.checkpoint(input.runId);
    const resumeFrom =
      context.info.attempt > 1 && (await deps.store.stat(deps.buckets.models, checkpointKey))
        ? (JSON.parse((await deps.store.get(deps.buckets.models, checkpointKey)).toString()) as unknown)
        : undefined;
    if (resumeFrom !== undefined) context.log.info('resuming training from checkpoint', { checkpointKey, attempt: context.info.attempt });

    progress.report({ stage: 'staging splits' });
    await using splits = await downloadSplits(deps.store, deps.buckets.features, input.tables, ['train', 'validation']);
    const speed = new TrainingSpeed(context.metricMeter, { trainer: trainer.kind, model: input.modelName });
    let lastIteration: Record<string, unknown> = {};
    const fit = await runTrainingThread(
      { trainer, seed: input.seed, modelName: input.modelName, runId: input.runId, tables: input.tables, files: splits.files, checkpointEvery: CHECKPOINT_EVERY, ...(resumeFrom !== undefined ? { resumeFrom } : {}) },
      {
        progress: (details) => {
          if (typeof details.iteration === 'number') {
            speed.progress(details.iteration);
            lastIteration = details;
          }
          // The last iteration's figures stay in the beats of the steps after it (export, parity,
          // importance): the CLI's bar shows where training ended rather than vanishing.
          progress.report({ stage: 'training', ...lastIteration, ...details });
        },
        saveCheckpoint: async (state) => {
          await deps.store.put(deps.buckets.models, checkpointKey, JSON.stringify(state), { contentType: 'application/json' });
        },
        signal: context.cancellationSignal,
      },
    );

    const candidateKey = candidateKeys.onnx(input.runId);
    await deps.store.put(deps.buckets.models, candidateKey, Buffer.from(fit.onnx), { contentType: 'application/octet-stream' });
    const { onnx: _, ...described } = fit;
    const result: TrainedCandidate = { candidateKey, ...described };
    return result;
  };
