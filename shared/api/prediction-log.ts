/**
 * Where the prediction API writes what it served, in the predictions bucket. Hive-style partitions
 * (`model=…/hour=…`) let DuckDB, Spark or Athena prune by model and time; each file holds one model
 * version, so its `features` struct has that version's feature names and types.
 *
 * Prediction log columns, every file: request_id, event_index, predicted_at (UTC), model,
 * model_version, route (primary | canary | shadow), routing_key, score (FLOAT, the version's headline
 * number), latency_ms, features; and by the version's label kind (one file holds one version, so one kind):
 * - binary: score = P(label), plus threshold and label (score ≥ threshold), as files always had;
 * - regression: score = value = the prediction in the label's units (`value`, FLOAT);
 * - multiclass: `class` (VARCHAR, the most probable class, the first on a tie), score = its
 *   probability, and `probabilities` (STRUCT of one FLOAT per class, named by the class, in the
 *   manifest's `task.classes` order).
 *
 * Failed predictions (a version was chosen, then feature assembly or scoring failed and the caller got
 * a 5xx) go to a log of their own under `prediction-failures/`, outside `predictions/` so readers of
 * served predictions (drift monitoring) never meet rows without scores. Columns: request_id,
 * failed_at (UTC), model, model_version, route, routing_key, events (how many the request held),
 * error (the API error code, e.g. Internal or Timeout), latency_ms.
 */

export const PREDICTION_ROUTES = ['primary', 'canary', 'shadow'] as const;
export type PredictionRoute = (typeof PREDICTION_ROUTES)[number];

/** `2026-11-23T15` for an instant in that UTC hour. */
export const hourPartition = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 13);

/** `v000007`: how a log file's name starts, so a reader picks one version's files from a listing. */
export const versionTag = (version: number) => `v${String(version).padStart(6, '0')}`;

/**
 * The API writes small files (`v<version>-<ms>-<random>.parquet`, one per flush); the hourly
 * compaction merges one version's files of a closed hour into `v<version>-compacted.parquet`, which
 * names the small files it holds in its Parquet key-value metadata (see domain/prediction-log/).
 */
export const predictionLogKeys = {
  prefix: (model: string) => `predictions/model=${model}/`,
  hourPrefix: (model: string, hour: string) => `predictions/model=${model}/hour=${hour}/`,
  file: (model: string, hour: string, fileId: string) => `predictions/model=${model}/hour=${hour}/${fileId}.parquet`,
  compacted: (model: string, hour: string, version: number) => `predictions/model=${model}/hour=${hour}/${versionTag(version)}-compacted.parquet`,
  /** How far the compaction of a model has got (JSON), outside `predictions/` so log readers never list it. */
  compactionState: (model: string) => `prediction-log-compaction/model=${model}.json`,
  /** How far the retention of a model's feedback labels has got (JSON), beside the compaction's. */
  retentionState: (model: string) => `prediction-log-retention/model=${model}.json`,
} as const;

export const predictionFailureKeys = {
  prefix: (model: string) => `prediction-failures/model=${model}/`,
  file: (model: string, hour: string, fileId: string) => `prediction-failures/model=${model}/hour=${hour}/${fileId}.parquet`,
} as const;

export const feedbackKeys = {
  prefix: 'feedback/',
  hourPrefix: (hour: string) => `feedback/hour=${hour}/`,
  /**
   * JSON lines, one label each: request_id, event_index, label, observed_at, received_at, received_from,
   * feedback_request_id, and model when the labels came through the model's own route. `label` is JSON
   * true/false (binary), a number (regression) or a string (multiclass): readers cast it by the model's kind.
   */
  file: (hour: string, fileId: string) => `feedback/hour=${hour}/${fileId}.jsonl`,
} as const;
