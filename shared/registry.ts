import { z } from 'zod';
import { calibrationCheckSchema, featureImportanceSchema } from './model-diagnostics.ts';
import { labelTaskSchema } from './data/feature-spec.ts';
import { verifiedIdentitySchema } from './approval.ts';

/**
 * The model registry's records. A version's manifest is immutable once written; its status history
 * only grows; aliases (`champion`, `challenger`) point at versions and keep their own history so the
 * registry can say which version served production at any past time.
 */

export const modelNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,62}$/, 'expected a model name of 2-63 lowercase letters, digits or hyphens, starting with a letter');

export const MODEL_STATUSES = ['candidate', 'approved', 'rejected', 'canary', 'production', 'archived', 'rolled-back'] as const;
export const modelStatusSchema = z.enum(MODEL_STATUSES);
export type ModelStatus = z.infer<typeof modelStatusSchema>;

/** Which status may follow which; anything else is refused, so history stays meaningful. */
export const ALLOWED_TRANSITIONS: Record<ModelStatus, readonly ModelStatus[]> = {
  candidate: ['approved', 'rejected'],
  approved: ['canary', 'production', 'archived'],
  rejected: [],
  canary: ['production', 'rolled-back'],
  production: ['archived', 'rolled-back'],
  archived: ['production'],
  'rolled-back': ['archived'],
};

export const ALIASES = ['champion', 'challenger'] as const;
export const aliasSchema = z.enum(ALIASES);
export type Alias = z.infer<typeof aliasSchema>;

export const actorSchema = z.string().min(1, 'expected who made the change');

export const statusTransitionSchema = z.object({
  status: modelStatusSchema,
  at: z.iso.datetime(),
  by: actorSchema,
  reason: z.string().default(''),
  /** An approval or rejection under a policy that required signed decisions: who signed, with which key. */
  verified: z.array(verifiedIdentitySchema).optional(),
});
export type StatusTransition = z.infer<typeof statusTransitionSchema>;

export const metricValuesSchema = z.record(z.string(), z.number());

/** Everything needed to reproduce and audit a version (DESIGN invariant 2). */
export const modelManifestSchema = z.object({
  name: modelNameSchema,
  version: z.number().int().positive(),
  createdAt: z.iso.datetime(),
  datasetVersion: z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 hex digest'),
  featureDefinitionHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 hex digest'),
  codeVersion: z.string().min(1),
  trainer: z.object({
    kind: z.string(),
    hyperparameters: z.record(z.string(), z.unknown()),
    /** Versions of the libraries an external trainer ran with (`lightgbm`, `onnx`, ...), as it reported them. */
    libraries: z.record(z.string(), z.string()).optional(),
  }),
  seed: z.number().int(),
  metrics: metricValuesSchema,
  /** What the model predicts: binary (manifests written before other kinds existed say nothing: binary), regression or multiclass with its classes. */
  task: labelTaskSchema.default({ kind: 'binary' }),
  /** Binary only in effect: the score at or above which `label` is true. */
  threshold: z.number().min(0).max(1),
  featureNames: z.object({ numeric: z.array(z.string()), categorical: z.array(z.string()) }),
  onnx: z.object({ key: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().positive() }),
  reports: z.record(z.string(), z.string()).default({}),
  /** Why this version exists: the pipeline run, and for retraining the trigger with its evidence. */
  origin: z.object({ workflowId: z.string(), runId: z.string().optional(), trigger: z.record(z.string(), z.unknown()).optional() }),
  /** Calibration of the scores on the validation split, with the map the monitor's performance estimate applies (absent before it was recorded). */
  calibration: calibrationCheckSchema.optional(),
  /** Permutation importance on the validation split: the weights of importance-weighted drift (absent: equal weights). */
  featureImportance: featureImportanceSchema.optional(),
});
export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type NewModelManifest = Omit<z.input<typeof modelManifestSchema>, 'version' | 'createdAt' | 'onnx'>;

export const aliasChangeSchema = z.object({
  alias: aliasSchema,
  version: z.number().int().positive().nullable(),
  at: z.iso.datetime(),
  by: actorSchema,
  reason: z.string().default(''),
});
export type AliasChange = z.infer<typeof aliasChangeSchema>;

/**
 * Per-model index: the one mutable object of a model, so every change — a status transition, an
 * alias move, a promotion that archives the old champion — is a single conditional write.
 */
export const modelIndexSchema = z.object({
  name: modelNameSchema,
  latestVersion: z.number().int().nonnegative(),
  /** Registration key (e.g. pipeline workflow id) → version, so a retried registration is not a new version. */
  registrations: z.record(z.string(), z.number().int().positive()),
  /** Status history per version (keyed by the version number as a string), oldest first. */
  versions: z.record(z.string(), z.object({ history: z.array(statusTransitionSchema) })),
  aliases: z.partialRecord(aliasSchema, z.number().int().positive()),
  aliasHistory: z.array(aliasChangeSchema),
});
export type ModelIndex = z.infer<typeof modelIndexSchema>;

export interface ModelVersionView {
  manifest: ModelManifest;
  status: ModelStatus;
  history: StatusTransition[];
  aliases: Alias[];
}
