/** Workflow id of a training run: the same model, data and spec always map to the same run. */
export function trainingPipelineId(modelName: string, datasetVersion: string, specHash: string): string {
  return `train-${modelName}-${datasetVersion.slice(0, 12)}-${specHash.slice(0, 12)}`;
}

const TRAINING_PIPELINE_ID = /^train-([a-z][a-z0-9-]{1,62})-[0-9a-f]{12}-[0-9a-f]{12}$/;

/** The model a training run's workflow id names (its two hashes have a fixed length, so the name's hyphens are no ambiguity); undefined for any other id. */
export function trainingPipelineModel(workflowId: string): string | undefined {
  return TRAINING_PIPELINE_ID.exec(workflowId)?.[1];
}

/** Workflow id of a model's training slot; at most one can run, which serializes a model's pipelines. */
export const trainingSlotId = (modelName: string) => `training-slot-${modelName}`;

/** The query that lists every run waiting for a human decision (Temporal UI filter and CLI). */
export const AWAITING_APPROVAL_QUERY = `WorkflowType = "trainingPipeline" AND PipelineStage = "awaiting-approval" AND ExecutionStatus = "Running"`;
