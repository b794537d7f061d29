import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createMonitoringActivities } from '../../../activities/monitoring/monitoring-activities.ts';
import { driftMonitorScheduleId } from '../../../control/monitor-schedule.ts';
import { startTrainingPipeline } from '../../../control/start-training-pipeline.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { EXIT, runCli } from '../../../cli/main.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { type Config, loadConfig } from '../../../shared/config.ts';
import type { PipelineOutcome } from '../../../shared/pipeline.ts';
import { type RetrainingOutcome, retrainingScheduleId } from '../../../shared/retraining.ts';
import { pipelineStatusQuery } from '../../../workflows/training-pipeline.ts';
import { WORKFLOWS_PATH, createPipelineWorker } from '../../../workers/pipeline-worker.ts';
import { FLIGHTS_PARQUET, type FixtureDir, fixtureDir, bucketSettings, isolatedBuckets, sqlPath } from '../data/fixtures.ts';
import { trainFlightsModel } from '../../unit/api/support/flights-model.ts';
import { type TemporalHandles, connectToStack, stackConfig, testIds } from '../../support/stack.ts';

/**
 * Retraining triggers and the monitoring commands through the CLI, against a pipeline worker with the
 * real activities on the test stack: a retraining Schedule trains a real model (trigger `schedule` in
 * its lineage); while that run holds the training slot a manual retraining and a second firing start
 * nothing; a manual retraining with the recorded spec, then with another spec, records its reason;
 * the timeline shows all of it.
 */
describe('sluice retrain, monitor and models timeline', () => {
  const base = stackConfig();
  const model = `retrain-${randomBytes(3).toString('hex')}`;
  let stack: TemporalHandles;
  let fixtures: FixtureDir;
  let config: Config;
  let env: NodeJS.ProcessEnv;
  let specPath: string;
  let worker: Worker;
  let running: Promise<void>;

  before(async () => {
    stack = await connectToStack(base);
    fixtures = fixtureDir();
    const sample = fixtures.path('flights-sample.parquet');
    // A seeded 1% sample over all six months, so every time split has rows and training takes seconds.
    await fixtures.sql(`COPY (SELECT * FROM read_parquet(${sqlPath(FLIGHTS_PARQUET)}) USING SAMPLE 1 PERCENT (bernoulli, 11)) TO ${sqlPath(sample)} (FORMAT parquet)`);
    const buckets = await isolatedBuckets(stack.store, 'retrain');
    const taskQueue = testIds('retrain-cli').taskQueue;
    env = {
      ...process.env,
      SLUICE_TASK_QUEUE_PIPELINE: taskQueue,
      ...bucketSettings(buckets),
    };
    config = loadConfig(env);
    const example = loadSpecFile(new URL('../../../examples/flights/pipeline.json', import.meta.url).pathname) as Record<string, unknown>;
    // Latency gates judge the machine as much as the model; a shared test machine would make them flake.
    // The example contract asks for 100k rows; this sample has about 30k.
    const contract = example.contract as { checks: { check: string; min?: number }[] };
    const checks = contract.checks.map((c) => (c.check === 'min_rows' ? { ...c, min: 20_000 } : c));
    const spec = { ...example, contract: { ...contract, checks }, model: { name: model }, dataset: { name: 'flights-sample', source: sample }, trainer: { kind: 'gbdt', nTrees: 20, maxLeaves: 15, minSamplesLeaf: 50 }, gates: { absolute: [{ metric: 'rocAuc', min: 0.55 }] } };
    specPath = fixtures.path('spec.json');
    writeFileSync(specPath, JSON.stringify(spec));
    worker = await createPipelineWorker({ config, connection: stack.nativeConnection, store: stack.store, client: stack.client });
    running = worker.run();
  });
  after(async () => {
    for (const id of [retrainingScheduleId(model), driftMonitorScheduleId(model)]) await stack.client.schedule.getHandle(id).delete().catch(() => undefined);
    worker.shutdown();
    await running;
    fixtures[Symbol.dispose]();
    await stack[Symbol.asyncDispose]();
  });

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, { write: (l) => out.push(l), error: (l) => out.push(l), env });
    return { code, text: out.join('\n') };
  };

  /** Fires the model's retraining schedule now and returns what that firing did. */
  async function fireRetrainingSchedule(): Promise<RetrainingOutcome & { firedAs: string }> {
    const handle = stack.client.schedule.getHandle(retrainingScheduleId(model));
    const before = (await handle.describe()).info.recentActions.length;
    await handle.trigger();
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
      const action = (await handle.describe()).info.recentActions[before];
      if (action) {
        const firedAs = action.action.workflow.workflowId;
        return { ...((await stack.client.workflow.getHandle(firedAs).result()) as RetrainingOutcome), firedAs };
      }
    }
    throw new Error('the schedule did not fire within a minute');
  }

  async function awaitApproval(handle: WorkflowHandle): Promise<void> {
    for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(250)) {
      const status = await handle.query(pipelineStatusQuery).catch(() => undefined);
      if (status?.stage === 'awaiting-approval') return;
      assert.ok(!status || !['validation-failed', 'gate-failed', 'slot-busy'].includes(status.stage), `run ended early at ${status?.stage}`);
    }
    throw new Error(`${handle.workflowId} did not reach approval within 5 minutes`);
  }

  test('bad arguments and unknown models exit 1 with what is wrong', async () => {
    const noReason = await cli('retrain', model);
    assert.equal(noReason.code, EXIT.userError);
    assert.match(noReason.text, /Usage: sluice retrain <model> --reason TEXT/);
    const unknown = await cli('retrain', 'no-such-model', '--reason', 'x');
    assert.equal(unknown.code, EXIT.userError);
    assert.match(unknown.text, /No model named 'no-such-model' in the registry/);
    const kOverN = await cli('monitor', 'schedule', model, '--every', '1h', '--k', '4', '--n', '3');
    assert.equal(kOverN.code, EXIT.userError);
    assert.match(kOverN.text, /--k \(4\) cannot exceed --n \(3\)/);
    const badEvery = await cli('retrain', 'schedule', model, '--every', 'weekly', '--spec', specPath);
    assert.equal(badEvery.code, EXIT.userError);
    assert.match(badEvery.text, /--every must be a duration like 12h or 7d, got 'weekly'/);
    const otherModel = await cli('retrain', 'schedule', 'other-model', '--every', '7d', '--spec', specPath);
    assert.equal(otherModel.code, EXIT.userError);
    assert.match(otherModel.text, new RegExp(`spec.model.name is '${model}', but the retraining is for 'other-model'`));
    const help = await cli('retrain', '--help');
    assert.equal(help.code, EXIT.ok);
    assert.match(help.text, /--reason TEXT/);
  });

  test('a retraining schedule trains with trigger "schedule"; while it runs, manual, scheduled and drift-monitor triggers start nothing; manual retraining records its reason', async () => {
    const created = await cli('retrain', 'schedule', model, '--every', '7d', '--spec', specPath);
    assert.equal(created.code, EXIT.ok, created.text);
    assert.match(created.text, new RegExp(`created schedule retrain-${model}: retrains ${model} every 7d with spec`));
    assert.match((await cli('retrain', 'schedule', model, '--every', '3d', '--spec', specPath)).text, /updated schedule/);

    const first = await fireRetrainingSchedule();
    assert.equal(first.status, 'started', JSON.stringify(first));
    assert.ok(first.status === 'started');
    const run = stack.client.workflow.getHandle(first.workflowId);
    await awaitApproval(run);

    // The run awaiting approval holds the model's training slot.
    const refused = await cli('retrain', model, '--reason', 'labels arrived', '--requested-by', 'omar');
    assert.equal(refused.code, EXIT.userError, refused.text);
    assert.match(refused.text, new RegExp(`Refused: ${model} is already training \\(run ${first.workflowId}\\)`));
    const second = await fireRetrainingSchedule();
    assert.equal(second.status, 'already-running', JSON.stringify(second));
    // The drift monitor's trigger, wired as the pipeline worker wires it, is told the same.
    const monitoring = createMonitoringActivities({
      store: stack.store,
      buckets: config.buckets,
      startPipeline: (request) => startTrainingPipeline({ client: stack.client, config, store: stack.store }, request),
      isRunning: async (id) => (await stack.client.workflow.getHandle(id).describe()).status.name === 'RUNNING',
    });
    const fromMonitor = await monitoring.triggerRetraining({ spec: JSON.parse(readFileSync(specPath, 'utf8')), trigger: { kind: 'drift-monitor', model, reason: 'test' } });
    assert.deepEqual(fromMonitor, { workflowId: `training-slot-${model}`, started: false });

    // Both firings replay with the code as it is; SAVE_RETRAIN_HISTORIES keeps them as replay.test.ts's fixtures.
    for (const [firing, name] of [[first, 'scheduled-retraining-started'], [second, 'scheduled-retraining-busy']] as const) {
      await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, await stack.client.workflow.getHandle(firing.firedAs).fetchHistory(), name);
      if (process.env.SAVE_RETRAIN_HISTORIES) {
        const json = execFileSync(config.binaries.temporal ?? 'temporal', ['workflow', 'show', '--workflow-id', firing.firedAs, '--address', config.temporal.address, '--namespace', config.temporal.namespace, '--output', 'json']);
        writeFileSync(join(process.env.SAVE_RETRAIN_HISTORIES, `${name}.json`), json);
      }
    }

    assert.equal((await cli('pipeline', 'approve', first.workflowId, '--by', 'ana', '--comment', 'weekly refresh')).code, EXIT.ok);
    const outcome = (await run.result()) as PipelineOutcome;
    assert.ok(outcome.status === 'approved', JSON.stringify(outcome));
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    const v1 = await registry.manifest(model, outcome.version);
    assert.deepEqual(v1.origin.trigger, { kind: 'schedule', scheduleId: retrainingScheduleId(model), requestedBy: `schedule ${retrainingScheduleId(model)}` });

    // Without --spec: the spec v1 was trained with, on the same data, is the run that already exists.
    const same = await cli('retrain', model, '--reason', 'labels arrived', '--requested-by', 'omar');
    assert.equal(same.code, EXIT.ok, same.text);
    assert.match(same.text, new RegExp(`already has a run; attached to ${first.workflowId} with the spec recorded in the registry`));

    // Another spec (seed) is another run: it trains, and its reason lands in the new version's lineage.
    const reseeded = fixtures.path('reseeded.json');
    writeFileSync(reseeded, JSON.stringify({ ...(JSON.parse(readFileSync(specPath, 'utf8')) as object), seed: 7 }));
    const manual = await cli('retrain', model, '--reason', 'labels arrived', '--requested-by', 'omar', '--spec', reseeded);
    assert.equal(manual.code, EXIT.ok, manual.text);
    const manualId = /^started (\S+) with spec/m.exec(manual.text)?.[1];
    assert.ok(manualId, manual.text);
    const manualRun = stack.client.workflow.getHandle(manualId);
    await awaitApproval(manualRun);
    assert.equal((await cli('pipeline', 'reject', manualId, '--by', 'ana', '--comment', 'no better')).code, EXIT.ok);
    const rejected = (await manualRun.result()) as PipelineOutcome;
    assert.ok(rejected.status === 'rejected', JSON.stringify(rejected));
    assert.deepEqual((await registry.manifest(model, rejected.version)).origin.trigger, { kind: 'manual', reason: 'labels arrived', requestedBy: 'omar' });

    const page = fixtures.path('timeline.html');
    const timeline = await cli('models', 'timeline', model, '--html', page);
    assert.equal(timeline.code, EXIT.ok, timeline.text);
    assert.match(timeline.text, new RegExp(`v${outcome.version} registered \\(by schedule retrain-${model}\\): trigger: schedule retrain-${model}`));
    assert.match(timeline.text, new RegExp(`v${outcome.version} approved \\(by ana\\): .*weekly refresh`));
    assert.match(timeline.text, new RegExp(`v${rejected.version} registered \\(by omar\\): trigger: manual: labels arrived`));
    assert.match(timeline.text, new RegExp(`v${rejected.version} rejected \\(by ana\\): .*no better`));
    const json = JSON.parse((await cli('models', 'timeline', model, '--json')).text) as { versions: unknown[]; events: { title: string }[] };
    assert.ok(json.versions.length >= 2 && json.events.some((e) => e.title === `v${rejected.version} rejected`), JSON.stringify(json.events.map((e) => e.title)));
    const html = readFileSync(page, 'utf8');
    assert.ok(html.includes(`<tr id="version-${rejected.version}">`) && html.includes('manual: labels arrived'));
    assert.ok(!/<script|https?:\/\//.test(html), 'the page is self-contained');
  });

  test('monitor schedule is created then updated; monitor status shows both schedules and the monitor state', async () => {
    const created = await cli('monitor', 'schedule', model, '--every', '1h', '--window', '2h', '--retrain-spec', specPath, '--k', '2', '--n', '4', '--cooldown', '12h');
    assert.equal(created.code, EXIT.ok, created.text);
    assert.match(created.text, new RegExp(`created schedule drift-monitor-${model}: the drift monitor judges ${model}'s last 2h every 1h`));
    assert.match(created.text, /retrains with .* when 2 of the last 4 windows alert, at most once per 12h/);
    const refused = await cli('monitor', 'schedule', model, '--every', '30m', '--max-rmse-increase=-0.1');
    assert.equal(refused.code, EXIT.userError, refused.text);
    assert.match(refused.text, /--max-rmse-increase .*>=0.*, got '-0\.1'/i);
    const updated = await cli('monitor', 'schedule', model, '--every', '30m', '--label-horizon', '30d', '--max-rmse-increase', '0.25', '--min-labelled', '50');
    assert.match(updated.text, /updated schedule/);
    assert.match(updated.text, /reports only/);
    const description = await stack.client.schedule.getHandle(`drift-monitor-${model}`).describe();
    assert.equal(description.spec.intervals?.[0]?.every, 30 * 60_000);
    const input = description.action.type === 'startWorkflow' ? (description.action.args?.[0] as { performance?: unknown }) : undefined;
    assert.deepEqual(input?.performance, { maxRmseIncrease: 0.25, minLabelled: 50 });

    const status = await cli('monitor', 'status', model);
    assert.equal(status.code, EXIT.ok, status.text);
    assert.match(status.text, new RegExp(`drift monitor: drift-monitor-${model}, every 30m; next run \\d{4}-`));
    assert.match(status.text, /judges the last 1h; reports only \(no retrain spec\)/);
    assert.match(
      status.text,
      /realized performance: 2 of the last 3 windows with 50\+ labels breaching the version's test figures trip it \(binary: ROC AUC drop > 0\.02 or log-loss rise > 0\.05; regression: RMSE or MAE rise > 25% \/ 10%; multiclass: accuracy drop > 0\.02 or log-loss rise > 0\.05\); labels count for 30d after a window/,
    );
    assert.match(status.text, new RegExp(`retraining: retrain-${model}, every 3d`));
    assert.match(status.text, /judged windows: none yet/);
    const statusJson = JSON.parse((await cli('monitor', 'status', model, '--json')).text) as { driftMonitor: { every: string; input: { performance: unknown } }; retraining: { every: string }; state: { windows: unknown[] } };
    assert.deepEqual([statusJson.driftMonitor.every, statusJson.retraining.every, statusJson.state.windows], ['30m', '3d', []]);
    assert.deepEqual(statusJson.driftMonitor.input.performance, { maxRmseIncrease: 0.25, minLabelled: 50 });

    const none = await cli('monitor', 'status', 'never-monitored');
    assert.match(none.text, /drift monitor: none \(create one with: sluice monitor schedule never-monitored --every 1h\)/);
  });

  test('a model without a recorded spec is refused with how to pass one; a spec the registry points at is used', async () => {
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    const { model: trained, trainer, threshold, seed } = await trainFlightsModel({ rows: 1000 });
    const register = async (name: string, reports: Record<string, string>) =>
      registry.register({
        manifest: {
          name,
          datasetVersion: 'a'.repeat(64),
          featureDefinitionHash: 'b'.repeat(64),
          codeVersion: 'test',
          trainer: { kind: trainer.kind, hyperparameters: trainer },
          seed,
          metrics: {},
          threshold,
          featureNames: { numeric: [], categorical: [] },
          reports,
          origin: { workflowId: `never-ran-${name}` },
        },
        onnx: trained.toOnnx({ modelName: name, modelVersion: 1, lineage: {}, threshold }),
        registrationKey: `test-${name}`,
        by: 'test',
      });

    const orphan = `${model}-orphan`;
    await register(orphan, {});
    const refused = await cli('retrain', orphan, '--reason', 'try');
    assert.equal(refused.code, EXIT.userError);
    assert.match(refused.text, new RegExp(`No pipeline spec is recorded for ${orphan} v1 \\(the history of its run never-ran-${orphan} is no longer retained\\); pass the spec to retrain with \\(CLI: --spec spec.json`));

    const recorded = `${model}-recorded`;
    const spec = { ...(JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>), model: { name: recorded } };
    await stack.store.put(config.buckets.reports, `specs/${recorded}.json`, JSON.stringify(spec));
    await register(recorded, { spec: `specs/${recorded}.json` });
    const started = await cli('retrain', recorded, '--reason', 'from the registry');
    assert.equal(started.code, EXIT.ok, started.text);
    assert.match(started.text, /^started \S+ with the spec recorded in the registry/m);
    // Only the choice of spec is under test here: stop the run rather than train a third model.
    await stack.client.workflow.getHandle(/^started (\S+)/m.exec(started.text)?.[1] ?? '').terminate('test done');
  });
});
