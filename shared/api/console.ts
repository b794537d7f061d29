import { z } from 'zod';
import { evaluationCurvesSchema } from '../evaluation-report.ts';
import { gateCheckSchema } from '../gates.ts';
import { featureDriftSchema, monitoredWindowSchema, verdictSchema } from '../monitoring.ts';
import { modelStatusSchema, statusTransitionSchema } from '../registry.ts';

/**
 * What the console's pages show, as JSON at `/v1/console/…`: the pages render these very objects, so a
 * script that reads a route sees what a person sees. Every view names the Temporal UI address of each
 * run it mentions (`temporalUi`), and says what could not be read (`gaps`) rather than failing whole.
 */

const temporalUi = z.url().describe('The run in the Temporal UI');
const gaps = z.array(z.string()).describe('What could not be read (e.g. Temporal did not answer); the rest of the view stands');

export const consoleSessionSchema = z
  .strictObject({ keyId: z.string(), scopes: z.array(z.string()), expiresAt: z.iso.datetime(), csrfToken: z.string().describe('Sent back as the `csrf` form field (or X-CSRF-Token header) of approve and reject') })
  .describe('A console session opened with an API key; the session itself travels in the HttpOnly cookie');
export type ConsoleSessionView = z.infer<typeof consoleSessionSchema>;

export const signInRequestSchema = z.strictObject({ key: z.string().min(1, 'expected the API key'), next: z.string().optional() }).describe('The API key to open a console session with');

const featureFreshnessSchema = z.strictObject({ state: z.enum(['current', 'stale']), asOf: z.string(), ageSeconds: z.number(), maxAgeSeconds: z.number() });

export const modelSummarySchema = z.strictObject({
  name: z.string(),
  champion: z.strictObject({ version: z.number().int(), metrics: z.record(z.string(), z.number()) }).nullable(),
  /** Versions registered and not yet settled: candidates awaiting a decision, approved ones not serving yet, canaries. */
  inFlight: z.array(z.strictObject({ version: z.number().int(), status: modelStatusSchema })),
  lastDrift: z.strictObject({ until: z.string(), version: z.number().int(), verdict: verdictSchema, performance: z.string().optional() }).nullable(),
  /** Of the features this replica serves the model with; null when they need no snapshot or the model is not served here. */
  features: featureFreshnessSchema.nullable(),
  pendingApprovals: z.number().int(),
});
export type ModelSummary = z.infer<typeof modelSummarySchema>;

export const modelsViewSchema = z.strictObject({ generatedAt: z.iso.datetime(), models: z.array(modelSummarySchema) });
export type ModelsView = z.infer<typeof modelsViewSchema>;

export const versionDetailSchema = z.strictObject({
  version: z.number().int(),
  status: modelStatusSchema,
  createdAt: z.string(),
  history: z.array(statusTransitionSchema),
  lineage: z.strictObject({
    datasetVersion: z.string(),
    featureDefinitionHash: z.string(),
    codeVersion: z.string(),
    trainer: z.string(),
    hyperparameters: z.record(z.string(), z.unknown()),
    seed: z.number().int(),
    trigger: z.string(),
    workflowId: z.string(),
    temporalUi,
  }),
  metrics: z.record(z.string(), z.number()),
  hasEvaluation: z.boolean(),
});
export type VersionDetail = z.infer<typeof versionDetailSchema>;

export const modelDetailViewSchema = z.strictObject({
  name: z.string(),
  champion: z.number().int().nullable(),
  versions: z.array(versionDetailSchema),
  /** The two versions compared (`?a=&b=`; by default the champion, or the oldest, against the newest), metric by metric. */
  comparison: z
    .strictObject({ a: z.number().int(), b: z.number().int(), metrics: z.array(z.strictObject({ metric: z.string(), a: z.number().nullable(), b: z.number().nullable(), delta: z.number().nullable() })) })
    .nullable(),
});
export type ModelDetailView = z.infer<typeof modelDetailViewSchema>;

const sliceGateSchema = z.strictObject({ metric: z.string(), min: z.number().optional(), max: z.number().optional(), minRows: z.number().int().optional() });

export const evaluationViewSchema = z.strictObject({
  model: z.string(),
  version: z.number().int(),
  labelKind: z.enum(['binary', 'regression', 'multiclass']),
  runId: z.string(),
  temporalUi,
  testRows: z.number().int(),
  threshold: z.number().nullable(),
  overall: z.record(z.string(), z.number()),
  curves: evaluationCurvesSchema.nullable(),
  champion: z.union([z.strictObject({ version: z.number().int(), overall: z.record(z.string(), z.number()), curves: evaluationCurvesSchema.nullable() }), z.strictObject({ skipped: z.string() })]),
  slices: z.array(z.strictObject({ name: z.string(), rows: z.number().int(), metrics: z.record(z.string(), z.number()), note: z.string().optional() })),
  sliceGates: z.array(sliceGateSchema),
  gate: z.strictObject({ passed: z.boolean(), checks: z.array(gateCheckSchema) }).nullable(),
  /** Multiclass: confusion[actual][predicted] in `classes` order. */
  confusion: z.strictObject({ classes: z.array(z.string()), counts: z.array(z.array(z.number().int())) }).nullable(),
});
export type EvaluationView = z.infer<typeof evaluationViewSchema>;

export const pendingApprovalSchema = z.strictObject({
  model: z.string(),
  version: z.number().int(),
  pipeline: z.string(),
  temporalUi,
  registeredAt: z.string(),
  requestedBy: z.string(),
  metrics: z.record(z.string(), z.number()),
  /** The approval gate's own state, from the run (null when the run did not answer). */
  approval: z.strictObject({ status: z.string(), requiredApprovals: z.number().int(), approvedBy: z.array(z.string()), deadline: z.string().nullable() }).nullable(),
});
export type PendingApproval = z.infer<typeof pendingApprovalSchema>;

export const approvalsViewSchema = z.strictObject({ pending: z.array(pendingApprovalSchema), gaps });
export type ApprovalsView = z.infer<typeof approvalsViewSchema>;

/** `whileBaking`: a check before the end of the step's bake (kept only when it breached and rolled the step back). */
const checkSchema = z.strictObject({ at: z.string(), verdict: z.string(), whileBaking: z.boolean(), reasons: z.array(z.string()), figures: z.looseObject({}) });

export const rolloutsViewSchema = z.strictObject({
  model: z.string(),
  deployment: z.strictObject({ workflowId: z.string(), temporalUi, phase: z.string().nullable(), champion: z.number().int().nullable() }),
  /** The traffic split now, from the serving config in the object store (what every replica converges on). */
  split: z.strictObject({ revision: z.number().int(), routes: z.array(z.strictObject({ version: z.number().int(), route: z.enum(['primary', 'canary', 'shadow']), percent: z.number() })) }).nullable(),
  rollouts: z.array(
    z.strictObject({
      version: z.number().int(),
      champion: z.number().int().nullable(),
      by: z.string(),
      startedAt: z.string(),
      outcome: z.strictObject({ kind: z.string(), at: z.string(), by: z.string(), reason: z.string() }).nullable(),
      steps: z.array(z.strictObject({ kind: z.string(), percent: z.number(), startedAt: z.string(), endedAt: z.string().nullable(), checks: z.array(checkSchema) })),
    }),
  ),
  gaps,
});
export type RolloutsView = z.infer<typeof rolloutsViewSchema>;

export const monitoringViewSchema = z.strictObject({
  model: z.string(),
  windows: z.array(monitoredWindowSchema),
  /** The drift report of the window asked for (`?until=`), by default the newest. */
  report: z
    .strictObject({ version: z.number().int(), from: z.string(), until: z.string(), rows: z.number().int(), judged: z.boolean(), verdict: verdictSchema, driftShare: z.number(), features: z.array(featureDriftSchema), score: featureDriftSchema.nullable() })
    .nullable(),
  retrainings: z.array(z.strictObject({ version: z.number().int().nullable(), at: z.string(), trigger: z.string(), workflowId: z.string(), temporalUi })),
  gaps,
});
export type MonitoringView = z.infer<typeof monitoringViewSchema>;

/** The approvals page's form: the decision, an optional comment, and the session's CSRF token. */
export const decisionFormSchema = z.strictObject({
  csrf: z.string(),
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(2000, 'expected a comment of at most 2000 characters').default(''),
});
