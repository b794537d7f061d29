import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { InferenceSession } from 'onnxruntime-node';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { scoreWithOnnx } from '../../../domain/scoring/score-onnx.ts';
import { loadFeatureMatrix } from '../../../domain/training/load-feature-matrix.ts';
import { trainModel } from '../../../domain/training/train-model.ts';
import { createLogger } from '../../../shared/logger.ts';
import { trainerSpecSchema, type TrainerKind } from '../../../shared/trainers.ts';
import type { LabelTask } from '../../../shared/data/feature-spec.ts';
import type { batchScoring } from '../../../workflows/batch-scoring.ts';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import { createScoringWorker } from '../../../workers/scoring-worker.ts';
import { scratchDuckDbForSuite } from '../../support/scratch-duckdb.ts';
import { stackForSuite, stackConfig, testIds } from '../../support/stack.ts';

/**
 * Batch scoring on the real stack: a GBDT registered in the registry, a Parquet dataset in MinIO,
 * the scoring worker (CUDA tried, CPU used) scoring it in chunks; parts are compared with scoring
 * the same rows directly, and a re-run of the job skips every finished part.
 */

const ROWS = 5_000;
const COLUMNS = { numeric: ['x', 'noise'], categorical: ['c'] };

describe('batchScoring on the real stack', () => {
  const config = stackConfig();
  const stack = stackForSuite(config);
  const scratch = scratchDuckDbForSuite('sluice-batch-it-');
  let onnx: Uint8Array;
  const model = `batch-${Date.now().toString(36)}`;
  let version: number;
  const inputKey = `batch-it/${model}/input.parquet`;

  async function register(name: string, bytes: Uint8Array, task: LabelTask, trainer: TrainerKind): Promise<number> {
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    const registered = await registry.register({
      manifest: {
        name,
        datasetVersion: 'b'.repeat(64),
        featureDefinitionHash: 'a'.repeat(64),
        codeVersion: 'test',
        trainer: { kind: trainer, hyperparameters: {} },
        seed: 1,
        metrics: {},
        threshold: 0.5,
        task,
        featureNames: COLUMNS,
        origin: { workflowId: 'test' },
      },
      onnx: bytes,
      registrationKey: 'test',
      by: 'test',
    });
    return registered.version;
  }

  before(async () => {
    await scratch.db.run(`SELECT setseed(0.3)`);
    await scratch.db.run(`CREATE TABLE data AS SELECT i AS id, CASE WHEN i % 97 = 0 THEN NULL ELSE random() * 4 - 2 END AS x, random() AS noise,
      ['a', 'b', 'c'][1 + (i % 3)] AS c FROM range(${ROWS}) t(i)`);
    await scratch.db.run(`CREATE TABLE train AS SELECT *, (coalesce(x, 0) * 1.5 + CASE WHEN c = 'c' THEN 1 ELSE -0.5 END + random() * 2 - 1 > 0) AS label FROM data`);
    const matrix = await loadFeatureMatrix(scratch.db, 'SELECT * FROM train', { ...COLUMNS, label: 'label' });
    const trained = await trainModel(trainerSpecSchema.parse({ kind: 'gbdt', nTrees: 20, maxLeaves: 15, minSamplesLeaf: 20, earlyStoppingRounds: 0 }), { train: matrix, validation: matrix }, { seed: 1 });
    onnx = trained.toOnnx({ modelName: model, modelVersion: 1, lineage: {} });
    version = await register(model, onnx, { kind: 'binary' }, 'gbdt');
    const input = join(scratch.dir, 'input.parquet');
    await scratch.db.run(`COPY (SELECT id, x, noise, c FROM data ORDER BY id) TO '${input}' (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
    await stack.store.putFile(config.buckets.datasets, inputKey, input);
  });

  test('scores every row once in parallel chunks, with the model version on every row; a re-run skips finished parts', async (t) => {
    const { taskQueue, workflowId } = testIds(t.name);
    const warnings: string[] = [];
    const log = createLogger('info', {}, (line) => warnings.push(line));
    const { worker, sessions } = await createScoringWorker({ config: { ...config, taskQueues: { ...config.taskQueues, scoring: taskQueue } }, connection: stack.nativeConnection, store: stack.store, log });
    const job = { jobId: workflowId, model, version, input: { bucket: config.buckets.datasets, key: inputKey }, chunkRows: 1_200, concurrency: 3 };

    const [first, second] = await worker.runUntil(async () => [
      await stack.client.workflow.execute<typeof batchScoring>('batchScoring', { taskQueue, workflowId, args: [job] }),
      await stack.client.workflow.execute<typeof batchScoring>('batchScoring', { taskQueue, workflowId: `${workflowId}-again`, args: [job] }),
    ]);
    assert.ok(first && second);
    assert.equal(first.rows, ROWS);
    assert.equal(first.chunks.length, 5);
    assert.deepEqual(first.providers, ['cpu']);
    assert.equal(sessions.report().unavailable.cuda !== undefined, true, 'CUDA is not installed here: the fallback is recorded');
    assert.deepEqual(sessions.report().active, ['cpu']);
    assert.equal(warnings.filter((w) => w.includes('scoring execution provider') && w.includes('cpu')).length, 1, warnings.join('\n'));
    assert.equal(warnings.filter((w) => w.includes('CUDA execution provider unavailable')).length, 1, warnings.join('\n'));
    assert.ok(second.chunks.every((c) => c.skipped), 'the re-run wrote nothing');
    assert.deepEqual(second.output.keys, first.output.keys);

    // Read the parts back and compare with scoring the input directly.
    const paths = [];
    for (const [i, key] of first.output.keys.entries()) {
      const path = join(scratch.dir, `part-${i}.parquet`);
      await stack.store.getFile(first.output.bucket, key, path);
      paths.push(`'${path}'`);
    }
    const out = (await scratch.db.runAndReadAll(`SELECT count(*) AS n, count(DISTINCT id) AS ids, min(model_version) AS lo, max(model_version) AS hi, count(*) FILTER (WHERE model = '${model}') AS named FROM read_parquet([${paths.join(', ')}])`)).getRowObjectsJS()[0];
    assert.deepEqual([Number(out?.n), Number(out?.ids), Number(out?.lo), Number(out?.hi), Number(out?.named)], [ROWS, ROWS, version, version, ROWS]);
    const session = await InferenceSession.create(onnx);
    const direct = await scoreWithOnnx(session, await loadFeatureMatrix(scratch.db, 'SELECT x, noise, c, 0 AS label FROM data ORDER BY id', { ...COLUMNS, label: 'label' }));
    const scored = (await scratch.db.runAndReadAll(`SELECT score FROM read_parquet([${paths.join(', ')}]) ORDER BY id`)).getRowObjectsJS().map((r) => Number(r.score));
    assert.equal(scored.length, ROWS);
    scored.forEach((s, i) => assert.equal(s, direct[i], `row ${i}`));
    const manifest = JSON.parse((await stack.store.get(first.output.bucket, first.manifestKey)).toString('utf8')) as { rows: number };
    assert.equal(manifest.rows, ROWS);

    // The run replays deterministically with the code as it is; SAVE_BATCH_HISTORIES keeps it as the
    // fixture replay.test.ts replays (the standard JSON history format the CLI and the Temporal UI export).
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, await stack.client.workflow.getHandle(workflowId).fetchHistory(), workflowId);
    if (process.env.SAVE_BATCH_HISTORIES) {
      const json = execFileSync(config.binaries.temporal ?? 'temporal', ['workflow', 'show', '--workflow-id', workflowId, '--address', config.temporal.address, '--namespace', config.temporal.namespace, '--output', 'json']);
      writeFileSync(join(process.env.SAVE_BATCH_HISTORIES, 'batch-scoring.json'), json);
    }
  });

  test('a regression model writes value and a multiclass one class and a probabilities struct, as the prediction log names them', async (t) => {
    const { taskQueue, workflowId } = testIds(t.name);
    const classes = ['low', 'mid', 'high'];
    const regressionTask: LabelTask = { kind: 'regression' };
    const multiclassTask: LabelTask = { kind: 'multiclass', classes };
    await scratch.db.run(`CREATE TABLE kinds AS SELECT *, coalesce(x, 0) * 10 + CASE WHEN c = 'c' THEN 5 ELSE 0 END + random() AS minutes FROM data`);
    const labelled = `SELECT *, CASE WHEN minutes < -5 THEN 'low' WHEN minutes < 5 THEN 'mid' ELSE 'high' END AS band FROM kinds`;
    const regressionMatrix = await loadFeatureMatrix(scratch.db, labelled, { ...COLUMNS, label: 'minutes' }, regressionTask);
    const multiclassMatrix = await loadFeatureMatrix(scratch.db, labelled, { ...COLUMNS, label: 'band' }, multiclassTask);
    const ridge = await trainModel(trainerSpecSchema.parse({ kind: 'linear-regression' }), { train: regressionMatrix, validation: regressionMatrix }, { seed: 1 });
    const softmax = await trainModel(trainerSpecSchema.parse({ kind: 'logistic-regression', minCategoryCount: 10 }), { train: multiclassMatrix, validation: multiclassMatrix }, { seed: 1 });
    const jobs = [
      { name: `${model}-minutes`, task: regressionTask, onnx: ridge.toOnnx({ modelName: `${model}-minutes`, modelVersion: 1, lineage: {} }), trainer: 'linear-regression' as const },
      { name: `${model}-band`, task: multiclassTask, onnx: softmax.toOnnx({ modelName: `${model}-band`, modelVersion: 1, lineage: {} }), trainer: 'logistic-regression' as const },
    ];
    const versions = await Promise.all(jobs.map((j) => register(j.name, j.onnx, j.task, j.trainer)));

    const { worker } = await createScoringWorker({ config: { ...config, taskQueues: { ...config.taskQueues, scoring: taskQueue } }, connection: stack.nativeConnection, store: stack.store, log: createLogger('warn', {}, () => {}) });
    const results = await worker.runUntil(() =>
      Promise.all(jobs.map((j, i) => stack.client.workflow.execute<typeof batchScoring>('batchScoring', { taskQueue, workflowId: `${workflowId}-${i}`, args: [{ jobId: `${workflowId}-${i}`, model: j.name, version: versions[i] as number, input: { bucket: config.buckets.datasets, key: inputKey }, chunkRows: 2_500, concurrency: 2 }] }))),
    );
    const partsOf = async (result: (typeof results)[number], tag: string) => {
      const paths = [];
      for (const [i, key] of result.output.keys.entries()) {
        const path = join(scratch.dir, `${tag}-part-${i}.parquet`);
        await stack.store.getFile(result.output.bucket, key, path);
        paths.push(`'${path}'`);
      }
      return `read_parquet([${paths.join(', ')}])`;
    };
    const direct = async (j: (typeof jobs)[number]) => {
      const session = await InferenceSession.create(j.onnx);
      try {
        return await scoreWithOnnx(session, await loadFeatureMatrix(scratch.db, 'SELECT x, noise, c, 0 AS label FROM data ORDER BY id', { ...COLUMNS, label: 'label' }), j.task);
      } finally {
        await session.release();
      }
    };

    const regressionParts = await partsOf(results[0] as (typeof results)[number], 'minutes');
    const schema = async (parts: string) => (await scratch.db.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${parts})`)).getRowObjectsJS().map((r) => `${r.column_name as string} ${r.column_type as string}`);
    assert.deepEqual(await schema(regressionParts), ['id BIGINT', 'x DOUBLE', 'noise DOUBLE', 'c VARCHAR', 'score FLOAT', 'value FLOAT', 'model VARCHAR', 'model_version INTEGER']);
    const values = await direct(jobs[0] as (typeof jobs)[number]);
    const scoredValues = (await scratch.db.runAndReadAll(`SELECT score, value FROM ${regressionParts} ORDER BY id`)).getRowObjectsJS();
    assert.equal(scoredValues.length, ROWS);
    scoredValues.forEach((r, i) => assert.deepEqual([Number(r.value), Number(r.score)], [values[i], values[i]], `row ${i}`));
    // The model learned minutes ≈ 10·x: the values are in label units, not a probability.
    const spread = (await scratch.db.runAndReadAll(`SELECT min(value) AS lo, max(value) AS hi FROM ${regressionParts}`)).getRowObjectsJS()[0];
    assert.ok(Number(spread?.lo) < -10 && Number(spread?.hi) > 15, JSON.stringify(spread));

    const multiclassParts = await partsOf(results[1] as (typeof results)[number], 'band');
    assert.deepEqual(await schema(multiclassParts), ['id BIGINT', 'x DOUBLE', 'noise DOUBLE', 'c VARCHAR', 'score FLOAT', 'class VARCHAR', 'probabilities STRUCT(low FLOAT, mid FLOAT, high FLOAT)', 'model VARCHAR', 'model_version INTEGER']);
    const probabilities = await direct(jobs[1] as (typeof jobs)[number]);
    const rows = (await scratch.db.runAndReadAll(`SELECT score, "class", probabilities.low AS low, probabilities.mid AS mid, probabilities.high AS high FROM ${multiclassParts} ORDER BY id`)).getRowObjectsJS();
    assert.equal(rows.length, ROWS);
    const seen = new Set<string>();
    rows.forEach((r, i) => {
      const expected = classes.map((_, c) => probabilities[i * 3 + c] as number);
      assert.deepEqual([Number(r.low), Number(r.mid), Number(r.high)], expected, `row ${i}`);
      const top = expected.indexOf(Math.max(...expected));
      assert.equal(r.class, classes[top], `row ${i}`);
      assert.equal(Number(r.score), expected[top]);
      seen.add(String(r.class));
    });
    assert.deepEqual([...seen].sort(), ['high', 'low', 'mid'], 'every class is predicted somewhere');
  });
});
