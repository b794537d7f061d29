/**
 * Trains every built-in trainer on the real 2001 flights (Jan–Apr train, May validation, June test)
 * for each label kind: binary `delay > 15` (logistic regression, GBDT), regression delay minutes
 * clipped to [-30, 180] as in examples/flights-delay-minutes (ridge, GBDT squared and Huber) and
 * the four delay classes of examples/flights-delay-class (multinomial logistic regression, GBDT
 * softmax). Each model's ONNX parity is checked on the validation split; test metrics and training
 * speed are reported. The last line is one JSON object with every figure.
 *
 *   npx tsx bench/training.ts [--sample 0.1] [--kinds binary,regression,multiclass] [--trees 200]
 *
 * `--sample` keeps a fixed, hash-chosen fraction of the flights (the same rows on every run), so a
 * shared or small machine can run every kind in minutes; the reference figures use all rows.
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { logLoss, rocAuc } from '../domain/evaluation/metrics.ts';
import { multiclassMetrics, regressionMetrics } from '../domain/evaluation/task-metrics.ts';
import { regressionValues, type FeatureMatrix } from '../domain/training/feature-matrix.ts';
import { loadFeatureMatrix } from '../domain/training/load-feature-matrix.ts';
import { verifyOnnxParity } from '../domain/training/onnx-parity.ts';
import { trainModel } from '../domain/training/train-model.ts';
import type { LabelTask } from '../shared/data/feature-spec.ts';
import { trainerSpecSchema, type TrainerSpec } from '../shared/trainers.ts';

const FLIGHTS = 'node_modules/vega-datasets/data/flights-3m.parquet';
const SEED = 2001;
const KINDS = ['binary', 'regression', 'multiclass'] as const;
type Kind = (typeof KINDS)[number];

const { values: args } = parseArgs({ options: { sample: { type: 'string', default: '1' }, kinds: { type: 'string', default: KINDS.join(',') }, trees: { type: 'string', default: '200' } } });
const sample = Number(args.sample);
if (!(sample > 0 && sample <= 1)) throw new RangeError(`--sample must be in (0, 1], got ${args.sample}`);
const kinds = args.kinds.split(',').map((k) => {
  if (!(KINDS as readonly string[]).includes(k)) throw new RangeError(`--kinds: unknown kind ${k}; kinds are ${KINDS.join(', ')}`);
  return k as Kind;
});
const nTrees = Number(args.trees);

const gbdt = (overrides: Record<string, unknown> = {}) => trainerSpecSchema.parse({ kind: 'gbdt', nTrees, learningRate: 0.1, maxLeaves: 63, subsample: 0.5, earlyStoppingRounds: 20, ...overrides });
const CLASSES = ['early', 'on-time', 'late-15-60', 'late-over-60'];

/** Per kind: the label column, its task, and the trainers to compare (named for the report). */
const PLANS: Record<Kind, { label: string; task: LabelTask; trainers: { name: string; spec: TrainerSpec }[] }> = {
  binary: {
    label: 'delayed',
    task: { kind: 'binary' },
    trainers: [
      { name: 'logistic-regression', spec: trainerSpecSchema.parse({ kind: 'logistic-regression' }) },
      { name: 'gbdt', spec: gbdt() },
    ],
  },
  regression: {
    label: 'delay_minutes',
    task: { kind: 'regression', transform: { clip: { min: -30, max: 180 } } },
    trainers: [
      { name: 'linear-regression (ridge)', spec: trainerSpecSchema.parse({ kind: 'linear-regression' }) },
      { name: 'gbdt squared', spec: gbdt({ loss: 'squared' }) },
      { name: 'gbdt huber', spec: gbdt({ loss: 'huber' }) },
    ],
  },
  multiclass: {
    label: 'delay_class',
    task: { kind: 'multiclass', classes: CLASSES },
    trainers: [
      { name: 'logistic-regression (multinomial)', spec: trainerSpecSchema.parse({ kind: 'logistic-regression' }) },
      { name: 'gbdt softmax', spec: gbdt() },
    ],
  },
};

const seconds = (since: number) => (performance.now() - since) / 1000;
const round = (x: number, digits: number) => Number(x.toFixed(digits));

async function loadSplits(connection: DuckDBConnection, kind: Kind): Promise<Record<'train' | 'validation' | 'test', FeatureMatrix>> {
  const plan = PLANS[kind];
  const sampled = sample < 1 ? `WHERE hash(date, origin, destination, delay, distance) % 1000000 < ${Math.round(sample * 1_000_000)}` : '';
  const source = `SELECT hour(date) AS hour_of_day, isodow(date) AS day_of_week, distance, origin, destination, delay > 15 AS delayed,
    delay::DOUBLE AS delay_minutes,
    CASE WHEN delay < 0 THEN 'early' WHEN delay <= 15 THEN 'on-time' WHEN delay <= 60 THEN 'late-15-60' ELSE 'late-over-60' END AS delay_class,
    month(date) AS month FROM '${FLIGHTS}' ${sampled}`;
  const columns = { numeric: ['hour_of_day', 'day_of_week', 'distance'], categorical: ['origin', 'destination'], label: plan.label };
  const load = (where: string) => loadFeatureMatrix(connection, `SELECT * FROM (${source}) WHERE delay_minutes IS NOT NULL AND ${where}`, columns, plan.task);
  return { train: await load('month BETWEEN 1 AND 4'), validation: await load('month = 5'), test: await load('month = 6') };
}

/** The test metrics of a kind's headline, from the model's own predictions (ONNX parity proves they are the graph's). */
function testMetrics(kind: Kind, test: FeatureMatrix, predictions: Float64Array): Record<string, number | null> {
  switch (kind) {
    case 'binary':
      return { rocAuc: round(rocAuc(test.label, predictions), 5), logLoss: round(logLoss(test.label, predictions), 5) };
    case 'regression': {
      const m = regressionMetrics(regressionValues(test), predictions);
      return { rmse: round(m.rmse, 3), mae: round(m.mae, 3), r2: round(m.r2, 5), maeOverMean: m.maeOverMean === null ? null : round(m.maeOverMean, 4) };
    }
    case 'multiclass': {
      const m = multiclassMetrics(test.label, predictions, CLASSES);
      return { logLoss: round(m.logLoss, 5), accuracy: round(m.accuracy, 5), macroF1: round(m.macroF1, 5), macroAuc: m.macroAuc === null ? null : round(m.macroAuc, 5) };
    }
  }
}

const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const results: Record<string, unknown>[] = [];
const rows: Record<string, unknown> = {};
console.log(`sample ${sample}, ${nTrees} trees at most, ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(2)}`);
try {
  for (const kind of kinds) {
    const loadStart = performance.now();
    const splits = await loadSplits(connection, kind);
    rows[kind] = { train: splits.train.rows, validation: splits.validation.rows, test: splits.test.rows, loadSeconds: round(seconds(loadStart), 2) };
    console.log(`${kind}: loaded train ${splits.train.rows}, validation ${splits.validation.rows}, test ${splits.test.rows} rows in ${seconds(loadStart).toFixed(1)} s`);
    for (const { name, spec } of PLANS[kind].trainers) {
      const cpuStart = process.cpuUsage();
      const trainStart = performance.now();
      const model = await trainModel(spec, { train: splits.train, validation: splits.validation }, { seed: SEED });
      const trainSeconds = seconds(trainStart);
      const cpuSeconds = process.cpuUsage(cpuStart).user / 1e6;

      const onnx = model.toOnnx({ modelName: 'flight-delay-bench', modelVersion: 1, lineage: { dataset: FLIGHTS } });
      const parity = await verifyOnnxParity(onnx, splits.validation, model.predict(splits.validation));
      const metrics = testMetrics(kind, splits.test, model.predict(splits.test));
      const result = {
        kind,
        trainer: name,
        trainSeconds: round(trainSeconds, 2),
        trainCpuSeconds: round(cpuSeconds, 2),
        trainRowsPerSecond: Math.round(splits.train.rows / trainSeconds),
        test: metrics,
        parityMaxAbsDiff: parity.maxAbsDiff,
        parityRows: parity.rows,
        onnxBytes: onnx.length,
        summary: model.summary,
      };
      results.push(result);
      console.log(
        `  ${name}: trained in ${trainSeconds.toFixed(1)} s (${result.trainRowsPerSecond} rows/s, ${cpuSeconds.toFixed(1)} s CPU), ` +
          `test ${Object.entries(metrics).map(([k, v]) => `${k} ${v}`).join(', ')}, ONNX parity max |diff| ${parity.maxAbsDiff.toExponential(2)} over ${parity.rows} validation rows`,
      );
    }
  }
} finally {
  connection.closeSync();
  instance.closeSync();
}

/** Where both are run, the GBDT should beat the linear model of its kind on the kind's headline metric. */
const headline = (kind: Kind, trainer: string): number | undefined => {
  const found = results.find((r) => r.kind === kind && r.trainer === trainer)?.test as Record<string, number> | undefined;
  return found === undefined ? undefined : kind === 'binary' ? found.rocAuc : kind === 'regression' ? -(found.mae as number) : -(found.logLoss as number);
};
const comparisons = {
  binary: [headline('binary', 'gbdt'), headline('binary', 'logistic-regression')],
  regression: [headline('regression', 'gbdt squared'), headline('regression', 'linear-regression (ridge)')],
  multiclass: [headline('multiclass', 'gbdt softmax'), headline('multiclass', 'logistic-regression (multinomial)')],
};
const gbdtBeatsLinear = Object.fromEntries(kinds.map((kind) => [kind, ((comparisons[kind][0] ?? -Infinity) > (comparisons[kind][1] ?? Infinity))]));
if (Object.values(gbdtBeatsLinear).some((beats) => !beats)) process.exitCode = 1;
console.log(JSON.stringify({ sample, nTrees, rows, cores: cpus().length, loadAverage: round(loadavg()[0] ?? 0, 2), results, gbdtBeatsLinear }));
