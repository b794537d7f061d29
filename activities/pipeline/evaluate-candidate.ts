import { Context } from '@temporalio/activity';
import { InferenceSession } from 'onnxruntime-node';
import type { Config } from '../../shared/config.ts';
import { parseExpression } from '../../shared/data/expression.ts';
import type { EvaluationSummary, MetricValues } from '../../shared/gates.ts';
import { evaluationKeys } from '../../shared/storage-keys.ts';
import { type ClassificationMetrics, MetricInputError, classificationMetrics } from '../../domain/evaluation/metrics.ts';
import { evaluateGates } from '../../domain/evaluation/gates.ts';
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
    const context = Context.current();
    await using staged = await stageTables(deps.store, deps.buckets.features, input.tables, ['test']);
    const test = await staged.matrix('test');
    const threshold = input.evaluation.threshold;

    context.heartbeat({ step: 'scoring candidate', rows: test.rows });
    const session = await InferenceSession.create(await deps.store.get(deps.buckets.models, input.candidate.candidateKey));
    let scores: Float32Array;
    let latency;
    try {
      scores = await scoreWithOnnx(session, test);
      context.heartbeat({ step: 'measuring latency' });
      latency = await measureOnnxLatency(session, test);
    } finally {
      await session.release();
    }
    const overall = classificationMetrics(test.label, scores, threshold);

    context.heartbeat({ step: 'scoring champion' });
    const champion = await scoreChampion(deps.registry, input.modelName, test, input.tables.featureNames);
    const championMetrics = 'scores' in champion && champion.scores ? classificationMetrics(test.label, champion.scores, threshold) : undefined;

    context.heartbeat({ step: 'slices' });
    const slices: { slice: string; value: string; rows: number; metrics?: ClassificationMetrics; note?: string }[] = [];
    for (const spec of input.evaluation.slices) {
      const keys = await sliceKeys(staged, spec.expression);
      const groups = new Map<string, number[]>();
      keys.forEach((key, row) => {
        const rows = groups.get(key) ?? [];
        rows.push(row);
        groups.set(key, rows);
      });
      for (const [value, rows] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        const part = subset(test.label, scores, rows);
        slices.push({ slice: spec.name, value, rows: rows.length, ...safeMetrics(part.labels, part.scores, threshold) });
      }
    }
    const judged = slices.filter((s) => s.metrics);
    const worstSlice = judged.reduce<(typeof judged)[number] | undefined>((worst, s) => (!worst || (s.metrics?.rocAuc ?? 1) < (worst.metrics?.rocAuc ?? 1) ? s : worst), undefined);

    const summary: EvaluationSummary = {
      overall: {
        ...metricValues(overall),
        latencyP50Ms: latency.batch1.p50Ms,
        latencyP95Ms: latency.batch1.p95Ms,
        latencyP99Ms: latency.batch1.p99Ms,
        throughputRowsPerSecond: latency.batch1024.rowsPerSecond,
      },
      slices: slices.map((s) => ({ name: `${s.slice}=${s.value}`, rows: s.rows, metrics: s.metrics ? metricValues(s.metrics) : {} })),
      ...(championMetrics && 'version' in champion && champion.version !== undefined ? { champion: { version: champion.version, overall: metricValues(championMetrics) } } : {}),
    };
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
      champion: championMetrics && 'version' in champion ? { version: champion.version, overall: championMetrics } : { skipped: 'skipped' in champion ? champion.skipped : 'unknown' },
    };
    await deps.store.put(deps.buckets.reports, reportKey, JSON.stringify(report, null, 2), { contentType: 'application/json' });
    await deps.store.put(deps.buckets.reports, gateReportKey, JSON.stringify({ runId: input.runId, gates: input.gates, outcome: gate }, null, 2), { contentType: 'application/json' });
    return { reportKey, gateReportKey, summary, gate };
  };
