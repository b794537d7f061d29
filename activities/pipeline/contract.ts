import type { EvaluationSummary, GateOutcome, GateSpec } from '../../shared/gates.ts';
import type { PipelineSpec } from '../../shared/pipeline.ts';
import type { ModelDiagnostics } from '../../shared/model-diagnostics.ts';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import type { PipelineTrainerSpec } from '../../shared/trainers.ts';
import type { TrustedApprovers } from '../../shared/approvers.ts';
import type { VerifiedIdentity } from '../../shared/approval.ts';

/**
 * What the training pipeline workflow asks of its activities. The workflow imports this as a type
 * only; `createPipelineActivities` implements it over the data, training, evaluation and registry
 * modules, and workflow tests replace it with typed fakes.
 */

export interface DatasetRef {
  datasetVersion: string;
  manifestKey: string;
  rows: number;
  bytes: number;
  /** True when this content was already stored: nothing new was written. */
  reused: boolean;
}

export interface FeatureTables {
  datasetVersion: string;
  featureDefinitionHash: string;
  splits: Record<'train' | 'validation' | 'test', { key: string; earlier?: string[]; rows: number }>;
  referenceStatsKey: string;
  featureNames: { numeric: string[]; categorical: string[] };
  /** Column of the label in every split: 0/1 (binary), a number (regression) or a class name (multiclass). */
  labelColumn: string;
  /** The label's kind when it is not binary (absent: binary), with its classes or transform. */
  label?: LabelTask;
}

export interface TrainedCandidate {
  /** Staged ONNX file, keyed by the run so a retry overwrites itself; registration copies it. */
  candidateKey: string;
  onnxSha256: string;
  parityMaxAbsDiff: number;
  trainSeconds: number;
  summary: Record<string, unknown>;
  /** An external trainer's library versions (name → version), recorded in the manifest. */
  libraries?: Record<string, string>;
  /** Calibration check and feature importance on the validation split, for the monitor; external trainers may leave it out. */
  diagnostics?: ModelDiagnostics;
}

export interface CandidateEvaluation {
  reportKey: string;
  summary: EvaluationSummary;
  gate: GateOutcome;
  gateReportKey: string;
}

export interface PipelineActivities {
  /**
   * `partitions`: the glob of a partitioned source (a folder or prefix), as in the spec. Without `expectedVersion`, whatever the source holds now (the online feature refresh).
   * `contract`: its value checks refuse a new partition that fails them, with a non-retryable `DatasetInvalid` naming it.
   */
  ingestDataset(input: { datasetName: string; source: string; expectedVersion?: string; partitions?: string; contract?: PipelineSpec['contract'] }): Promise<DatasetRef>;
  /** Throws a non-retryable `DatasetInvalid` failure when an error-level check fails. */
  validateDataset(input: { datasetName: string; datasetVersion: string; contract: PipelineSpec['contract'] }): Promise<{ reportKey: string; warnings: string[] }>;
  buildFeatures(input: { datasetVersion: string; features: PipelineSpec['features'] }): Promise<FeatureTables>;
  /** Writes the online feature snapshot (latest windowed values per entity) the prediction API serves from. */
  materializeOnlineFeatures(input: { datasetVersion: string; features: PipelineSpec['features'] }): Promise<{ snapshotKey: string; asOf: string }>;
  /**
   * Built-in trainers run on the pipeline queue; an `external` trainer's activity of the same name runs
   * on its own task queue. Either way the result points at an ONNX file keeping the graph contract.
   */
  trainCandidate(input: { modelName: string; runId: string; tables: FeatureTables; trainer: PipelineTrainerSpec; seed: number }): Promise<TrainedCandidate>;
  evaluateCandidate(input: {
    modelName: string;
    runId: string;
    candidate: TrainedCandidate;
    tables: FeatureTables;
    evaluation: PipelineSpec['evaluation'];
    gates: GateSpec;
  }): Promise<CandidateEvaluation>;
  registerCandidate(input: {
    runId: string;
    spec: PipelineSpec;
    dataset: DatasetRef;
    tables: FeatureTables;
    candidate: TrainedCandidate;
    evaluation: CandidateEvaluation;
    requestedBy: string;
    trigger: Record<string, unknown>;
    codeVersion: string;
    /** Where this run's reports are, by kind; recorded in the manifest. */
    reports: Record<string, string>;
  }): Promise<{ version: number }>;
  /** `verified`: the signed identities behind the decision, when the policy required them; recorded in the status history. */
  recordApprovalDecision(input: { modelName: string; version: number; outcome: 'approved' | 'rejected'; by: string; reason: string; verified?: VerifiedIdentity[] }): Promise<void>;
  /** The approvers registry with each key's fingerprint (none registered when it is absent); read when a gate that requires verified identities opens. */
  loadApprovers(input: Record<string, never>): Promise<TrustedApprovers>;
  notifyEscalation(input: { modelName: string; version: number; runId: string; escalateTo: string | undefined; deadline: string | undefined }): Promise<void>;
}
