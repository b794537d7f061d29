import type { HealthFigures } from '../../shared/deployment.ts';
import type { ModelRoutesConfig } from '../../shared/serving-config.ts';

/**
 * What the `modelDeployment` workflow asks of its activities. The workflow imports this as a type
 * only; `createDeploymentActivities` implements it over the object store and the registry, and
 * workflow tests replace it with typed fakes.
 */

export interface DeploymentContext {
  /** The registry's champion, if the model has one. */
  champion?: number;
  /** The model's routes in the serving config now, if it has any. */
  routes?: ModelRoutesConfig;
}

export type RegistryAction = 'canary' | 'promote' | 'rollback' | 'restore';

export interface DeploymentActivities {
  loadDeploymentContext(input: { model: string }): Promise<DeploymentContext>;
  /**
   * Replaces one model's routes in the shared serving config (`null` removes them), by
   * read-modify-write with an etag condition; other models' routes are left as they are.
   */
  writeModelRoutes(input: { model: string; routes: ModelRoutesConfig | null; by: string; reason: string }): Promise<{ revision: number }>;
  /**
   * `canary`: the version becomes `canary` and the `challenger`; `promote`: registry `promote()`
   * (champion + production, old champion archived); `rollback`: `rolled-back` with the reason;
   * `restore`: the archived previous champion `version` takes over from the champion `replaces`
   * through the same one-write `promote()` (`replaces` is archived). Refused (RegistryRefused) when
   * the registry's champion is neither. Idempotent: a version already in the target state is left alone.
   */
  recordRolloutStatus(input: { model: string; version: number; action: RegistryAction; by: string; reason: string; replaces?: number }): Promise<void>;
  /** Reads both versions' prediction logs (and feedback labels) over the window with DuckDB. */
  measureRolloutHealth(input: { model: string; candidate: number; champion: number; route: 'canary' | 'shadow'; from: string; to: string }): Promise<HealthFigures>;
  /**
   * Keeps the model's online feature refresh Schedule in step with what is served: running while
   * the model has a champion, paused when it has none; null when it has neither champion nor schedule.
   */
  followServedModel(input: { model: string }): Promise<{ scheduleId: string; paused: boolean } | null>;
  /** Stores the shadow comparison in the reports bucket; returns its key. */
  storeShadowReport(input: { model: string; candidate: number; champion: number; figures: HealthFigures; verdict: string; reasons: string[] }): Promise<{ reportKey: string }>;
}
