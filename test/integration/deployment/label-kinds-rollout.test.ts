import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createDeploymentActivities } from '../../../activities/deployment/deployment-activities.ts';
import { createMonitoringActivities } from '../../../activities/monitoring/monitoring-activities.ts';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import { computeReferenceStats } from '../../../domain/features/reference-stats.ts';
import { openDuckDb } from '../../../domain/duckdb/duckdb-session.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { Prng } from '../../../domain/training/prng.ts';
import { trainModel } from '../../../domain/training/train-model.ts';
import type { MulticlassPrediction, RegressionPrediction } from '../../../shared/api/predict.ts';
import type { LabelTask } from '../../../shared/data/feature-spec.ts';
import { type RolloutPlanInput, deploymentWorkflowId } from '../../../shared/deployment.ts';
import { createLogger } from '../../../shared/logger.ts';
import { SERVING_CONFIG_KEY, servingConfigSchema } from '../../../shared/serving-config.ts';
import { featureKeys } from '../../../shared/storage-keys.ts';
import { trainerSpecSchema } from '../../../shared/trainers.ts';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import type { driftMonitor } from '../../../workflows/drift-monitor.ts';
import { type modelDeployment, rolloutHistoryQuery } from '../../../workflows/model-deployment.ts';
import {
  AIRPORTS,
  FLIGHTS_FEATURES,
  FLIGHTS_SPEC_HASH,
  FLIGHT_CLASSES,
  flightEvent,
  flightsTaskMatrix,
  registerTrainedFlightsModel,
  trainFlightsModel,
} from '../../unit/api/support/flights-model.ts';
import { KEYS, startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { stackConfig, stackForSuite, testIds } from '../../support/stack.ts';
import { isolatedConfig, storeFlightsFeatures } from '../api/minio-support.ts';

/**
 * Regression and multiclass models after approval, on the real stack: a canary under real API traffic
 * whose labels arrive through the per-model feedback route, judged by the deployment workflow with its
 * real activities on the prediction log and feedback in MinIO (a bad candidate rolled back on the
 * kind's own figures, a good one promoted to serve everything), then a drift monitor pass over the
 * promoted model's served window. Binary models have the same path in canary-rollback and drift-monitor.
 */

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
type Kind = Exclude<LabelTask['kind'], 'binary'>;

/** The synthetic truth the flights matrix is drawn from (see flightsMatrix), for an event the API scores. */
function delayedProbability(i: number): number {
  const event = flightEvent(i);
  const rate = 0.1 + 0.04 * AIRPORTS.indexOf(event.origin);
  const hour = Number(event.date.slice(11, 13));
  const logit = -2 + 0.12 * (hour - 12) + 6 * (rate - 0.25) + (AIRPORTS.indexOf(event.destination) % 3 === 0 ? 0.4 : 0);
  return 1 / (1 + Math.exp(-logit));
}

/** What happened to the flight of event i, as the label of the kind (the same derivation as flightsTaskMatrix). */
function outcome(kind: Kind, i: number, prng: Prng): number | string {
  const delayed = prng.next() < delayedProbability(i);
  if (kind === 'regression') return 40 * (delayed ? 1 : 0) + (i % 7);
  if (delayed) return 'delayed';
  return Number(flightEvent(i).date.slice(11, 13)) < 8 ? 'early-on-time' : 'on-time';
}

/**
 * A regression model fit to delays 25 minutes too late (a unit or transform bug upstream): it ranks
 * flights as well as the champion but errs by about 25 minutes on every one.
 */
async function trainBiased() {
  const train = flightsTaskMatrix(3000, 7, 'regression');
  if (train.task?.kind === 'regression') train.task = { ...train.task, values: train.task.values.map((v) => v + 25) };
  const trainer = trainerSpecSchema.parse({ kind: 'gbdt', nTrees: 20, maxLeaves: 15, minSamplesLeaf: 20 });
  const model = await trainModel(trainer, { train, validation: flightsTaskMatrix(800, 1007, 'regression') }, { seed: 7 });
  return { model, trainer, threshold: 0.5, seed: 7, task: { kind: 'regression' } } as const;
}

describe('regression and multiclass models through canary, serving and monitoring on the real stack', () => {
  const store = MinioArtifactStore.fromConfig(stackConfig().minio);
  const taskQueue = testIds('kinds-rollout').taskQueue;
  const stack = stackForSuite(stackConfig());

  async function rolloutUnderTraffic(kind: Kind, candidateQuality: 'good' | 'biased', plan: RolloutPlanInput) {
    const config = await isolatedConfig(store, { SLUICE_SERVING_POLL_INTERVAL_MS: '150', SLUICE_BUCKET_REPORTS: `sluice-reports-${randomBytes(4).toString('hex')}` });
    await store.ensureBucket(config.buckets.reports);
    await storeFlightsFeatures(store, config);
    const registry = new ModelRegistry(store, config.buckets.models);
    const model = `${kind}-${randomBytes(3).toString('hex')}`;
    const champion = await registerTrainedFlightsModel(registry, model, await trainFlightsModel({ task: kind, seed: 1, rows: 3000 }));
    await registry.transition(model, champion.version, 'approved', { by: 'test' });
    await registry.promote(model, champion.version, { by: 'test', reason: 'first champion' });
    const trained = candidateQuality === 'good' ? await trainFlightsModel({ task: kind, seed: 2, rows: 3000 }) : await trainBiased();
    const candidate = await registerTrainedFlightsModel(registry, model, trained);
    await registry.transition(model, candidate.version, 'approved', { by: 'test' });
    await writeServingConfig(store, config, { [model]: { primary: champion.version } }, 1);

    const definitions = new StoredFeatureDefinitions(store, config.buckets, 150, createLogger('error'));
    await using api = await startTestApi({ store, config, assemblers: new OnlineFeatureAssemblers(definitions), logLines: [] });
    await api.firstPoll;
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
    const worker = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowBundle,
      activities: { ...createDeploymentActivities({ store, buckets: config.buckets }), ...createMonitoringActivities({ store, buckets: config.buckets }) },
    });
    const running = worker.run();
    try {
      const trafficFrom = new Date();
      const handle = await stack.client.workflow.start<typeof modelDeployment>('modelDeployment', {
        taskQueue,
        workflowId: `${deploymentWorkflowId(model)}-${randomBytes(3).toString('hex')}`,
        args: [{ model, start: { version: candidate.version, by: 'test', plan } }],
      });
      const prng = new Prng(5);
      const served: Record<number, number> = {};
      let ended = false;
      let i = 0;
      const traffic = (async () => {
        while (!ended) {
          const labels = await Promise.all(
            Array.from({ length: 20 }, async () => {
              const n = i++;
              const res = await api.request<{ requestId: string; prediction: RegressionPrediction | MulticlassPrediction }>('POST', `/v1/models/${model}/predict`, { key: KEYS.predict, body: { event: flightEvent(n) } });
              assert.equal(res.status, 200, res.text);
              const prediction = res.json.prediction;
              if (kind === 'regression') assert.ok(Number.isFinite((prediction as RegressionPrediction).value), res.text);
              else assert.ok((FLIGHT_CLASSES as readonly string[]).includes((prediction as MulticlassPrediction).class), res.text);
              served[prediction.modelVersion] = (served[prediction.modelVersion] ?? 0) + 1;
              return { requestId: res.json.requestId, label: outcome(kind, n, prng) };
            }),
          );
          const sent = await api.request('POST', `/v1/models/${model}/feedback`, { key: KEYS.feedback, body: { labels } });
          assert.equal(sent.status, 200, sent.text);
          await api.predictionLog.flush();
          await sleep(100);
        }
      })();
      let history = await handle.query(rolloutHistoryQuery);
      const deadline = Date.now() + 120_000;
      while (!history[0]?.outcome && Date.now() < deadline) {
        await sleep(250);
        history = await handle.query(rolloutHistoryQuery);
      }
      // A little traffic on what serves after the rollout, for the monitor's window.
      await sleep(1500);
      ended = true;
      await traffic;
      await api.predictionLog.flush();
      const rollout = history[0];
      const checks = rollout?.steps.map((st) => ({ step: `${st.kind} ${st.percent}%`, checks: st.checks.map((c) => ({ verdict: c.verdict, reasons: c.reasons, figures: c.figures })) }));
      console.log(JSON.stringify({ kind, candidateQuality, outcome: rollout?.outcome, served, checks }));
      const routes = servingConfigSchema.parse(JSON.parse((await store.get(config.buckets.serving, SERVING_CONFIG_KEY)).toString())).models[model];
      return { rollout, served, routes, config, registry, model, champion: champion.version, candidate: candidate.version, trafficFrom, taskQueue };
    } finally {
      worker.shutdown();
      await running;
      definitions.close();
    }
  }

  /**
   * Latency and prediction drift wide open, so the kind's labelled figures decide. (Drift is judged
   * too, with the default 0.25: a regression model fit to shuffled labels had value PSI 6.9 against
   * the champion's, yet RMSE 14.7 against 15.3 on 139 labels of this mostly-noise label; two good multiclass models trained apart on 3,000 rows had predicted-class PSI 0.19
   * in one run and 0.42 in the next, their rarely predicted `delayed` class swinging between 3 and 25
   * of ~300 predictions.)
   */
  const plan = (steps: RolloutPlanInput['steps'], limits: Partial<NonNullable<RolloutPlanInput['health']>> = {}): RolloutPlanInput => ({
    steps,
    health: { minSamples: 60, minLabels: 40, maxP99LatencyMs: 5000, maxPsi: 100, ...limits },
    maxExtensions: 5,
    onInsufficientData: 'rollback',
  });

  test('regression: a candidate 25 minutes off is rolled back on its RMSE / MAE against the champion, having served no more than its canary share', async () => {
    const { rollout, served, routes, registry, model, champion, candidate } = await rolloutUnderTraffic(
      'regression',
      'biased',
      plan([
        { percent: 20, bake: '6 seconds' },
        { percent: 100, bake: '0 seconds' },
      ]),
    );
    assert.equal(rollout?.outcome?.kind, 'rolled-back', JSON.stringify(rollout?.outcome));
    assert.match(rollout?.outcome?.reason ?? '', /canary 20% breached: .*(RMSE|MAE) [\d.]+ vs champion [\d.]+ \(rise [\d.]+% > 10\.0%\)/);
    const figures = rollout?.steps[0]?.checks.at(-1)?.figures;
    assert.ok((figures?.candidate.labelled ?? 0) >= 40 && figures?.candidate.rmse !== undefined && figures.champion.rmse !== undefined, JSON.stringify(figures));
    assert.ok((figures?.candidate.mae ?? 0) > 1.5 * (figures?.champion.mae ?? Infinity), 'the biased model errs far more than the champion');
    assert.equal(figures?.candidate.auc, undefined, 'a regression canary has no AUC');
    assert.ok((figures?.psi ?? 0) > 1, `value PSI ${figures?.psi}: values 25 minutes higher fall in the champion's top deciles`);
    assert.deepEqual(routes, { primary: champion });
    assert.equal((await registry.view(model, candidate)).status, 'rolled-back');
    const total = Object.values(served).reduce((a, b) => a + b, 0);
    assert.ok((served[candidate] ?? 0) / total <= 0.2 + 3 * Math.sqrt((0.2 * 0.8) / total), `the bad model served ${served[candidate]} of ${total}`);
  });

  test('multiclass: a good candidate is promoted to serve every request, then the drift monitor judges its served window by accuracy and log loss against the version’s evaluated figures', async () => {
    const { rollout, routes, config, registry, model, candidate, trafficFrom } = await rolloutUnderTraffic(
      'multiclass',
      'good',
      plan([
        { percent: 50, bake: '5 seconds' },
        { percent: 100, bake: '0 seconds' },
      ],
        // Two good models trained apart differ by sampling noise alone on ~250 labels each: the standard
        // error of an accuracy near 0.8 is 0.025, and one CI run saw 0.777 against 0.804 (a drop of 0.027,
        // over the default 0.02). The regression test above shows a real degradation caught by default limits.
        { maxAccuracyDrop: 0.1, maxLogLossIncrease: 0.2 },
      ),
    );
    assert.equal(rollout?.outcome?.kind, 'promoted', JSON.stringify(rollout?.outcome));
    const check = rollout?.steps[0]?.checks.at(-1);
    assert.equal(check?.verdict, 'healthy', JSON.stringify(check));
    assert.ok(check?.figures.candidate.accuracy !== undefined && check.figures.candidate.logLoss !== undefined, JSON.stringify(check?.figures.candidate));
    assert.deepEqual(check?.figures.histograms?.bins, [...FLIGHT_CLASSES]);
    assert.ok(check?.figures.psi !== undefined && check.figures.worstClassPsi !== undefined, 'class-share and per-class probability PSI are reported');
    assert.deepEqual(routes, { primary: candidate });
    assert.equal((await registry.view(model, candidate)).status, 'production');

    // The drift monitor's reference: the candidate's training features, summarised as a feature build does.
    const manifest = (await registry.view(model, candidate)).manifest;
    const reference = await referenceStatsOf(flightsTaskMatrix(3000, 2, 'multiclass'));
    await store.put(config.buckets.features, featureKeys.referenceStats(FLIGHTS_SPEC_HASH, manifest.datasetVersion), JSON.stringify({ kind: 'sluice.reference-stats', featureSpecHash: FLIGHTS_SPEC_HASH, datasetVersion: manifest.datasetVersion, split: 'train', ...reference }));
    const worker = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue: `${taskQueue}-monitor`,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet }),
      activities: createMonitoringActivities({ store, buckets: config.buckets }),
    });
    const asOf = new Date(Date.now() + 1000);
    const window = `${Math.ceil((asOf.getTime() - trafficFrom.getTime()) / 1000) + 5} seconds`;
    // The traffic is time-bound, so a loaded machine serves fewer requests: a CI run at load 6.8 logged
    // 465, under the default 500-row minimum. What is judged here is performance, not the window's size.
    const result = await worker.runUntil(
      stack.client.workflow.execute<typeof driftMonitor>('driftMonitor', {
        taskQueue: `${taskQueue}-monitor`,
        workflowId: `monitor-${model}`,
        args: [{ model, window, align: '1 second', asOf: asOf.toISOString(), thresholds: { minWindowRows: 200 }, performance: { minLabelled: 40, maxAccuracyDrop: 0.1, maxLogLossIncrease: 0.2 } }],
      }),
    );
    console.log(JSON.stringify({ drift: result.drift, performance: result.performance, decision: result.decision }));
    assert.equal(result.status, 'judged', JSON.stringify(result));
    assert.equal(result.version, candidate);
    assert.ok((result.performance?.labelled ?? 0) >= 40, JSON.stringify(result.performance));
    assert.ok(result.performance?.accuracy !== undefined && result.performance.accuracy !== null && result.performance.accuracy > 0.4, JSON.stringify(result.performance));
    assert.ok(Number.isFinite(result.performance?.logLoss), JSON.stringify(result.performance));
    assert.equal(result.decision?.performanceBreached, false, 'a good model served as evaluated breaches no performance limit');
  });

  /** Reference statistics of a feature matrix, computed by the feature build's own code over a Parquet file of its rows. */
  async function referenceStatsOf(matrix: ReturnType<typeof flightsTaskMatrix>) {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-reference-'));
    using session = await openDuckDb({ tempDirectory: dir });
    const { db } = session;
    const columns = [...FLIGHTS_FEATURES.numeric.map((n) => `${n} DOUBLE`), ...FLIGHTS_FEATURES.categorical.map((n) => `${n} VARCHAR`), 'label VARCHAR'];
    await db.run(`CREATE TABLE reference (${columns.join(', ')})`);
    const rows: string[] = [];
    for (let r = 0; r < matrix.rows; r++) {
      const numeric = matrix.numeric.columns.map((c) => String(c[r]));
      const categorical = matrix.categorical.columns.map((c) => `'${c.dictionary[c.codes[r] as number]}'`);
      rows.push(`(${[...numeric, ...categorical, `'${FLIGHT_CLASSES[matrix.label[r] as number]}'`].join(', ')})`);
    }
    await db.run(`INSERT INTO reference VALUES ${rows.join(', ')}`);
    const path = join(dir, 'reference.parquet');
    await db.run(`COPY reference TO '${path}' (FORMAT parquet)`);
    const features = [...FLIGHTS_FEATURES.numeric.map((name) => ({ name, kind: 'numeric' as const })), ...FLIGHTS_FEATURES.categorical.map((name) => ({ name, kind: 'categorical' as const }))];
    return await computeReferenceStats(db, path, { features, label: 'label', labelKind: 'multiclass' }, { bins: 10, topCategories: 50 });
  }
});
