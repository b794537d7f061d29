import type { TrainerSpec } from '../../shared/trainers.ts';
import { gbdtTrainer } from './gbdt/gbdt-trainer.ts';
import { logisticRegressionTrainer } from './logistic-regression/lr-trainer.ts';
import { ridgeRegressionTrainer } from './logistic-regression/ridge-trainer.ts';
import type { TrainedModel, TrainingContext, TrainingData } from './trainer.ts';

/** Runs the trainer a spec names; the switch is exhaustive, so a new kind fails to compile until wired. */
export function trainModel(spec: TrainerSpec, data: TrainingData, ctx: TrainingContext): Promise<TrainedModel> {
  switch (spec.kind) {
    case 'logistic-regression':
      return logisticRegressionTrainer.train(data, spec, ctx);
    case 'linear-regression':
      return ridgeRegressionTrainer.train(data, spec, ctx);
    case 'gbdt':
      return gbdtTrainer.train(data, spec, ctx);
  }
}
