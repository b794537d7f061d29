import { type Progress, startProgress } from '../heartbeat.ts';
import { InferenceSession } from 'onnxruntime-node';
import type { Config } from '../../shared/config.ts';
import { parseExpression } from '../../shared/data/expression.ts';
import type { EvaluationSummary, MetricValues } from '../../shared/gates.ts';
import { evaluationKeys } from '../../shared/storage-keys.ts';
import { type ClassificationMetrics, MetricInputError, classificationMetrics } from '../../domain/evaluation/metrics.ts';
import { evaluateGates } from '../../domain/evaluation/gates.ts';
import { binaryCurves, regressionCurves } from '../../domain/evaluation/curves.ts';
import { type MulticlassMetrics, type RegressionMetrics, multiclassMetrics, regressionMetrics } from '../../domain/evaluation/task-metrics.ts';
import { expressionToSql, quoteIdentifier, valueTypeOfDuckDbType } from '../../domain/features/expression/expression-sql.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { ModelNotFoundError, type ModelRegistry } from '../../domain/registry/model-registry.ts';
import type { FeatureMatrix } from '../../domain/training/feature-matrix.ts';
import type { CandidateEvaluation, PipelineActivities } from './contract.ts';
import { measureOnnxLatency, scoreWithOnnx } from '../../domain/scoring/score-onnx.ts';
import { type StagedTables, stageTables } from './stage-tables.ts';

type EvaluateInput = Parameters<PipelineActivities['evaluateCandidate']>[0];

/** The gate-facing numbers of a metrics record. */
function metricValues(m: ClassificationMetrics): MetricValues {
  return {
    rocAuc: m.rocAuc,
    averagePrecision: m.averagePrecision,
    logLoss: m.logLoss,
    brierScore: m.brierScore,
    expectedCalibrationError: m.expectedCalibrationError,
    precision: m.atThreshold.precision,
    recall: m.atThreshold.recall,
    f1: m.atThreshold.f1,
  };
}

function subset(labels: Uint8Array, scores: Float32Array, rows: number[]) {
  const l = new Uint8Array(rows.length);
  const s = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    l[i] = labels[r] as number;
    s[i] = scores[r] as number;
  });
  return { labels: l, scores: s };
}

/** Slice value of every test row, in the row order the matrix was loaded in. */
async function sliceKeys(staged: StagedTables, expression: string): Promise<string[]> {
  const source = staged.relation('test');
  const described = await staged.connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
  const types: Record<string, NonNullable<ReturnType<typeof valueTypeOfDuckDbType>>> = {};
  for (const row of described.getRowObjects()) {
    const type = valueTypeOfDuckDbType(String(row.column_type));
    if (type) types[String(row.column_name)] = type;
  }
  const sql = expressionToSql(parseExpression(expression), types, quoteIdentifier);
  const result = await staged.connection.runAndReadAll(`SELECT CAST(${sql} AS VARCHAR) AS slice FROM ${source}`);
  return result.getColumns()[0]?.map((v) => (v === null ? '(null)' : String(v))) ?? [];
}

/** The test rows of every slice value of every slice spec, values in text order: what both evaluations judge per slice. */
async function sliceGroups(staged: StagedTables, specs: EvaluateInput['evaluation']['slices']): Promise<{ slice: string; value: string; rows: number[] }[]> {
  const out: { slice: string; value: string; rows: number[] }[] = [];
  for (const spec of specs) {
    const groups = new Map<string, number[]>();
    (await sliceKeys(staged, spec.expression)).forEach((key, row) => {
      const rows = groups.get(key) ?? [];
      rows.push(row);
      groups.set(key, rows);
    });
    for (const [value, rows] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) out.push({ slice: spec.name, value, rows });
  }
  return out;
}

/** What the gates read, whatever the label kind: the overall figures with latency, each slice's, and the champion's. */
function evaluationSummary(
  overall: Record<string, number>,
  latency: Awaited<ReturnType<typeof measureOnnxLatency>>,
  slices: readonly { slice: string; value: string; rows: number; values: Record<string, number> }[],
  champion: { version: number | undefined; overall: Record<string, number> } | undefined,
): EvaluationSummary {
  return {
    overall: {
      ...overall,
      latencyP50Ms: latency.batch1.p50Ms,
      latencyP95Ms: latency.batch1.p95Ms,
      latencyP99Ms: latency.batch1.p99Ms,
      throughputRowsPerSecond: latency.batch1024.rowsPerSecond,
    },
    slices: slices.map((s) => ({ name: `${s.slice}=${s.value}`, rows: s.rows, metrics: s.values })),
    ...(champion && champion.version !== undefined ? { champion: { version: champion.version, overall: champion.overall } } : {}),
  };
}

function safeMetrics(labels: Uint8Array, scores: Float32Array, threshold: number): { metrics?: ClassificationMetrics; note?: string } {
  try {
    return { metrics: classificationMetrics(labels, scores, threshold) };
  } catch (err) {
    if (err instanceof MetricInputError) return { note: err.message };
    throw err;
  }
}

async function scoreChampion(registry: ModelRegistry, modelName: string, test: FeatureMatrix, names: { numeric: string[]; categorical: string[] }) {
  let championVersion: number | undefined;
  try {
    championVersion = (await registry.index(modelName)).aliases.champion;
  } catch (err) {
    if (err instanceof ModelNotFoundError) return { skipped: 'the model has no registered versions yet' };
    throw err;
  }
  if (championVersion === undefined) return { skipped: 'no version is champion yet' };
  const manifest = await registry.manifest(modelName, championVersion);
  if (JSON.stringify(manifest.featureNames) !== JSON.stringify(names)) {
    return { skipped: `champion v${championVersion} uses other features (${[...manifest.featureNames.numeric, ...manifest.featureNames.categorical].join(', ')}); it cannot score this test split` };
  }
  const session = await InferenceSession.create(await registry.onnx(modelName, championVersion));
  try {
    return { version: championVersion, scores: await scoreWithOnnx(session, test) };
  } finally {
    await session.release();
  }
}

/**
 * Scores the held-out test split with the exported ONNX file (the bytes that will serve) and the
 * current champion in the same run, per declared slice too; measures the model's latency; judges
 * the gates. The full report and the gate outcome are stored; the workflow gets the summary.
 */
export const createEvaluateCandidate =
  (deps: { store: ArtifactStore; buckets: Config['buckets']; registry: ModelRegistry }): PipelineActivities['evaluateCandidate'] =>
  async (input: EvaluateInput): Promise<CandidateEvaluation> => {
    // Heartbeats from a timer: scoring half a million rows or the latency loop is one long step.
    using progress = startProgress('evaluateCandidate');
    await using staged = await stageTables(deps.store, deps.buckets.features, input.tables, ['test']);
    const test = await staged.matrix('test');
    const threshold = input.evaluation.threshold;

    progress.report({ stage: 'scoring candidate', rows: test.rows });
    const session = await InferenceSession.create(await deps.store.get(deps.buckets.models, input.candidate.candidateKey));
    let scores: Float32Array;
    let latency;
    try {
      scores = await scoreWithOnnx(session, test);
      progress.report({ stage: 'measuring latency' });
      latency = await measureOnnxLatency(session, test);
    } finally {
      await session.release();
    }
    // Awaited here, not returned as a promise: `staged` is disposed when this scope exits, and the slices still read it.
    if (test.task !== undefined) return await evaluateOtherKind(deps, input, staged, test, scores, latency, progress);
    const overall = classificationMetrics(test.label, scores, threshold);

    progress.report({ stage: 'scoring champion' });
    const champion = await scoreChampion(deps.registry, input.modelName, test, input.tables.featureNames);
    const championMetrics = 'scores' in champion && champion.scores ? classificationMetrics(test.label, champion.scores, threshold) : undefined;

    progress.report({ stage: 'slices' });
    const slices = (await sliceGroups(staged, input.evaluation.slices)).map(({ slice, value, rows }) => {
      const part = subset(test.label, scores, rows);
      return { slice, value, rows: rows.length, ...safeMetrics(part.labels, part.scores, threshold) };
    });
    const judged = slices.filter((s) => s.metrics);
    const worstSlice = judged.reduce<(typeof judged)[number] | undefined>((worst, s) => (!worst || (s.metrics?.rocAuc ?? 1) < (worst.metrics?.rocAuc ?? 1) ? s : worst), undefined);

    const summary = evaluationSummary(
      metricValues(overall),
      latency,
      slices.map((s) => ({ ...s, values: s.metrics ? metricValues(s.metrics) : {} })),
      championMetrics && 'version' in champion ? { version: champion.version, overall: metricValues(championMetrics) } : undefined,
    );
    const gate = evaluateGates(input.gates, summary);

    const reportKey = evaluationKeys.report(input.runId);
    const gateReportKey = evaluationKeys.gates(input.runId);
    const report = {
      runId: input.runId,
      modelName: input.modelName,
      candidate: { key: input.candidate.candidateKey, sha256: input.candidate.onnxSha256 },
      datasetVersion: input.tables.datasetVersion,
      featureDefinitionHash: input.tables.featureDefinitionHash,
      testRows: test.rows,
      threshold,
      overall,
      latency,
      slices,
      worstSlice: worstSlice ? { name: `${worstSlice.slice}=${worstSlice.value}`, rows: worstSlice.rows, rocAuc: worstSlice.metrics?.rocAuc } : null,
      // The champion's curves beside the candidate's, from the same rows, so the console overlays them without rescoring.
      champion:
        championMetrics && 'version' in champion && champion.scores
          ? { version: champion.version, overall: championMetrics, curves: binaryCurves(test.label, champion.scores) }
          : { skipped: 'skipped' in champion ? champion.skipped : 'unknown' },
      curves: binaryCurves(test.label, scores),
    };
    await deps.store.put(deps.buckets.reports, reportKey, JSON.stringify(report, null, 2), { contentType: 'application/json' });
    await deps.store.put(deps.buckets.reports, gateReportKey, JSON.stringify({ runId: input.runId, gates: input.gates, outcome: gate }, null, 2), { contentType: 'application/json' });
    return { reportKey, gateReportKey, summary, gate };
  };

type TaskReport = { metrics?: RegressionMetrics | MulticlassMetrics; note?: string };

/** The gate-facing numbers of a regression or multiclass metrics record. */
function taskMetricValues(m: RegressionMetrics | MulticlassMetrics): MetricValues {
  if ('rmse' in m) return { rmse: m.rmse, mae: m.mae, r2: m.r2, ...(m.maeOverMean === null ? {} : { maeOverMean: m.maeOverMean }) };
  return { logLoss: m.logLoss, accuracy: m.accuracy, macroF1: m.macroF1, ...(m.macroAuc === null ? {} : { macroAuc: m.macroAuc }) };
}

function taskMetrics(test: FeatureMatrix, scores: Float32Array, rows?: number[]): TaskReport {
  const pick = <T extends Float32Array | Float64Array | Uint8Array>(values: T, width = 1): T => {
    if (!rows) return values;
    const out = new (values.constructor as new (n: number) => T)(rows.length * width);
    rows.forEach((r, i) => out.set(values.subarray(r * width, (r + 1) * width), i * width));
    return out;
  };
  try {
    if (test.task?.kind === 'regression') return { metrics: regressionMetrics(pick(test.task.values), pick(scores)) };
    if (test.task?.kind === 'multiclass') return { metrics: multiclassMetrics(pick(test.label), pick(scores, test.task.classes.length), test.task.classes) };
  } catch (err) {
    if (err instanceof MetricInputError) return { note: err.message };
    throw err;
  }
  throw new MetricInputError('a binary test split is evaluated by classificationMetrics');
}

/**
 * Regression and multiclass: the same steps as binary (candidate and champion on the test split,
 * slices, latency, gates), with the kind's metrics. Residual quantiles and calibration by decile
 * (regression), per-class figures and the confusion matrix (multiclass) go into the report.
 */
async function evaluateOtherKind(
  deps: { store: ArtifactStore; buckets: Config['buckets']; registry: ModelRegistry },
  input: EvaluateInput,
  staged: StagedTables,
  test: FeatureMatrix,
  scores: Float32Array,
  latency: Awaited<ReturnType<typeof measureOnnxLatency>>,
  progress: Progress,
): Promise<CandidateEvaluation> {
  const overallReport = taskMetrics(test, scores);
  if (!overallReport.metrics) throw new MetricInputError(`the test split cannot be scored: ${overallReport.note}`);
  const overall = overallReport.metrics;

  progress.report({ stage: 'scoring champion' });
  const champion = await scoreChampion(deps.registry, input.modelName, test, input.tables.featureNames);
  const championMetrics = 'scores' in champion && champion.scores ? taskMetrics(test, champion.scores).metrics : undefined;

  progress.report({ stage: 'slices' });
  const slices: ({ slice: string; value: string; rows: number } & TaskReport)[] = (await sliceGroups(staged, input.evaluation.slices)).map(({ slice, value, rows }) => ({
    slice,
    value,
    rows: rows.length,
    ...taskMetrics(test, scores, rows),
  }));

  const summary = evaluationSummary(
    taskMetricValues(overall),
    latency,
    slices.map((s) => ({ ...s, values: s.metrics ? taskMetricValues(s.metrics) : {} })),
    championMetrics && 'version' in champion ? { version: champion.version, overall: taskMetricValues(championMetrics) } : undefined,
  );
  const gate = evaluateGates(input.gates, summary);
  const reportKey = evaluationKeys.report(input.runId);
  const gateReportKey = evaluationKeys.gates(input.runId);
  const report = {
    runId: input.runId,
    modelName: input.modelName,
    labelKind: test.task?.kind,
    candidate: { key: input.candidate.candidateKey, sha256: input.candidate.onnxSha256 },
    datasetVersion: input.tables.datasetVersion,
    featureDefinitionHash: input.tables.featureDefinitionHash,
    testRows: test.rows,
    overall,
    latency,
    slices,
    champion:
      championMetrics && 'version' in champion && champion.scores
        ? { version: champion.version, overall: championMetrics, ...(test.task?.kind === 'regression' ? { curves: regressionCurves(test.task.values, champion.scores) } : {}) }
        : { skipped: 'skipped' in champion ? champion.skipped : 'the champion could not be scored' },
    // Multiclass needs no points of its own: its confusion matrix is in `overall`.
    ...(test.task?.kind === 'regression' ? { curves: regressionCurves(test.task.values, scores) } : {}),
  };
  await deps.store.put(deps.buckets.reports, reportKey, JSON.stringify(report, null, 2), { contentType: 'application/json' });
  await deps.store.put(deps.buckets.reports, gateReportKey, JSON.stringify({ runId: input.runId, gates: input.gates, outcome: gate }, null, 2), { contentType: 'application/json' });
  return { reportKey, gateReportKey, summary, gate };
}
