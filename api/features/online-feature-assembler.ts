import type { OnlineFeatureStore } from '../../domain/features/online-store.ts';
import { type FeatureTable, type OnlineFeatures, OnlineBatchEventError, compileOnlineFeatures } from '../../domain/features/online-features.ts';
import { type FeatureSpec, type LogMask, featureTableColumns, logMasksOf } from '../../shared/data/feature-spec.ts';
import type { ValueType } from '../../shared/data/expression-types.ts';
import type { RawEvent } from '../../shared/api/predict.ts';
import type { ModelManifest } from '../../shared/registry.ts';
import { ModelInputLayout } from '../../domain/scoring/model-inputs.ts';
import type { FeatureRows } from '../scoring/micro-batcher.ts';
import { type FeatureAssembler, type FeatureAssemblers, FeatureInputError, FeatureWiringError } from './feature-assembler.ts';
import type { FeatureFreshnessSource } from './feature-freshness.ts';

/** A model's feature definitions as serving needs them: the spec, and the online store for its aggregates. */
export interface OnlineFeatureDefinition {
  spec: FeatureSpec;
  store: OnlineFeatureStore;
}

/** Where a model version's feature definitions are found, from what its manifest records (feature-definition hash, dataset version). */
export interface FeatureDefinitionSource {
  load(manifest: ModelManifest): Promise<OnlineFeatureDefinition>;
  /** Present when the source follows refreshed snapshots. */
  freshness?(featureSpecHash: string): ReturnType<FeatureFreshnessSource['freshness']>;
}

/**
 * Adapts the shared online feature path (`compileOnlineFeatures` + an `OnlineFeatureStore`) to the
 * model's graph inputs: feature vectors keyed by name become the numeric and categorical columns in
 * the order the model was trained with. Checked once per model version at load: every feature the
 * model reads must exist in the spec with the same kind.
 */
export class OnlineFeatureAssembler implements FeatureAssembler {
  readonly eventFields: Readonly<Record<string, ValueType>>;
  readonly logMasks: ReadonlyMap<string, LogMask>;
  private readonly online: OnlineFeatures;
  private readonly store: OnlineFeatureStore;
  private readonly layout: ModelInputLayout;

  constructor(
    definition: OnlineFeatureDefinition,
    private readonly features: ModelManifest['featureNames'],
  ) {
    this.online = compileOnlineFeatures(definition.spec);
    this.store = definition.store;
    const kinds = new Map(featureTableColumns(definition.spec).features.map((f) => [f.name, f.kind]));
    const check = (names: readonly string[], kind: 'numeric' | 'categorical') => {
      for (const name of names) {
        const found = kinds.get(name);
        if (found === undefined) throw new FeatureWiringError(`the model reads feature "${name}", which feature spec "${definition.spec.name}" does not define`);
        if (found !== kind) throw new FeatureWiringError(`the model reads "${name}" as ${kind}, but feature spec "${definition.spec.name}" makes it ${found}`);
      }
    };
    check(features.numeric, 'numeric');
    check(features.categorical, 'categorical');
    this.layout = new ModelInputLayout(this.online.featureNames, features);
    this.logMasks = logMasksOf(definition.spec);
    this.eventFields = Object.fromEntries(this.online.requiredFields.map((field) => [field, definition.spec.columns[field] as ValueType]));
  }

  async assemble(events: readonly RawEvent[]): Promise<FeatureRows> {
    let table: FeatureTable;
    try {
      table = await this.online.table(events, this.store);
    } catch (err) {
      throw err instanceof OnlineBatchEventError ? new FeatureInputError(err.index, err.field, err.problem) : err;
    }
    return this.layout.pack(table.rows, table.values, this.online.featureNames.length);
  }
}

/** Assemblers for model versions over a source of feature definitions. */
export class OnlineFeatureAssemblers implements FeatureAssemblers {
  readonly freshness: FeatureFreshnessSource | undefined;

  constructor(private readonly source: FeatureDefinitionSource) {
    this.freshness = source.freshness ? { freshness: (hash) => source.freshness?.(hash) } : undefined;
  }

  async forModel(manifest: ModelManifest): Promise<FeatureAssembler> {
    return new OnlineFeatureAssembler(await this.source.load(manifest), manifest.featureNames);
  }
}
