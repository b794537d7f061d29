import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { checkCalibration } from '../../../domain/evaluation/calibration.ts';
import { verifyOnnxParity } from '../../../domain/training/onnx-parity.ts';
import { permutationImportance } from '../../../domain/training/permutation-importance.ts';
import { trainModel } from '../../../domain/training/train-model.ts';
import type { TrainerSpec } from '../../../shared/trainers.ts';
import { openSplits } from '../stage-tables.ts';
import type { CandidateFit, CandidateFitJob } from './protocol.ts';

export interface FitHooks {
  /** Progress for heartbeats: iteration and losses while training, then the step. */
  progress: (details: Record<string, unknown>) => void;
  saveCheckpoint: (state: unknown) => Promise<void>;
}

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
 * scores like the trainer before anything downstream trusts it; then the diagnostics the monitor
 * needs of a binary model.
 */
export async function fitCandidate(job: CandidateFitJob, hooks: FitHooks): Promise<CandidateFit> {
  const { trainer } = job;
  const resumed = job.resumeFrom !== undefined;
  await using staged = await openSplits(job.tables, job.files);
  hooks.progress({ step: 'loading splits' });
  const train = await staged.matrix('train');
  const validation = await staged.matrix('validation');

  const started = performance.now();
  const model = await trainModel(
    trainer,
    { train, validation },
    {
      seed: job.seed,
      onProgress: (progress) => hooks.progress({ ...progress, of: plannedIterations(trainer), resumed }),
      checkpoint: { every: job.checkpointEvery, save: hooks.saveCheckpoint, ...(resumed ? { resumeFrom: job.resumeFrom } : {}) },
    },
  );
  const trainSeconds = (performance.now() - started) / 1000;

  hooks.progress({ step: 'exporting ONNX' });
  const onnx = model.toOnnx({
    modelName: job.modelName,
    // The registry assigns the version at registration and stamps it into the stored file.
    modelVersion: 0,
    lineage: { datasetVersion: job.tables.datasetVersion, featureDefinitionHash: job.tables.featureDefinitionHash, trainingRun: job.runId },
  });
  const validationScores = model.predict(validation);
  hooks.progress({ step: 'ONNX parity' });
  const parityMaxAbsDiff = (await verifyOnnxParity(onnx, validation, validationScores)).maxAbsDiff;

  // What the monitor needs of this model later: whether its scores are probabilities CBPE can trust, and what it relies on.
  hooks.progress({ step: 'calibration and feature importance' });
  // Both are defined on binary probabilities (CBPE, log-loss importance); other kinds record none yet.
  const diagnostics =
    validation.task === undefined
      ? {
          calibration: checkCalibration(validation.label, validationScores, 'validation'),
          featureImportance: await permutationImportance((m) => model.predict(m), validation, 'validation', {
            seed: job.seed,
            onFeature: (feature) => hooks.progress({ step: 'feature importance', feature }),
          }),
        }
      : undefined;

  return {
    onnx,
    onnxSha256: createHash('sha256').update(onnx).digest('hex'),
    parityMaxAbsDiff,
    trainSeconds,
    summary: { ...model.summary, trainRows: train.rows, validationRows: validation.rows, resumedFromCheckpoint: resumed },
    ...(diagnostics ? { diagnostics } : {}),
  };
}
