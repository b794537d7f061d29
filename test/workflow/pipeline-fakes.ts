import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { CandidateEvaluation, PipelineActivities } from '../../activities/pipeline/contract.ts';
import { ErrorType } from '../../shared/errors.ts';
import type { PipelineInput, PipelineSpecInput } from '../../shared/pipeline.ts';
import type { TrustedApprovers } from '../../shared/approvers.ts';

/**
 * Typed fake activities for workflow tests. Each run's behaviour is chosen by its workflow id, so one
 * worker serves every test in a file; every call is recorded so tests can assert what ran.
 */

export interface RunScript {
  validationFails?: boolean;
  gatePasses?: boolean;
  /** Resolves when the test lets training finish; lets a test act while the run is mid-pipeline. */
  trainingGate?: Promise<void>;
  /** What `loadApprovers` answers (default: nobody registered). */
  approvers?: TrustedApprovers;
}

export const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export function createFakePipelineActivities() {
  const scripts = new Map<string, RunScript>();
  const calls: { runId: string; activity: keyof PipelineActivities; input: unknown }[] = [];
  const runIdOf = () => Context.current().info.workflowExecution?.workflowId ?? 'standalone';
  const record = (activity: keyof PipelineActivities, input: unknown) => {
    const runId = runIdOf();
    calls.push({ runId, activity, input });
    return scripts.get(runId) ?? {};
  };

  const activities: PipelineActivities = {
    async ingestDataset(input) {
      record('ingestDataset', input);
      const version = input.expectedVersion ?? '0'.repeat(64);
      return { datasetVersion: version, manifestKey: `sha256=${version}/manifest.json`, rows: 1000, bytes: 5000, reused: false };
    },
    async validateDataset(input) {
      const script = record('validateDataset', input);
      const reportKey = `validation/${input.datasetVersion}.json`;
      if (script.validationFails) {
        throw ApplicationFailure.nonRetryable('Dataset failed 1 error-level check: null_rate(delay)', ErrorType.DatasetInvalid, { reportKey, failedChecks: ['null_rate(delay)'] });
      }
      return { reportKey, warnings: [] };
    },
    async buildFeatures(input) {
      record('buildFeatures', input);
      return {
        datasetVersion: input.datasetVersion,
        featureDefinitionHash: sha('features'),
        splits: { train: { key: 'train.parquet', rows: 700 }, validation: { key: 'validation.parquet', rows: 150 }, test: { key: 'test.parquet', rows: 150 } },
        referenceStatsKey: 'reference-stats.json',
        featureNames: { numeric: ['distance'], categorical: ['origin'] },
        labelColumn: 'label',
      };
    },
    async materializeOnlineFeatures(input) {
      record('materializeOnlineFeatures', input);
      return { snapshotKey: `online-features/${input.datasetVersion}.json`, asOf: '2001-07-01T00:00:00.000Z' };
    },
    async trainCandidate(input) {
      const script = record('trainCandidate', input);
      await script.trainingGate;
      return { candidateKey: `staging/${input.runId}/model.onnx`, onnxSha256: sha('onnx'), parityMaxAbsDiff: 1e-7, trainSeconds: 1, summary: { trees: 10 } };
    },
    async evaluateCandidate(input): Promise<CandidateEvaluation> {
      const script = record('evaluateCandidate', input);
      const passed = script.gatePasses ?? true;
      return {
        reportKey: `evaluation/${input.runId}.json`,
        gateReportKey: `gates/${input.runId}.json`,
        summary: { overall: { rocAuc: passed ? 0.71 : 0.52 }, slices: [] },
        gate: passed
          ? { passed: true, checks: [], failed: [] }
          : {
              passed: false,
              checks: [{ kind: 'absolute', metric: 'rocAuc', scope: 'overall', value: 0.52, comparator: '>=', threshold: 0.6, verdict: 'fail' }],
              failed: ['overall rocAuc 0.5200 (needs >= 0.6000)'],
            },
      };
    },
    async registerCandidate(input) {
      record('registerCandidate', input);
      return { version: 3 };
    },
    async recordApprovalDecision(input) {
      record('recordApprovalDecision', input);
    },
    async notifyEscalation(input) {
      record('notifyEscalation', input);
    },
    async loadApprovers(input) {
      const script = record('loadApprovers', input);
      return script.approvers ?? { approvers: [], delegates: [], source: 'sluice-models/config/approvers.json' };
    },
  };
  return { activities, scripts, calls, callsOf: (runId: string) => calls.filter((c) => c.runId === runId) };
}

const example = (file: string): unknown => JSON.parse(readFileSync(new URL(`../../examples/flights/${file}`, import.meta.url), 'utf8'));
const flightsContract = example('contract.json') as PipelineSpecInput['contract'];
const flightsFeatures = example('features.json') as PipelineSpecInput['features'];

export function pipelineSpec(overrides: Partial<PipelineSpecInput> = {}): PipelineSpecInput {
  return {
    model: { name: 'flights-delay' },
    dataset: { name: 'flights', source: '/data/flights.parquet' },
    contract: flightsContract,
    features: flightsFeatures,
    trainer: { kind: 'gbdt' },
    approval: { timeout: '1 hour' },
    ...overrides,
  };
}

export function pipelineInput(overrides: Partial<PipelineInput> = {}, spec: Partial<PipelineSpecInput> = {}): PipelineInput {
  return { spec: pipelineSpec(spec), datasetVersion: sha('flights'), requestedBy: 'dana', ...overrides };
}
