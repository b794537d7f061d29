/**
 * Trains both trainers on the real 2001 flights (Jan–Apr train, May validation, June test), checks
 * ONNX parity on the validation split and reports test metrics and training speed. The last line is
 * one JSON object with every figure. Run: npx tsx bench/training.ts
 */
import { cpus, loadavg } from 'node:os';
import { DuckDBInstance } from '@duckdb/node-api';
import { logLoss, rocAuc } from '../domain/evaluation/metrics.ts';
import type { FeatureMatrix } from '../domain/training/feature-matrix.ts';
import { loadFeatureMatrix } from '../domain/training/load-feature-matrix.ts';
import { verifyOnnxParity } from '../domain/training/onnx-parity.ts';
import { trainModel } from '../domain/training/train-model.ts';
import { trainerSpecSchema, type TrainerSpec } from '../shared/trainers.ts';

const FLIGHTS = 'node_modules/vega-datasets/data/flights-3m.parquet';
const SEED = 2001;
const specs: TrainerSpec[] = [
  trainerSpecSchema.parse({ kind: 'logistic-regression' }),
  trainerSpecSchema.parse({ kind: 'gbdt', nTrees: 200, learningRate: 0.1, maxLeaves: 63, subsample: 0.5, earlyStoppingRounds: 20 }),
];

const seconds = (since: number) => (performance.now() - since) / 1000;
const round = (x: number, digits: number) => Number(x.toFixed(digits));

async function loadSplits(): Promise<Record<'train' | 'validation' | 'test', FeatureMatrix>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const source = `SELECT hour(date) AS hour_of_day, isodow(date) AS day_of_week, distance, origin, destination,
    delay > 15 AS delayed, month(date) AS month FROM '${FLIGHTS}'`;
  const columns = { numeric: ['hour_of_day', 'day_of_week', 'distance'], categorical: ['origin', 'destination'], label: 'delayed' };
  const load = (where: string) => loadFeatureMatrix(connection, `${source} WHERE ${where}`, columns);
  try {
    return { train: await load('month BETWEEN 1 AND 4'), validation: await load('month = 5'), test: await load('month = 6') };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const loadStart = performance.now();
const splits = await loadSplits();
const loadSeconds = seconds(loadStart);
console.log(
  `loaded train ${splits.train.rows}, validation ${splits.validation.rows}, test ${splits.test.rows} rows in ${loadSeconds.toFixed(1)} s` +
    ` (${cpus().length} cores, load average ${loadavg()[0]?.toFixed(2)})`,
);

const results: Record<string, unknown>[] = [];
for (const spec of specs) {
  const cpuStart = process.cpuUsage();
  const trainStart = performance.now();
  const model = await trainModel(spec, { train: splits.train, validation: splits.validation }, { seed: SEED });
  const trainSeconds = seconds(trainStart);
  const cpuSeconds = process.cpuUsage(cpuStart).user / 1e6;

  const onnx = model.toOnnx({ modelName: 'flight-delay-bench', modelVersion: 1, lineage: { dataset: FLIGHTS } });
  const parity = await verifyOnnxParity(onnx, splits.validation, model.predict(splits.validation));
  const test = model.predict(splits.test);
  const result = {
    trainer: spec.kind,
    trainSeconds: round(trainSeconds, 2),
    trainCpuSeconds: round(cpuSeconds, 2),
    trainRowsPerSecond: Math.round(splits.train.rows / trainSeconds),
    testRocAuc: round(rocAuc(splits.test.label, test), 5),
    testLogLoss: round(logLoss(splits.test.label, test), 5),
    parityMaxAbsDiff: parity.maxAbsDiff,
    parityRows: parity.rows,
    onnxBytes: onnx.length,
    summary: model.summary,
  };
  results.push(result);
  console.log(
    `${spec.kind}: trained in ${trainSeconds.toFixed(1)} s (${result.trainRowsPerSecond} rows/s, ${cpuSeconds.toFixed(1)} s CPU), ` +
      `test ROC AUC ${result.testRocAuc}, log loss ${result.testLogLoss}, ONNX parity max |diff| ${parity.maxAbsDiff.toExponential(2)} ` +
      `over ${parity.rows} validation rows, ${result.onnxBytes} bytes`,
  );
}

const [lr, gbdt] = results as [{ testRocAuc: number }, { testRocAuc: number }];
const gbdtBeatsLr = gbdt.testRocAuc > lr.testRocAuc;
if (!gbdtBeatsLr) process.exitCode = 1;
console.log(
  JSON.stringify({
    rows: { train: splits.train.rows, validation: splits.validation.rows, test: splits.test.rows },
    loadSeconds: round(loadSeconds, 2),
    cores: cpus().length,
    loadAverage: round(loadavg()[0] ?? 0, 2),
    results,
    gbdtBeatsLr,
  }),
);
