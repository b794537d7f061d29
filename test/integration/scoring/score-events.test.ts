import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Worker } from '@temporalio/worker';
import { EXIT, runCli } from '../../../cli/main.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import type { BatchScoringResult } from '../../../shared/batch-scoring.ts';
import type { Config } from '../../../shared/config.ts';
import { createLogger } from '../../../shared/logger.ts';
import { createScoringWorker } from '../../../workers/scoring-worker.ts';
import { flightEvent, registerTrainedFlightsModel, storeFlightsFeatures, trainFlightsModel } from '../../unit/api/support/flights-model.ts';
import { KEYS, startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { scratchDuckDbForSuite } from '../../support/scratch-duckdb.ts';
import { type TemporalHandles, connectToStack, stackConfig, testIds } from '../../support/stack.ts';
import { isolatedConfig, queryObjects } from '../api/minio-support.ts';

const EVENTS = 300;

/**
 * `sluice score` on raw events, on the real stack: the CLI uploads a Parquet file of predict-request
 * fields, the batchScoring workflow on a real scoring worker computes their features through the
 * shared online definitions and scores them; every event's batch score must equal what the prediction
 * API answers for the same event, from the same snapshot.
 */
describe('sluice score on raw events', () => {
  const scratch = scratchDuckDbForSuite('sluice-score-events-');
  let stack: TemporalHandles;
  let config: Config;
  let env: NodeJS.ProcessEnv;
  let worker: Worker;
  let running: Promise<void>;
  const model = `scored-${Math.random().toString(36).slice(2, 8)}`;
  let version: number;

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, { write: (l) => out.push(l), error: (l) => out.push(l), env });
    return { code, text: out.join('\n') };
  };

  before(async () => {
    stack = await connectToStack(stackConfig());
    const taskQueue = testIds('score-events').taskQueue;
    config = await isolatedConfig(stack.store, { SLUICE_TASK_QUEUE_SCORING: taskQueue });
    env = { ...process.env, SLUICE_TASK_QUEUE_SCORING: taskQueue, SLUICE_BUCKET_SERVING: config.buckets.serving, SLUICE_BUCKET_PREDICTIONS: config.buckets.predictions };
    await storeFlightsFeatures(stack.store, config);
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    ({ version } = await registerTrainedFlightsModel(registry, model, await trainFlightsModel({ rows: 2000 })));
    await registry.transition(model, version, 'approved', { by: 'test' });
    await registry.promote(model, version, { by: 'test', reason: 'champion to score with' });
    ({ worker } = await createScoringWorker({ config, connection: stack.nativeConnection, store: stack.store, log: createLogger('warn', {}, () => {}), providers: ['cpu'] }));
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
    await stack[Symbol.asyncDispose]();
  });

  async function eventsFile(name: string, columns: (i: number) => string): Promise<string> {
    const path = join(scratch.dir, name);
    const rows = Array.from({ length: EVENTS }, (_, i) => `(${columns(i)})`);
    await scratch.db.run(`COPY (SELECT * FROM (VALUES ${rows.join(', ')}) t(flight_id, origin, destination, date, distance)) TO '${path}' (FORMAT parquet)`);
    return path;
  }

  test('each event scores as the API scores it, with the input columns kept', async () => {
    const path = await eventsFile('events.parquet', (i) => {
      const e = flightEvent(i);
      return `${1000 + i}, '${e.origin}', '${e.destination}', TIMESTAMP '${e.date.replace('T', ' ').replace('Z', '')}', ${e.distance}`;
    });
    const scored = await cli('score', model, path, '--json');
    assert.equal(scored.code, EXIT.ok, scored.text);
    const result = JSON.parse(scored.text) as BatchScoringResult;
    assert.equal(result.rows, EVENTS);
    assert.equal(result.version, version, 'the champion is scored by default');
    assert.ok(result.featurized?.snapshotKey?.startsWith('online-features/'), JSON.stringify(result.featurized));

    const rows = await queryObjects(stack.store, result.output.bucket, result.output.prefix, (files) => `SELECT flight_id, origin, score FROM read_parquet('${files}/${result.output.prefix}part-*.parquet') ORDER BY flight_id`);
    assert.equal(rows.length, EVENTS);

    await writeServingConfig(stack.store, config, { [model]: { primary: version } }, 1);
    await using api = await startTestApi({ store: stack.store, config });
    await api.firstPoll;
    const answer = await api.request<{ predictions: { score: number }[] }>('POST', `/v1/models/${model}/predict`, { key: KEYS.predict, body: { events: Array.from({ length: EVENTS }, (_, i) => flightEvent(i)) } });
    assert.equal(answer.status, 200, answer.text);
    let worst = 0;
    rows.forEach((row, i) => {
      assert.equal(row.origin, flightEvent(i).origin, 'input columns are kept, in input order');
      worst = Math.max(worst, Math.abs(Number(row.score) - (answer.json.predictions[i]?.score ?? NaN)));
    });
    assert.ok(worst < 1e-6, `batch and online scores differ by up to ${worst}`);

    const again = await cli('score', model, path);
    assert.equal(again.code, EXIT.ok, again.text);
    assert.match(again.text, new RegExp(`scored ${EVENTS} rows with ${model} v${version} in 1 part\\(s\\) \\(1 already written\\)`), 'the same request is the same job, its part kept');
    assert.ok(again.text.includes(`s3://${result.output.bucket}/${result.output.prefix}`), again.text);
  });

  test('bad input is refused naming what is wrong', async () => {
    const noDistance = join(scratch.dir, 'no-distance.parquet');
    await scratch.db.run(`COPY (SELECT 'ORD' AS origin, 'LGA' AS destination, TIMESTAMP '2001-06-04 10:15:00' AS date) TO '${noDistance}' (FORMAT parquet)`);
    const refused = await cli('score', model, noDistance);
    assert.equal(refused.code, EXIT.runFailed, refused.text);
    assert.match(refused.text, /the input has no column "distance"; raw events need .*"origin".*"date"/);

    const badValue = await eventsFile('negative.parquet', (i) => `${i}, 'ORD', 'LGA', TIMESTAMP '2001-06-04 10:15:00', ${i === 7 ? "'far'" : "'100'"}`);
    const value = await cli('score', model, badValue);
    assert.equal(value.code, EXIT.runFailed, value.text);
    assert.match(value.text, /row 7: field "distance": expected a number, got "far"/);

    assert.match((await cli('score', model, '/nowhere/events.parquet')).text, /no file \/nowhere\/events\.parquet/);
    assert.match((await cli('score', model, noDistance, '--version', '9')).text, new RegExp(`model ${model} has no version 9; it has v1`));
  });
});
