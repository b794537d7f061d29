/** Workflow id of a training run: the same model, data and spec always map to the same run. */
export function trainingPipelineId(modelName: string, datasetVersion: string, specHash: string): string {
  return `train-${modelName}-${datasetVersion.slice(0, 12)}-${specHash.slice(0, 12)}`;
}

/** Workflow id of a model's training slot; at most one can run, which serializes a model's pipelines. */
export const trainingSlotId = (modelName: string) => `training-slot-${modelName}`;

/** The query that lists every run waiting for a human decision (Temporal UI filter and CLI). */
export const AWAITING_APPROVAL_QUERY = `WorkflowType = "trainingPipeline" AND PipelineStage = "awaiting-approval" AND ExecutionStatus = "Running"`;
