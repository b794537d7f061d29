import type { LogMask } from '../../shared/data/feature-spec.ts';
import type { ValueType } from '../../shared/data/expression-types.ts';
import type { RawEvent } from '../../shared/api/predict.ts';
import type { ModelManifest } from '../../shared/registry.ts';
import type { FeatureRows } from '../scoring/micro-batcher.ts';
import { SluiceError } from '../../shared/errors.ts';
import type { FeatureFreshnessSource } from './feature-freshness.ts';

/**
 * The API's one feature step: raw business events in, model inputs out, in the model's feature
 * order. The logic lives in the shared feature definitions (`domain/features/`); the API only
 * asks for an assembler per model version and never computes a feature itself.
 */
export interface FeatureAssembler {
  /** The raw fields an event must carry and their types: the request schema of this model version. */
  readonly eventFields: Readonly<Record<string, ValueType>>;
  /** Features the spec masks in the prediction log (`log: hash | drop`), by name; none when absent. */
  readonly logMasks?: ReadonlyMap<string, LogMask>;
  /**
   * Events already checked against `eventFields` for shape and types; features are laid out as the
   * model's graph inputs. A value the features cannot read (a string that is no timestamp) throws
   * `FeatureInputError`.
   */
  assemble(events: readonly RawEvent[]): Promise<FeatureRows>;
}

/** Finds the assembler for a registered model version (by its feature-definition hash and feature names). */
export interface FeatureAssemblers {
  forModel(manifest: ModelManifest): Promise<FeatureAssembler>;
  /** What online snapshots serve, where the definitions come from a store that refreshes them. */
  readonly freshness?: FeatureFreshnessSource;
}

/** Event `index` has a value in `field` the feature definitions cannot read: the caller's error. */
export class FeatureInputError extends SluiceError {
  override readonly name = 'FeatureInputError';
  readonly kind = 'InvalidInput';
  constructor(
    readonly index: number,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`event ${index}, field "${field}": ${problem}`);
  }
}

/** The model's features cannot be computed from its feature definitions: the version is not served. */
export { FeatureWiringError } from '../../domain/features/online-definition.ts';
