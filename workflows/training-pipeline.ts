import {
  type ActivityOptions,
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  defineQuery,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { CandidateEvaluation, PipelineActivities } from '../activities/pipeline/contract.ts';
import type { ApprovalDecision, VerifiedIdentity } from '../shared/approval.ts';
import { type StartRolloutInput, deploymentWorkflowId } from '../shared/deployment.ts';
import { ErrorType } from '../shared/errors.ts';
import { NON_RETRYABLE_FAILURE_TYPES as NON_RETRYABLE } from '../shared/failure.ts';
import { parseInput } from '../shared/parse-input.ts';
import { type PipelineInput, type PipelineOutcome, type PipelineStage, pipelineInputSchema } from '../shared/pipeline.ts';
import { trainingSlotId } from '../shared/pipeline-identity.ts';
import { searchAttributeKeys } from '../shared/search-attributes.ts';
import { ApprovalGate, type ApprovalState } from './approval-gate.ts';
import { notify } from './notify.ts';
import type { modelDeployment } from './model-deployment.ts';
import { trainingSlot } from './training-slot.ts';

/** Patch: a label check that fails while features are built ends the run `validation-failed` (before: the run failed). */
const LABEL_CHECK_OUTCOME = 'label-check-outcome';

const dataIo = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

// A retry after a heartbeat timeout waits only a second more: a crashed worker's training resumes within the timeout (plus that second) once a worker polls.
const longTraining = {
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const shortIo = {
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const data = proxyActivities<PipelineActivities>(dataIo);
const training = proxyActivities<PipelineActivities>(longTraining);
const registry = proxyActivities<PipelineActivities>(shortIo);

export interface PipelineStatus {
  stage: PipelineStage;
  stages: { stage: PipelineStage; startedAt: string; detail: string }[];
  modelName: string;
  datasetVersion: string;
  modelVersion?: number;
  evaluation?: Pick<CandidateEvaluation, 'reportKey' | 'gateReportKey' | 'summary' | 'gate'>;
  reports: Record<string, string>;
  approval: ApprovalState;
  /** Set when an approved version was handed to the model's deployment workflow. */
  deployment?: { workflowId: string; via: 'started' | 'signalled' };
}

export const pipelineStatusQuery = defineQuery<PipelineStatus>('status');

/**
 * From a dataset to a registered, approved model: ingest, validate, build features, train, evaluate,
 * gate, register, and wait for a human decision. Runs of one model are serialized by a training-slot
 * child workflow: a second run while one is in flight ends at once as `slot-busy`.
 */
export async function trainingPipeline(rawInput: PipelineInput): Promise<PipelineOutcome> {
  const { spec, datasetVersion, requestedBy, trigger, codeVersion, heartbeatTimeout } = parseInput(
    pipelineInputSchema,
    rawInput,
    (problems) => `Invalid pipeline spec (${problems.length} problem${problems.length > 1 ? 's' : ''}): ${problems.join('; ')}`,
  );
  const runId = workflowInfo().workflowId;
  const modelName = spec.model.name;

  const gate = new ApprovalGate(spec.approval, requestedBy);
  const status: PipelineStatus = { stage: 'ingesting', stages: [], modelName, datasetVersion, reports: {}, approval: gate.state };
  setHandler(pipelineStatusQuery, () => status);

  const enter = (stage: PipelineStage, details: string) => {
    status.stage = stage;
    status.stages.push({ stage, startedAt: new Date().toISOString(), detail: details });
    upsertSearchAttributes([{ key: searchAttributeKeys.PipelineStage, value: stage }]);
    setCurrentDetails(`**${stage}**: ${details}`);
  };
  const memo = () => upsertMemo({ spec: { model: modelName, dataset: spec.dataset, trainer: spec.trainer.kind, seed: spec.seed, requestedBy, trigger }, reports: status.reports });

  upsertSearchAttributes([
    { key: searchAttributeKeys.ModelName, value: modelName },
    { key: searchAttributeKeys.DatasetVersion, value: datasetVersion },
  ]);
  memo();

  let slot;
  try {
    slot = await startChild(trainingSlot, {
      workflowId: trainingSlotId(modelName),
      args: [{ modelName, holder: runId }],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      staticSummary: `Holds ${modelName}'s training slot for ${runId}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    enter('slot-busy', 'another pipeline is running for this model');
    const message = `Another training pipeline is already running for model ${modelName} (it holds workflow ${trainingSlotId(modelName)}); this run did nothing. Wait for it to finish or cancel it, then start again.`;
    return { status: 'slot-busy', modelName, message };
  }

  try {
    enter('ingesting', `storing ${spec.dataset.source}`);
    const dataset = await data.ingestDataset.executeWithOptions({ ...dataIo, heartbeatTimeout, summary: `Ingest ${spec.dataset.name} from ${spec.dataset.source}` }, [
      { datasetName: spec.dataset.name, source: spec.dataset.source, expectedVersion: datasetVersion, contract: spec.contract, ...(spec.dataset.partitions === undefined ? {} : { partitions: spec.dataset.partitions }) },
    ]);
    status.reports.datasetManifest = dataset.manifestKey;

    /** A failed data check (the contract's, or the labels' while features are built) ends the run `validation-failed`, with its report. */
    const validationFailed = (err: unknown): PipelineOutcome | undefined => {
      const failure = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === ErrorType.DatasetInvalid ? err.cause : undefined;
      if (!failure) return undefined;
      const [details] = failure.details as [{ reportKey: string; failedChecks: string[] }];
      status.reports.validation = details.reportKey;
      enter('validation-failed', failure.message);
      memo();
      return { status: 'validation-failed', datasetVersion, reportKey: details.reportKey, failedChecks: details.failedChecks };
    };

    enter('validating', `checking ${dataset.rows} rows against the contract`);
    try {
      const validation = await data.validateDataset.executeWithOptions({ ...dataIo, heartbeatTimeout, summary: `Validate ${spec.dataset.name} ${datasetVersion.slice(0, 12)}` }, [
        { datasetName: spec.dataset.name, datasetVersion, contract: spec.contract },
      ]);
      status.reports.validation = validation.reportKey;
    } catch (err) {
      const outcome = validationFailed(err);
      if (!outcome) throw err;
      return outcome;
    }
    memo();

    enter('building-features', 'point-in-time feature tables and reference statistics');
    let tables;
    try {
      tables = await data.buildFeatures.executeWithOptions({ ...dataIo, heartbeatTimeout, summary: `Build features for ${datasetVersion.slice(0, 12)}` }, [{ datasetVersion, features: spec.features }]);
    } catch (err) {
      // Runs started before label checks reported this way failed instead; they replay as they ran.
      const outcome = patched(LABEL_CHECK_OUTCOME) ? validationFailed(err) : undefined;
      if (!outcome) throw err;
      return outcome;
    }
    status.reports.referenceStats = tables.referenceStatsKey;

    enter('training', `${spec.trainer.kind} on ${tables.splits.train.rows} rows, validating on ${tables.splits.validation.rows}`);
    const trainer = spec.trainer;
    const trainingOptions =
      trainer.kind === 'external'
        ? { ...longTraining, heartbeatTimeout, taskQueue: trainer.taskQueue, summary: `Train with external trainer ${trainer.name} on task queue ${trainer.taskQueue}` }
        : { ...longTraining, heartbeatTimeout, summary: `Train ${trainer.kind} (seed ${spec.seed})` };
    const candidate = await training.trainCandidate.executeWithOptions(trainingOptions, [
      { modelName, runId, tables, trainer: spec.trainer, seed: spec.seed },
    ]);

    enter('evaluating', `scoring ${tables.splits.test.rows} test rows with the exported ONNX model and the champion`);
    const evaluation = await training.evaluateCandidate.executeWithOptions({ ...longTraining, heartbeatTimeout, summary: `Evaluate candidate against gates and champion` }, [
      { modelName, runId, candidate, tables, evaluation: spec.evaluation, gates: spec.gates },
    ]);
    status.evaluation = { reportKey: evaluation.reportKey, gateReportKey: evaluation.gateReportKey, summary: evaluation.summary, gate: evaluation.gate };
    status.reports.evaluation = evaluation.reportKey;
    status.reports.gates = evaluation.gateReportKey;
    memo();
    if (!evaluation.gate.passed) {
      enter('gate-failed', evaluation.gate.failed.join('; '));
      await notify('gate.failed', modelName, `${modelName}: gates failed in ${runId}, nothing registered: ${evaluation.gate.failed.join('; ')}`, {
        runId,
        failed: evaluation.gate.failed,
        metrics: evaluation.summary,
        evaluationReportKey: evaluation.reportKey,
      });
      return { status: 'gate-failed', datasetVersion, evaluationReportKey: evaluation.reportKey, gate: evaluation.gate };
    }

    enter('materializing', 'online feature snapshot for serving');
    const online = await data.materializeOnlineFeatures.executeWithOptions({ ...dataIo, heartbeatTimeout, summary: 'Materialize online features' }, [{ datasetVersion, features: spec.features }]);
    status.reports.onlineFeatures = online.snapshotKey;
    memo();

    enter('registering', 'writing the manifest and model to the registry');
    const { version } = await registry.registerCandidate.executeWithOptions({ ...shortIo, summary: `Register ${modelName}` }, [
      { runId, spec, dataset, tables, candidate, evaluation, requestedBy, trigger, codeVersion, reports: status.reports },
    ]);
    status.modelVersion = version;
    upsertSearchAttributes([{ key: searchAttributeKeys.ModelVersion, value: version }]);

    // Read only when the policy asks for signed decisions, so runs without it issue the same commands as before (replay).
    const trusted = spec.approval.requireVerifiedIdentity ? await registry.loadApprovers.executeWithOptions({ ...shortIo, summary: 'Load the approvers registry' }, [{}]) : undefined;
    enter('awaiting-approval', `${modelName} v${version} needs ${spec.approval.requiredApprovals} approval(s) within ${spec.approval.timeout}${trusted ? ', each signed by a registered approver' : ''}`);
    // The gate opens first (synchronously, at the call), so a decision sent the moment the stage shows is taken.
    const decided = gate.wait(async (escalateTo) => {
      enter('approval-escalated', `no decision within ${spec.approval.timeout}; escalated to ${escalateTo ?? 'the escalation contact'}`);
      await registry.notifyEscalation({ modelName, version, runId, escalateTo, deadline: gate.state.deadline });
      await notify('approval.escalated', modelName, `${modelName} v${version}: no decision within ${spec.approval.timeout}; escalated to ${escalateTo ?? 'the escalation contact'}`, { runId, escalateTo, deadline: gate.state.deadline }, version);
    }, trusted);
    await notify(
      'approval.requested',
      modelName,
      `${modelName} v${version} passed its gates and needs ${spec.approval.requiredApprovals} approval(s) within ${spec.approval.timeout} (run ${runId})`,
      { runId, requiredApprovals: spec.approval.requiredApprovals, timeout: spec.approval.timeout, metrics: evaluation.summary, evaluationReportKey: evaluation.reportKey },
      version,
    );
    const decision = await decided;

    if (decision.outcome === 'approved') {
      const approvers = decision.approvals.map((a) => a.by).join(', ');
      const comments = decision.approvals.filter((a) => a.comment).map((a) => `${a.by}: ${a.comment}`).join(' | ');
      await registry.recordApprovalDecision({ modelName, version, outcome: 'approved', by: approvers, reason: comments || `approved by ${approvers}`, ...verifiedOf(decision.approvals) });
      enter('approved', `approved by ${approvers}`);
      await notify('approval.decided', modelName, `${modelName} v${version} approved by ${approvers}`, { runId, outcome: 'approved', decisions: decision.approvals }, version);
      if (spec.rollout) status.deployment = await handOver(modelName, { version, plan: spec.rollout, by: approvers, reason: `approved in ${runId}` });
      await condition(allHandlersFinished);
      return { status: 'approved', modelName, version, datasetVersion, evaluationReportKey: evaluation.reportKey, decisions: decision.approvals };
    }
    const reason = decision.rejection.comment || `rejected by ${decision.rejection.by}`;
    await registry.recordApprovalDecision({ modelName, version, outcome: 'rejected', by: decision.rejection.by, reason, ...verifiedOf([decision.rejection]) });
    enter('rejected', reason);
    await notify('approval.decided', modelName, `${modelName} v${version} rejected: ${reason}`, { runId, outcome: 'rejected', decisions: [...decision.approvals, decision.rejection] }, version);
    await condition(allHandlersFinished);
    return { status: 'rejected', modelName, version, datasetVersion, evaluationReportKey: evaluation.reportKey, decisions: [...decision.approvals, decision.rejection], reason };
  } finally {
    await slot.signal('release');
    await slot.result();
  }
}

/** The signed identities behind decisions, for the registry record; nothing when none was signed (the activity input stays as it was). */
function verifiedOf(decisions: ApprovalDecision[]): { verified?: VerifiedIdentity[] } {
  const verified = decisions.flatMap((d) => (d.verified ? [{ approver: d.verified.approver, signer: d.verified.signer, keyFingerprint: d.verified.keyFingerprint, signedAt: d.verified.signedAt, roles: d.verified.roles }] : []));
  return verified.length > 0 ? { verified } : {};
}

/**
 * Hands an approved version to the model's deployment workflow: starts it with the rollout (as an
 * abandoned child, so it outlives this run) or, when it already runs, signals `startRollout`. A
 * deployment busy with another rollout records the signal as ignored, with the reason, in its state.
 */
async function handOver(modelName: string, start: StartRolloutInput): Promise<{ workflowId: string; via: 'started' | 'signalled' }> {
  const workflowId = deploymentWorkflowId(modelName);
  try {
    await startChild<typeof modelDeployment>('modelDeployment', {
      workflowId,
      args: [{ model: modelName, start }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `Deploys ${modelName}; started to roll out v${start.version}`,
    });
    return { workflowId, via: 'started' };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    await getExternalWorkflowHandle(workflowId).signal<[StartRolloutInput]>('startRollout', start);
    return { workflowId, via: 'signalled' };
  }
}
