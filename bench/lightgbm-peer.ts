/**
 * Issue #17's side-by-side: sluice's built-in GBDT and LightGBM trained on the same flights feature
 * tables (examples/flights/features.json over all 3 M flights: 1.98 M train rows, 10 features) with
 * the same hyperparameters (examples/flights/pipeline.json's trainer), in the same run. Prints each
 * side's training time, test ROC AUC and log loss (both computed here by domain/evaluation/metrics.ts),
 * peak RSS, and the time ratio and AUC difference. The last line is one JSON object with every figure.
 *
 * Run: npm run bench:training-peer [-- --trees N] [--threads N] [--sluice-threads N] [--tables DIR]
 * --threads (default 2) is LightGBM's num_threads; sluice's GBDT uses its default (one thread per
 * core on data this size) unless --sluice-threads sets its `threads`.
 * The feature tables are built once with the pipeline's feature SQL in bare DuckDB (as bench/data.ts's
 * baseline does) and kept in a temp directory named by the feature-definition hash, so later runs
 * start at once. Each side trains in a child process of its own, so its peak RSS is its own: sluice's
 * reads the Parquet with DuckDB (loadFeatureMatrix, as the training activity does), LightGBM's with
 * pyarrow through the shipped trainer's own code (trainers/lightgbm). Timed: from the in-memory
 * feature matrix to the trained model (binning included on both sides; reading, export and parity not).
 * LightGBM needs `.venv-lightgbm` (scripts/lightgbm-venv.sh, or SLUICE_LIGHTGBM_VENV); without it
 * only sluice's figures are printed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { featureSpecSchema, featureTableColumns, type FeatureSpec } from '../shared/data/feature-spec.ts';
import { gbdtParamsSchema, type GbdtParams } from '../shared/trainers.ts';
import { buildFeatureTables, writeSplits } from '../domain/features/build-features.ts';
import { quoteString } from '../domain/features/expression/expression-sql.ts';
import { planFeatures } from '../domain/features/feature-sql.ts';
import { featureDefinitionHash } from '../domain/features/spec-hash.ts';
import { openDuckDb } from '../domain/duckdb/duckdb-session.ts';
import { logLoss, rocAuc } from '../domain/evaluation/metrics.ts';
import { loadFeatureMatrix, type FeatureColumns } from '../domain/training/load-feature-matrix.ts';
import { gbdtTrainer } from '../domain/training/gbdt/gbdt-trainer.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FLIGHTS = join(ROOT, 'node_modules/vega-datasets/data/flights-3m.parquet');
const SPLITS = ['train', 'validation', 'test'] as const;

const { values: args } = parseArgs({
  options: {
    trees: { type: 'string' },
    threads: { type: 'string' },
    'sluice-threads': { type: 'string' },
    tables: { type: 'string' },
    side: { type: 'string' },
  },
});

const spec = featureSpecSchema.parse(JSON.parse(readFileSync(join(ROOT, 'examples/flights/features.json'), 'utf8')));
const pipeline = JSON.parse(readFileSync(join(ROOT, 'examples/flights/pipeline.json'), 'utf8')) as { trainer: unknown; seed: number };
const basePipelineParams = gbdtParamsSchema.parse(pipeline.trainer);
const params: GbdtParams = {
  ...basePipelineParams,
  ...(args.trees === undefined ? {} : { nTrees: Number(args.trees) }),
  ...(args['sluice-threads'] === undefined ? {} : { threads: Number(args['sluice-threads']) }),
};
const threads = args.threads === undefined ? 2 : Number(args.threads);
const seconds = (since: number) => (performance.now() - since) / 1000;
const round = (x: number, digits: number) => Number(x.toFixed(digits));

function featureColumns(s: FeatureSpec): FeatureColumns {
  const columns = featureTableColumns(s);
  return {
    numeric: columns.features.filter((f) => f.kind === 'numeric').map((f) => f.name),
    categorical: columns.features.filter((f) => f.kind === 'categorical').map((f) => f.name),
    label: columns.label,
  };
}

/** The train/validation/test Parquet the pipeline's features stage writes, built here once and reused. */
async function featureTables(): Promise<string> {
  const dir = args.tables ?? join(tmpdir(), `sluice-bench-flights-tables-${featureDefinitionHash(spec).slice(0, 16)}-${statSync(FLIGHTS).size}`);
  if (SPLITS.every((split) => existsSync(join(dir, `${split}.parquet`)))) return dir;
  const building = `${dir}.building`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const start = performance.now();
  const plan = planFeatures(spec, { date: 'TIMESTAMP', delay: 'BIGINT', distance: 'BIGINT', origin: 'VARCHAR', destination: 'VARCHAR' });
  {
    using duck = await openDuckDb({ tempDirectory: building });
    await buildFeatureTables(duck.db, plan, `read_parquet(${quoteString(FLIGHTS)})`);
    await writeSplits(duck.db, plan, building);
  }
  renameSync(building, dir);
  console.log(`built the flights feature tables in ${seconds(start).toFixed(1)} s into ${dir}`);
  return dir;
}

interface SideResult {
  trainer: string;
  trainSeconds: number;
  trainCpuSeconds: number;
  trees: number;
  peakRssMiB: number;
  testRocAuc: number;
  testLogLoss: number;
  rows: { train: number; validation: number; test: number };
  /** Boosting rounds run (sluice; LightGBM reports its kept trees only). */
  iterations?: number;
}

/** Child mode: sluice's GBDT on the tables, one JSON line out. */
async function sluiceSide(dir: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const columns = featureColumns(spec);
  const load = (split: string) => loadFeatureMatrix(connection, `SELECT * FROM read_parquet(${quoteString(join(dir, `${split}.parquet`))})`, columns);
  const [train, validation, test] = [await load('train'), await load('validation'), await load('test')];
  connection.closeSync();
  instance.closeSync();

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const model = await gbdtTrainer.train({ train, validation }, params, { seed: pipeline.seed });
  const trainSeconds = seconds(start);
  const cpu = process.cpuUsage(cpuStart);
  const predictions = model.predict(test);
  const result: SideResult = {
    trainer: `sluice gbdt (${String(model.summary.threads)} thread${model.summary.threads === 1 ? '' : 's'})`,
    trainSeconds: round(trainSeconds, 2),
    trainCpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
    trees: model.summary.treesKept as number,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    testRocAuc: round(rocAuc(test.label, predictions), 5),
    testLogLoss: round(logLoss(test.label, predictions), 5),
    rows: { train: train.rows, validation: validation.rows, test: test.rows },
    iterations: model.summary.iterations as number,
  };
  console.log(JSON.stringify(result));
}

/** Runs a child and returns its last stdout line as JSON; its stderr passes through. */
function runChild(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`${command} exited with ${code}: ${out.slice(-2000)}`));
      else resolvePromise(JSON.parse(last) as unknown);
    });
  });
}

function lightgbmPython(): string | undefined {
  const venv = process.env.SLUICE_LIGHTGBM_VENV ?? join(ROOT, '.venv-lightgbm');
  const python = join(venv, 'bin/python');
  return existsSync(python) ? python : undefined;
}

async function lightgbmSide(python: string, dir: string): Promise<SideResult> {
  const columns = featureColumns(spec);
  const predictionsPath = join(dir, `lightgbm-test-predictions-${process.pid}.f64`);
  const request = {
    tables: dir,
    numeric: columns.numeric,
    categorical: columns.categorical,
    label: columns.label,
    seed: pipeline.seed,
    predictions: predictionsPath,
    // The built-in GBDT's settings under LightGBM's names (trainers/lightgbm/sluice_lightgbm/contract.py).
    params: {
      numTrees: params.nTrees,
      learningRate: params.learningRate,
      numLeaves: params.maxLeaves,
      maxDepth: params.maxDepth,
      minDataInLeaf: params.minSamplesLeaf,
      lambdaL2: params.l2,
      baggingFraction: params.subsample,
      featureFraction: params.colsample,
      maxBin: params.maxBins,
      earlyStoppingRounds: params.earlyStoppingRounds,
      numThreads: threads,
    },
  };
  const env = { ...process.env, PYTHONPATH: join(ROOT, 'trainers/lightgbm') };
  const side = await runChild(python, [join(ROOT, 'bench/lightgbm-peer.py'), JSON.stringify(request)], env);
  try {
    const buffer = readFileSync(predictionsPath);
    const predictions = new Float64Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 8);
    const label = await testLabels(dir, columns.label);
    if (label.length !== predictions.length) throw new Error(`LightGBM predicted ${predictions.length} test rows, the table has ${label.length}`);
    const measured = side as Omit<SideResult, 'testRocAuc' | 'testLogLoss'>;
    return { ...measured, testRocAuc: round(rocAuc(label, predictions), 5), testLogLoss: round(logLoss(label, predictions), 5) };
  } finally {
    rmSync(predictionsPath, { force: true });
  }
}

async function testLabels(dir: string, label: string): Promise<Float64Array> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const matrix = await loadFeatureMatrix(connection, `SELECT * FROM read_parquet(${quoteString(join(dir, 'test.parquet'))})`, { numeric: [], categorical: [], label });
    return Float64Array.from(matrix.label);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const describe = (r: SideResult) =>
  `${r.trainer}: ${r.trainSeconds.toFixed(1)} s (${r.trainCpuSeconds.toFixed(1)} s CPU), ${r.trees} trees, test ROC AUC ${r.testRocAuc}, log loss ${r.testLogLoss}, peak RSS ${r.peakRssMiB} MiB`;

if (args.side === 'sluice') {
  await sluiceSide(args.tables as string);
} else {
  const dir = await featureTables();
  const load = () => round(loadavg()[0] ?? 0, 2);
  console.log(`tables ${dir}; ${cpus().length} cores, load average ${load()}; params ${JSON.stringify(params)}, LightGBM on ${threads} threads, seed ${pipeline.seed}`);
  const loadBefore = load();
  const python = lightgbmPython();
  const results: SideResult[] = [];
  const sluice = (await runChild(process.execPath, [...process.execArgv, import.meta.filename, '--side', 'sluice', '--tables', dir, ...(args.trees ? ['--trees', args.trees] : []), ...(args['sluice-threads'] ? ['--sluice-threads', args['sluice-threads']] : [])])) as SideResult;
  results.push(sluice);
  console.log(describe(sluice));
  let comparison: { timeRatio: number; cpuRatio: number; rocAucDifference: number; logLossDifference: number; peakRssRatio: number } | undefined;
  if (python === undefined) {
    console.log('LightGBM: no .venv-lightgbm (build it with scripts/lightgbm-venv.sh, or set SLUICE_LIGHTGBM_VENV); sluice figures only');
  } else {
    const lightgbm = await lightgbmSide(python, dir);
    results.push(lightgbm);
    console.log(describe(lightgbm));
    comparison = {
      timeRatio: round(sluice.trainSeconds / lightgbm.trainSeconds, 2),
      cpuRatio: round(sluice.trainCpuSeconds / lightgbm.trainCpuSeconds, 2),
      rocAucDifference: round(sluice.testRocAuc - lightgbm.testRocAuc, 5),
      logLossDifference: round(sluice.testLogLoss - lightgbm.testLogLoss, 5),
      peakRssRatio: round(sluice.peakRssMiB / lightgbm.peakRssMiB, 2),
    };
    console.log(
      `sluice / LightGBM: time ${comparison.timeRatio}× (goal ≤ 2×), CPU ${comparison.cpuRatio}×, ROC AUC ${comparison.rocAucDifference >= 0 ? '+' : ''}${comparison.rocAucDifference} (goal ≥ −0.002), ` +
        `log loss ${comparison.logLossDifference >= 0 ? '+' : ''}${comparison.logLossDifference}, peak RSS ${comparison.peakRssRatio}×`,
    );
  }
  console.log(JSON.stringify({ tables: dir, cores: cpus().length, loadAverage: { before: loadBefore, after: load() }, params, threads, seed: pipeline.seed, results, comparison }));
}
