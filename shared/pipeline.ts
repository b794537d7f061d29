import { z } from 'zod';
import { approvalPolicySchema, type ApprovalDecision } from './approval.ts';
import { durationSchema } from './duration.ts';
import { rolloutPlanSchema } from './deployment.ts';
import { datasetContractSchema } from './data/dataset-contract.ts';
import { partitionGlobSchema, partitionedSourceProblem } from './data/dataset.ts';
import { featureSpecSchema } from './data/feature-spec.ts';
import { type GateOutcome, gateMetricProblems, gateSpecSchema } from './gates.ts';
import { modelNameSchema } from './registry.ts';
import { pipelineTrainerSchema } from './trainers.ts';

/**
 * The training pipeline's spec: one object, validated whole, so a bad spec fails at once with every
 * problem listed. Everything that changes what gets trained is in here (and so in the spec hash that
 * names the run); who asked and why are inputs beside it.
 */

export const sliceSpecSchema = z.strictObject({
  /** Shown in reports, e.g. `origin-size`. */
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a lowercase slice name'),
  /** A feature-expression over the test rows whose value names the slice each row falls in. */
  expression: z.string().min(1),
});

export const pipelineSpecSchema = z.strictObject({
  model: z.strictObject({
    name: modelNameSchema,
    description: z.string().default(''),
  }),
  dataset: z.strictObject({
    /** Versions of one dataset share a name, so validation can compare with the previous version. */
    name: z.string().regex(/^[a-z][a-z0-9-]{1,62}$/, 'expected a dataset name of lowercase letters, digits and hyphens'),
    /**
     * A local path, an http(s) URL, or an s3://bucket/key URI; or a folder of partitions: a local
     * directory or an s3://bucket/prefix/ (the files matching `partitions`, all of them by default).
     */
    source: z.string().min(1),
    /** A glob over the partitions' paths relative to the source folder, e.g. `date=*\/*.parquet`. */
    partitions: partitionGlobSchema.optional(),
  }).superRefine((dataset, ctx) => {
    const problem = partitionedSourceProblem(dataset.source, dataset.partitions);
    if (problem) ctx.addIssue({ code: 'custom', path: ['partitions'], message: problem });
  }),
  /** What the raw data must satisfy before anything is trained on it. */
  contract: datasetContractSchema,
  /** The feature definitions: the same ones build the training tables and the online features. */
  features: featureSpecSchema,
  trainer: pipelineTrainerSchema,
  seed: z.number().int().nonnegative().default(42),
  evaluation: z
    .strictObject({
      /** Score at or above which the label is predicted positive. */
      threshold: z.number().min(0).max(1).default(0.5),
      slices: z.array(sliceSpecSchema).default([]),
    })
    .default({ threshold: 0.5, slices: [] }),
  gates: gateSpecSchema.default({ absolute: [], vsChampion: [], slices: [] }),
  approval: approvalPolicySchema.default({ requiredApprovals: 1, forbidSelfApproval: false, timeout: '7 days', onTimeout: 'reject', escalationTimeout: '2 days' }),
  /**
   * How an approved version reaches traffic. When present, the pipeline hands the approved version to
   * the model's deployment workflow (`deploy-<model>`), which rolls it out with this plan (`{}` is the
   * default plan: 5 → 25 → 50 → 100 %); when absent, approval ends the run and nothing is deployed.
   */
  rollout: rolloutPlanSchema.optional(),
}).superRefine((spec, ctx) => {
  const kind = spec.features.label.kind ?? 'binary';
  for (const problem of gateMetricProblems(spec.gates, kind)) ctx.addIssue({ code: 'custom', path: ['gates', ...problem.path], message: problem.message });
  const trainer = spec.trainer.kind;
  if (trainer === 'linear-regression' && kind !== 'regression') ctx.addIssue({ code: 'custom', path: ['trainer', 'kind'], message: `linear-regression predicts a number; the label is ${kind} (use logistic-regression or gbdt)` });
  if (trainer === 'logistic-regression' && kind === 'regression') ctx.addIssue({ code: 'custom', path: ['trainer', 'kind'], message: 'logistic-regression predicts classes; a regression label needs linear-regression or gbdt' });
  if (spec.trainer.kind === 'gbdt' && kind !== 'regression' && (spec.trainer.loss !== undefined || spec.trainer.huberDelta !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['trainer', 'loss'], message: `loss and huberDelta are for a regression label; a ${kind} label is fit by ${kind === 'binary' ? 'log loss' : 'softmax'}` });
  }
});
export type PipelineSpec = z.output<typeof pipelineSpecSchema>;
export type PipelineSpecInput = z.input<typeof pipelineSpecSchema>;

export const pipelineInputSchema = z.strictObject({
  spec: pipelineSpecSchema,
  /** SHA-256 of the source's content, computed by whoever starts the run; it names the run. */
  datasetVersion: z.string().regex(/^[0-9a-f]{64}$/, 'expected the SHA-256 hex digest of the dataset'),
  /** Who asked for this run (for audit, and for the forbidSelfApproval policy). */
  requestedBy: z.string().min(1),
  /** Why: a person, a schedule, drift, a performance drop; stored in the model's lineage. */
  trigger: z.record(z.string(), z.unknown()).default({ kind: 'manual' }),
  /** Git commit of the code that trains, recorded in the manifest. */
  codeVersion: z.string().min(1).default('unknown'),
  /**
   * How long a long activity may go without a heartbeat before Temporal retries it elsewhere: after a
   * worker crash, training resumes (from its checkpoint) on another worker within this. Activities
   * heartbeat from a timer every third of it, and training runs on a thread of its own, so the worker's
   * event loop is never held long: what this must outlast is a late timer on a loaded machine, and
   * workers forward beats every 2 s, a sixth of 12 s. 12 s brings a crashed worker's training back
   * within 15 s of the crash (the timeout after the last beat, then a 1 s retry backoff). Before
   * training moved off the event loop, three trainings on one worker at load ~10 (the replay) once
   * held it over 30 s, and this was 60 s.
   */
  heartbeatTimeout: durationSchema.default('12 seconds'),
});
export type PipelineInput = z.input<typeof pipelineInputSchema>;

/** Values of the PipelineStage search attribute, kept current as the run moves. */
export const PIPELINE_STAGES = [
  'ingesting',
  'validating',
  'building-features',
  'training',
  'evaluating',
  'materializing',
  'registering',
  'awaiting-approval',
  'approval-escalated',
  'approved',
  'rejected',
  'validation-failed',
  'gate-failed',
  'slot-busy',
] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

export type PipelineOutcome =
  | { status: 'validation-failed'; datasetVersion: string; reportKey: string; failedChecks: string[] }
  | { status: 'gate-failed'; datasetVersion: string; evaluationReportKey: string; gate: GateOutcome }
  | { status: 'approved'; modelName: string; version: number; datasetVersion: string; evaluationReportKey: string; decisions: ApprovalDecision[] }
  | { status: 'rejected'; modelName: string; version: number; datasetVersion: string; evaluationReportKey: string; decisions: ApprovalDecision[]; reason: string }
  | { status: 'slot-busy'; modelName: string; message: string };
