export { modelDeployment } from './model-deployment.ts';
export { stackCheck } from './stack-check.ts';
export { trainingPipeline } from './training-pipeline.ts';
export { trainingSlot } from './training-slot.ts';
export { driftMonitor } from './drift-monitor.ts';
export { batchScoring } from './batch-scoring.ts';
export { scheduledRetraining } from './scheduled-retraining.ts';
export { refreshOnlineFeatures } from './refresh-online-features.ts';
