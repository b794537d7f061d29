import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Context } from '@temporalio/activity';
import type { Config } from '../../shared/config.ts';
import type { TrainerSpec } from '../../shared/trainers.ts';
import { kindFailure, toApplicationFailure } from '../../shared/failure.ts';
import { candidateKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { checkCalibration } from '../../domain/evaluation/calibration.ts';
import { OnnxParityError, verifyOnnxParity } from '../../domain/training/onnx-parity.ts';
import { permutationImportance } from '../../domain/training/permutation-importance.ts';
import { trainModel } from '../../domain/training/train-model.ts';
import { TrainingDataError } from '../../domain/training/trainer.ts';
import type { PipelineActivities, TrainedCandidate } from './contract.ts';
import { stageTables } from './stage-tables.ts';
import { TrainingSpeed } from './training-speed.ts';

const CHECKPOINT_EVERY = 10;

/** How many iterations the trainer may run (early stopping can end it sooner): the `of` in progress heartbeats, for the CLI's bar and ETA. */
function plannedIterations(trainer: TrainerSpec): number {
  switch (trainer.kind) {
    case 'gbdt':
      return trainer.nTrees;
    case 'logistic-regression':
      return trainer.maxIterations;
    case 'linear-regression':
      return 1;
  }
}

/**
 * Trains on the train split, early-stops on the validation split, exports ONNX and proves the export
 * scores like the trainer before anything downstream trusts it. Progress goes out as heartbeats (the
 * Temporal UI shows iteration and losses); a checkpoint in the object store lets a retried attempt
 * after a worker crash resume where the last one stopped instead of starting over.
 */
export const createTrainCandidate =
  (deps: { store: ArtifactStore; buckets: Config['buckets'] }): PipelineActivities['trainCandidate'] =>
  async (input) => {
    const trainer = input.trainer;
    if (trainer.kind === 'external') {
      throw kindFailure('InvalidInput', `trainer ${trainer.name} is external: its trainCandidate runs on task queue ${trainer.taskQueue}, not on the pipeline worker`);
    }
    const context = Context.current();
    const checkpointKey = candidateKeys.checkpoint(input.runId);
    const resumeFrom =
      context.info.attempt > 1 && (await deps.store.stat(deps.buckets.models, checkpointKey))
        ? (JSON.parse((await deps.store.get(deps.buckets.models, checkpointKey)).toString()) as unknown)
        : undefined;
    if (resumeFrom !== undefined) context.log.info('resuming training from checkpoint', { checkpointKey, attempt: context.info.attempt });

    await using staged = await stageTables(deps.store, deps.buckets.features, input.tables, ['train', 'validation']);
    const train = await staged.matrix('train');
    const validation = await staged.matrix('validation');

    const started = performance.now();
    const speed = new TrainingSpeed(context.metricMeter, { trainer: trainer.kind, model: input.modelName });
    let model;
    try {
      model = await trainModel(
        trainer,
        { train, validation },
        {
          seed: input.seed,
          onProgress: (progress) => {
            speed.progress(progress.iteration);
            context.heartbeat({ ...progress, of: plannedIterations(trainer), resumed: resumeFrom !== undefined });
          },
          checkpoint: {
            every: CHECKPOINT_EVERY,
            save: async (state) => {
              await deps.store.put(deps.buckets.models, checkpointKey, JSON.stringify(state), { contentType: 'application/json' });
            },
            ...(resumeFrom !== undefined ? { resumeFrom } : {}),
          },
        },
      );
    } catch (err) {
      if (err instanceof TrainingDataError) throw toApplicationFailure(err);
      throw err;
    }
    const trainSeconds = (performance.now() - started) / 1000;

    const onnx = model.toOnnx({
      modelName: input.modelName,
      // The registry assigns the version at registration and stamps it into the stored file.
      modelVersion: 0,
      lineage: { datasetVersion: input.tables.datasetVersion, featureDefinitionHash: input.tables.featureDefinitionHash, trainingRun: input.runId },
    });
    const validationScores = model.predict(validation);
    let parityMaxAbsDiff: number;
    try {
      parityMaxAbsDiff = (await verifyOnnxParity(onnx, validation, validationScores)).maxAbsDiff;
    } catch (err) {
      if (err instanceof OnnxParityError) throw toApplicationFailure(err);
      throw err;
    }

    // What the monitor needs of this model later: whether its scores are probabilities CBPE can trust, and what it relies on.
    context.heartbeat({ step: 'calibration and feature importance' });
    // Both are defined on binary probabilities (CBPE, log-loss importance); other kinds record none yet.
    const diagnostics =
      validation.task === undefined
        ? {
            calibration: checkCalibration(validation.label, validationScores, 'validation'),
            featureImportance: await permutationImportance((m) => model.predict(m), validation, 'validation', {
              seed: input.seed,
              onFeature: (feature) => context.heartbeat({ step: 'feature importance', feature }),
            }),
          }
        : undefined;

    const candidateKey = candidateKeys.onnx(input.runId);
    await deps.store.put(deps.buckets.models, candidateKey, Buffer.from(onnx), { contentType: 'application/octet-stream' });
    const result: TrainedCandidate = {
      candidateKey,
      onnxSha256: createHash('sha256').update(onnx).digest('hex'),
      parityMaxAbsDiff,
      trainSeconds,
      summary: { ...model.summary, trainRows: train.rows, validationRows: validation.rows, resumedFromCheckpoint: resumeFrom !== undefined },
      ...(diagnostics ? { diagnostics } : {}),
    };
    return result;
  };
