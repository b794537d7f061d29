/**
 * Object keys, in one place, so every artifact's address says what it is (DESIGN invariant 2) and
 * no module builds a key by hand.
 */
export const storageKeys = {
  /** Probe objects written by the `stackCheck` workflow; keyed by workflow id so a retry overwrites itself. */
  stackProbe: (workflowId: string, bucket: string) => `_probes/${encodeURIComponent(workflowId)}/${bucket}.json`,
} as const;

const pad = (version: number) => `v${String(version).padStart(6, '0')}`;

/** Keys in the models bucket. Zero-padded versions list in numeric order. */
export const registryKeys = {
  index: (model: string) => `${model}/index.json`,
  versionPrefix: (model: string, version: number) => `${model}/versions/${pad(version)}/`,
  manifest: (model: string, version: number) => `${model}/versions/${pad(version)}/manifest.json`,
  onnx: (model: string, version: number) => `${model}/versions/${pad(version)}/model.onnx`,
} as const;

/** Keys in the models bucket for a training run's candidate, before (and whether or not) it is registered. */
export const candidateKeys = {
  onnx: (runId: string) => `_candidates/${encodeURIComponent(runId)}/model.onnx`,
  checkpoint: (runId: string) => `_candidates/${encodeURIComponent(runId)}/checkpoint.json`,
} as const;

/** Keys in the reports bucket for a training run's evaluation, and the pipeline spec it ran with (what retraining reuses). */
export const evaluationKeys = {
  spec: (runId: string) => `pipeline-specs/${encodeURIComponent(runId)}/spec.json`,
  report: (runId: string) => `evaluations/${encodeURIComponent(runId)}/evaluation.json`,
  gates: (runId: string) => `evaluations/${encodeURIComponent(runId)}/gates.json`,
} as const;

/** Keys in the datasets bucket: raw bytes and manifests by content SHA-256, histories by dataset name. */
export const datasetKeys = {
  source: (version: string, format: 'parquet' | 'csv') => `sha256=${version}/source.${format}`,
  manifest: (version: string) => `sha256=${version}/manifest.json`,
  history: (datasetName: string) => `names/${encodeURIComponent(datasetName)}/history.json`,
  /** A partition's bytes by their SHA-256, shared by every version (and every source) that contains them. */
  partition: (sha256: string, format: 'parquet' | 'csv') => `partitions/sha256=${sha256}.${format}`,
  /** The newest version ingested from a partitioned source, by the SHA-256 of (source, glob): what the next ingest lists against. */
  latestOfSource: (sourceId: string) => `sources/${sourceId}/latest.json`,
} as const;

/** Keys in the reports bucket for dataset validation: one report per (dataset version, contract hash). */
export const validationKeys = {
  report: (datasetVersion: string, contractHash: string) => `validation/dataset=${datasetVersion}/contract=${contractHash}.json`,
  /** Labels a regression or multiclass model cannot learn from, found while building features: one report per (dataset version, feature-definition hash). */
  labelReport: (datasetVersion: string, featureDefinitionHash: string) => `validation/dataset=${datasetVersion}/labels-spec=${featureDefinitionHash}.json`,
} as const;

/** Keys in the features bucket: everything a feature build writes, by (feature-definition hash, dataset version). */
export const featureKeys = {
  prefix: (specHash: string, datasetVersion: string) => `spec=${specHash}/dataset=${datasetVersion}/`,
  table: (specHash: string, datasetVersion: string, split: string) => `spec=${specHash}/dataset=${datasetVersion}/${split}.parquet`,
  referenceStats: (specHash: string, datasetVersion: string) => `spec=${specHash}/dataset=${datasetVersion}/reference-stats.json`,
  /** The events an incremental build of a later, appended dataset version needs as lookback. */
  lookback: (specHash: string, datasetVersion: string) => `spec=${specHash}/dataset=${datasetVersion}/lookback-events.parquet`,
  /** Written last: its presence means the build is complete. */
  manifest: (specHash: string, datasetVersion: string) => `spec=${specHash}/dataset=${datasetVersion}/manifest.json`,
} as const;

/** Keys in the serving bucket for online feature snapshots, by (feature-definition hash, dataset version, as-of instant). */
export const onlineFeatureKeys = {
  /** Every snapshot of one feature definition, across dataset versions and instants. */
  specPrefix: (specHash: string) => `online-features/spec=${specHash}/`,
  /** The compact encoding (formats/online-snapshot); snapshots written before it end in `.json` and stay readable. */
  snapshot: (specHash: string, datasetVersion: string, asOfIso: string) => `online-features/spec=${specHash}/dataset=${datasetVersion}/as-of=${asOfIso}.snap`,
} as const;

/** Keys in the reports bucket for notifications: the webhooks (`sluice webhooks`), and what could not be delivered. */
export const notificationKeys = {
  webhooks: 'config/webhooks.json',
  /** One record per (notification, webhook) given up on, by the day it was raised. */
  deadLetter: (day: string, notificationId: string, webhookId: string) => `notifications/dead-letter/day=${day}/${notificationId}-${webhookId}.json`,
} as const;

/** Keys in the reports bucket for erasures of prediction-log rows (`sluice erase`): one record per erasure run, by its workflow id. */
export const erasureKeys = {
  prefix: (model: string) => `erasures/model=${model}/`,
  record: (model: string, erasureId: string) => `erasures/model=${model}/${encodeURIComponent(erasureId)}.json`,
} as const;
