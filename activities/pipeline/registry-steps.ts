import { Context } from '@temporalio/activity';
import type { Config } from '../../shared/config.ts';
import { evaluationKeys } from '../../shared/storage-keys.ts';
import { labelTask } from '../../shared/data/feature-spec.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import type { ModelRegistry } from '../../domain/registry/model-registry.ts';
import { stampOnnxVersion } from '../../domain/registry/stamp-onnx-metadata.ts';
import { readApproversRegistry, trustApprovers } from '../../domain/approvals/approvers-registry.ts';
import type { PipelineActivities } from './contract.ts';

/**
 * The pipeline's registry steps. Each is idempotent: registration is keyed by the run, and a decision
 * already recorded is not recorded twice, so an activity retry after a lost response is harmless.
 */
export const createRegistrySteps = (deps: { store: ArtifactStore; buckets: Config['buckets']; registry: ModelRegistry }) => {
  const registerCandidate: PipelineActivities['registerCandidate'] = async (input) => {
    const onnx = await deps.store.get(deps.buckets.models, input.candidate.candidateKey);
    // The spec goes with the model, so a retraining long after this run's history is gone still finds it.
    const specKey = evaluationKeys.spec(input.runId);
    await deps.store.put(deps.buckets.reports, specKey, JSON.stringify(input.spec, null, 2), { contentType: 'application/json' });
    const numericMetrics = Object.fromEntries(Object.entries(input.evaluation.summary.overall).filter((e): e is [string, number] => typeof e[1] === 'number'));
    const manifest = await deps.registry.register({
      registrationKey: input.runId,
      by: input.requestedBy,
      onnx: (version) => stampOnnxVersion(onnx, version),
      manifest: {
        name: input.spec.model.name,
        datasetVersion: input.dataset.datasetVersion,
        featureDefinitionHash: input.tables.featureDefinitionHash,
        codeVersion: input.codeVersion,
        trainer:
          input.spec.trainer.kind === 'external'
            ? {
                kind: `external:${input.spec.trainer.name}`,
                hyperparameters: { taskQueue: input.spec.trainer.taskQueue, ...input.spec.trainer.hyperparameters },
                ...(input.candidate.libraries ? { libraries: input.candidate.libraries } : {}),
              }
            : { kind: input.spec.trainer.kind, hyperparameters: { ...input.spec.trainer } },
        seed: input.spec.seed,
        metrics: numericMetrics,
        task: labelTask(input.spec.features),
        threshold: input.spec.evaluation.threshold,
        featureNames: input.tables.featureNames,
        reports: { ...input.reports, spec: specKey },
        origin: { workflowId: input.runId, trigger: { ...input.trigger, requestedBy: input.requestedBy } },
        ...(input.candidate.diagnostics ? { calibration: input.candidate.diagnostics.calibration, featureImportance: input.candidate.diagnostics.featureImportance } : {}),
      },
    });
    return { version: manifest.version };
  };

  const recordApprovalDecision: PipelineActivities['recordApprovalDecision'] = async (input) => {
    const view = await deps.registry.view(input.modelName, input.version);
    if (view.status === input.outcome) return;
    await deps.registry.transition(input.modelName, input.version, input.outcome, { by: input.by, reason: input.reason, ...(input.verified && { verified: input.verified }) });
  };

  const loadApprovers: PipelineActivities['loadApprovers'] = async () => trustApprovers(await readApproversRegistry(deps.store, deps.buckets.models), deps.buckets.models);

  /** No paging system is wired yet: the escalation is a warning in the worker log and a stored record. */
  const notifyEscalation: PipelineActivities['notifyEscalation'] = async (input) => {
    const record = { ...input, at: new Date().toISOString() };
    Context.current().log.warn('approval escalated', record);
    await deps.store.put(deps.buckets.reports, `escalations/${encodeURIComponent(input.runId)}.json`, JSON.stringify(record, null, 2), { contentType: 'application/json' });
  };

  return { registerCandidate, recordApprovalDecision, notifyEscalation, loadApprovers };
};
