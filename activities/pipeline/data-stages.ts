import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../../shared/config.ts';
import { ErrorType } from '../../shared/errors.ts';
import { createFeatureActivities } from '../features/feature-activities.ts';
import { createIngestActivities } from '../ingest/ingest-activities.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { createValidationActivities } from '../validation/validation-activities.ts';
import type { PipelineActivities } from './contract.ts';
import { labelTask } from '../../shared/data/feature-spec.ts';

const PIPELINE_SPLITS = ['train', 'validation', 'test'] as const;

/** The pipeline's data stages over the data layer's activities: ingest, validate, build features. */
export const createDataStages = (deps: { store: ArtifactStore; buckets: Config['buckets'] }) => {
  const ingest = createIngestActivities(deps);
  const validation = createValidationActivities(deps);
  const features = createFeatureActivities(deps);

  const ingestDataset: PipelineActivities['ingestDataset'] = async (input) => {
    const r = await ingest.ingestDataset({ datasetName: input.datasetName, source: input.source, expectedVersion: input.expectedVersion, partitions: input.partitions, contract: input.contract });
    return { datasetVersion: r.datasetVersion, manifestKey: r.manifestKey, rows: r.rows, bytes: r.bytes, reused: r.reused };
  };

  const validateDataset: PipelineActivities['validateDataset'] = async (input) => {
    const r = await validation.validateDataset({ datasetName: input.datasetName, datasetVersion: input.datasetVersion, contract: input.contract });
    return { reportKey: r.reportKey, warnings: r.warnings };
  };

  const buildFeatures: PipelineActivities['buildFeatures'] = async (input) => {
    const built = await features.buildFeatures({ datasetVersion: input.datasetVersion, features: input.features });
    const missing = PIPELINE_SPLITS.filter((s) => !built.splits[s]);
    if (missing.length) {
      throw ApplicationFailure.nonRetryable(
        `The feature spec declares splits ${Object.keys(built.splits).join(', ')}; training needs splits named ${PIPELINE_SPLITS.join(', ')} (missing: ${missing.join(', ')})`,
        ErrorType.InvalidInput,
      );
    }
    const task = labelTask(input.features);
    const split = (name: (typeof PIPELINE_SPLITS)[number]) => built.splits[name] as { key: string; rows: number };
    return {
      datasetVersion: built.datasetVersion,
      featureDefinitionHash: built.featureDefinitionHash,
      splits: { train: split('train'), validation: split('validation'), test: split('test') },
      referenceStatsKey: built.referenceStatsKey,
      featureNames: built.featureNames,
      labelColumn: built.labelColumn,
      // Binary tables carry no label field, so a binary run's activity inputs stay as they were.
      ...(task.kind === 'binary' ? {} : { label: task }),
    };
  };

  const materializeOnlineFeatures: PipelineActivities['materializeOnlineFeatures'] = async (input) => {
    const snapshot = await features.materializeOnlineFeatures({ datasetVersion: input.datasetVersion, features: input.features });
    return { snapshotKey: snapshot.snapshotKey, asOf: snapshot.asOf };
  };

  return { ingestDataset, validateDataset, buildFeatures, materializeOnlineFeatures };
};
