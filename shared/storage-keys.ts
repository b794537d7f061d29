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

/** Keys in the reports bucket for a training run's evaluation. */
export const evaluationKeys = {
  report: (runId: string) => `evaluations/${encodeURIComponent(runId)}/evaluation.json`,
  gates: (runId: string) => `evaluations/${encodeURIComponent(runId)}/gates.json`,
} as const;
