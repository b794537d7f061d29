import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createDeploymentActivities } from '../../../activities/deployment/deployment-activities.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { Prng } from '../../../domain/training/prng.ts';
import { trainModel } from '../../../domain/training/train-model.ts';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import type { Config } from '../../../shared/config.ts';
import { type RolloutPlanInput, deploymentWorkflowId } from '../../../shared/deployment.ts';
import { createLogger } from '../../../shared/logger.ts';
import { SERVING_CONFIG_KEY, servingConfigSchema } from '../../../shared/serving-config.ts';
import { trainerSpecSchema } from '../../../shared/trainers.ts';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import { type modelDeployment, rolloutHistoryQuery } from '../../../workflows/model-deployment.ts';
import { AIRPORTS, flightEvent, flightsMatrix, registerFlightsModel, registerTrainedFlightsModel } from '../../unit/api/support/flights-model.ts';
import { KEYS, startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { stackForSuite, stackConfig, testIds } from '../../support/stack.ts';
import type { FeatureAssemblers } from '../../../api/features/feature-assembler.ts';
import type { RawEvent } from '../../../shared/api/predict.ts';
import { isolatedConfig, storeFlightsFeatures } from '../api/minio-support.ts';

/**
 * A deliberately bad model (trained on shuffled labels) rolled out against real API traffic with
 * labels arriving through /v1/feedback: the deployment workflow, with its real activities reading the
 * Parquet prediction log and the feedback from MinIO with DuckDB, rolls it back at its first canary
 * step, and it never served more than its canary share.
 */

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** The synthetic ground truth the flights matrix is drawn from, for an event the API scores. */
function truthProbability(i: number): number {
  const event = flightEvent(i);
  const origin = AIRPORTS.indexOf(event.origin);
  const destination = AIRPORTS.indexOf(event.destination);
  const hour = Number(event.date.slice(11, 13));
  const rate = 0.1 + 0.04 * origin;
  const logit = -2 + 0.12 * (hour - 12) + 6 * (rate - 0.25) + (destination % 3 === 0 ? 0.4 : 0);
  return 1 / (1 + Math.exp(-logit));
}

async function registerShuffledLabelModel(registry: ModelRegistry, name: string) {
  const train = flightsMatrix(4000, 7);
  const prng = new Prng(99);
  for (let i = train.label.length - 1; i > 0; i--) {
    const j = prng.nextInt(i + 1);
    [train.label[i], train.label[j]] = [train.label[j] as number, train.label[i] as number];
  }
  const trainer = trainerSpecSchema.parse({ kind: 'gbdt', nTrees: 30, maxLeaves: 15, minSamplesLeaf: 20 });
  const model = await trainModel(trainer, { train, validation: flightsMatrix(1000, 1007) }, { seed: 7 });
  return registerTrainedFlightsModel(registry, name, { model, trainer, threshold: 0.3, seed: 7 });
}

/** The real features, except that `version`'s fail (a plain error: the API answers 500) for events `fails` picks. */
function failingFeatures(real: FeatureAssemblers, version: number, fails: (event: RawEvent) => boolean): FeatureAssemblers {
  return {
    async forModel(manifest) {
      const assembler = await real.forModel(manifest);
      if (manifest.version !== version) return assembler;
      return {
        eventFields: assembler.eventFields,
        async assemble(events) {
          if (events.some(fails)) throw new Error(`feature lookup failed in version ${version}`);
          return assembler.assemble(events);
        },
      };
    },
  };
}

describe('canary rollout on the real stack', () => {
  const store = MinioArtifactStore.fromConfig(stackConfig().minio);
  const taskQueue = testIds('deployment-integration').taskQueue;
  const stack = stackForSuite(stackConfig());


  /**
   * Champion v1 (a real model) serving, the candidate registered and approved, the API in-process and
   * a worker with the real deployment activities; labelled traffic runs until the rollout ends.
   */
  async function rolloutUnderTraffic(candidateKind: 'shuffled-labels' | 'good', plan: RolloutPlanInput, options: { candidateFails?: (event: RawEvent) => boolean } = {}) {
    const config = await isolatedConfig(store, { SLUICE_SERVING_POLL_INTERVAL_MS: '150', SLUICE_BUCKET_REPORTS: `sluice-reports-${randomBytes(4).toString('hex')}` });
    await store.ensureBucket(config.buckets.reports);
    await storeFlightsFeatures(store, config);
    const registry = new ModelRegistry(store, config.buckets.models);
    const model = `flights-${randomBytes(3).toString('hex')}`;
    const champion = await registerFlightsModel(registry, model, { seed: 1 });
    await registry.transition(model, champion.version, 'approved', { by: 'test' });
    await registry.promote(model, champion.version, { by: 'test', reason: 'first champion' });
    const candidate = candidateKind === 'good' ? await registerFlightsModel(registry, model, { seed: 2 }) : await registerShuffledLabelModel(registry, model);
    await registry.transition(model, candidate.version, 'approved', { by: 'test', reason: 'approved' });
    await writeServingConfig(store, config, { [model]: { primary: champion.version } }, 1);

    const definitions = new StoredFeatureDefinitions(store, config.buckets, 150, createLogger('error'));
    const assemblers = new OnlineFeatureAssemblers(definitions);
    const candidateFails = options.candidateFails;
    await using api = await startTestApi({ store, config, assemblers: candidateFails ? failingFeatures(assemblers, candidate.version, candidateFails) : assemblers, logLines: [] });
    await api.firstPoll;

    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
    const worker = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowBundle,
      activities: createDeploymentActivities({ store, buckets: config.buckets }),
    });
    const running = worker.run();
    try {
      const handle = await stack.client.workflow.start<typeof modelDeployment>('modelDeployment', {
        taskQueue,
        workflowId: deploymentWorkflowId(model) + `-${randomBytes(3).toString('hex')}`,
        args: [{ model, start: { version: candidate.version, by: 'test', plan } }],
      });

      const prng = new Prng(5);
      const served: Record<number, number> = {};
      let ended = false;
      let i = 0;
      const traffic = (async () => {
        while (!ended) {
          const batch = await Promise.all(
            Array.from({ length: 20 }, async () => {
              const n = i++;
              const res = await api.predict(model, { event: flightEvent(n) });
              assert.ok(res.status === 200 || (candidateFails !== undefined && res.status === 500), `${res.status}: ${res.text}`);
              const version = res.json.prediction?.modelVersion ?? 0;
              served[version] = (served[version] ?? 0) + 1;
              const label = prng.next() < truthProbability(n);
              return res.status === 200 ? [{ requestId: res.json.requestId ?? '', label }] : [];
            }),
          );
          const sent = await api.request('POST', '/v1/feedback', { key: KEYS.feedback, body: { labels: batch.flat() } });
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
      ended = true;
      await traffic;
      const rollout = history[0];
      const steps = rollout?.steps.map((st) => ({ step: `${st.kind} ${st.percent}%`, reportKey: st.reportKey, checks: st.checks.map((c) => ({ at: c.at, verdict: c.verdict, reasons: c.reasons, psi: c.figures.psi, candidate: c.figures.candidate, champion: c.figures.champion })) }));
      console.log(JSON.stringify({ steps, outcome: rollout?.outcome, served }));
      return { rollout, served, config, registry, model, champion: champion.version, candidate: candidate.version };
    } finally {
      worker.shutdown();
      await running;
      definitions.close();
    }
  }

  test('a model that fails a share of its requests is rolled back on its error rate, the champion unharmed', async () => {
    // The candidate's feature step fails for flights from two of the airports (a broken lookup): 500s for the caller.
    const { rollout, served, config, registry, model, champion, candidate } = await rolloutUnderTraffic(
      'good',
      {
        steps: [
          { percent: 20, bake: '6 seconds' },
          { percent: 100, bake: '0 seconds' },
        ],
        // Every other limit wide open: the error rate alone decides.
        health: { minSamples: 60, minLabels: 40, maxP99LatencyMs: 5000, maxPsi: 10, maxAucDrop: 1, maxLogLossIncrease: 10 },
        maxExtensions: 5,
        onInsufficientData: 'rollback',
      },
      { candidateFails: (event) => event.origin === AIRPORTS[0] || event.origin === AIRPORTS[1] },
    );
    assert.equal(rollout?.outcome?.kind, 'rolled-back', `outcome: ${JSON.stringify(rollout?.outcome)}`);
    assert.match(rollout?.outcome?.reason ?? '', /^canary 20% breached: error rate 0\.\d{4} vs champion 0\.0000 \(rise > 0\.01\)$/);
    const figures = rollout?.steps[0]?.checks.at(-1)?.figures;
    assert.ok((figures?.candidate.failed ?? 0) > 0 && (figures?.candidate.errorRate ?? 0) > 0.1, JSON.stringify(figures?.candidate));
    assert.equal(figures?.champion.failed, 0);
    assert.equal(figures?.champion.errorRate, 0);
    assert.ok((served[0] ?? 0) > 0, 'some requests were answered 500');
    // Only the candidate failed, so its share of requests is what it served plus the 500s: its canary share at most.
    const total = Object.values(served).reduce((a, b) => a + b, 0);
    const candidateShare = ((served[candidate] ?? 0) + (served[0] ?? 0)) / total;
    assert.ok(candidateShare <= 0.2 + 3 * Math.sqrt((0.2 * 0.8) / total), `the failing model took ${(candidateShare * 100).toFixed(1)}% of ${total} requests`);
    assert.deepEqual(await servingRoutes(config, model), { primary: champion });
    assert.equal((await registry.view(model, candidate)).status, 'rolled-back');
    assert.equal((await registry.view(model, champion)).status, 'production');
  });

  test('a model failing every request is rolled back by a check while its step bakes, seconds into a 10-minute bake', async (t) => {
    const { rollout, served, config, registry, model, champion, candidate } = await rolloutUnderTraffic(
      'good',
      {
        steps: [
          { percent: 20, bake: '10 minutes' },
          { percent: 100, bake: '0 seconds' },
        ],
        health: { minSamples: 60, minLabels: 40, maxP99LatencyMs: 5000, checkEvery: '2 seconds' },
        onInsufficientData: 'rollback',
      },
      { candidateFails: () => true },
    );
    assert.equal(rollout?.outcome?.kind, 'rolled-back', `outcome: ${JSON.stringify(rollout?.outcome)}`);
    assert.equal(rollout?.outcome?.reason, 'canary 20% breached while baking: error rate 1.0000 vs champion 0.0000 (rise > 0.01)');
    const checks = rollout?.steps[0]?.checks ?? [];
    assert.deepEqual(checks.map((c) => [c.verdict, c.early]), [['breach', true]], 'only the breaching check is kept');
    const figures = checks[0]?.figures;
    assert.equal(figures?.candidate.samples, 0);
    assert.ok((figures?.candidate.failed ?? 0) >= 60, JSON.stringify(figures?.candidate));
    assert.equal(figures?.champion.errorRate, 0);
    const startedAt = Date.parse(rollout?.steps[0]?.startedAt ?? '');
    const checkedAt = Date.parse(checks[0]?.at ?? '');
    const rolledBackAt = Date.parse(rollout?.outcome?.at ?? '');
    assert.ok(rolledBackAt - startedAt < 60_000, `rolled back ${rolledBackAt - startedAt} ms into the bake`);
    t.diagnostic(`breach seen ${checkedAt - startedAt} ms into the bake (${figures?.candidate.failed} failed requests), rolled back ${rolledBackAt - checkedAt} ms after it`);
    assert.equal(served[candidate] ?? 0, 0, 'the candidate answered no request');
    assert.deepEqual(await servingRoutes(config, model), { primary: champion });
    assert.equal((await registry.view(model, candidate)).status, 'rolled-back');
    assert.equal((await registry.view(model, champion)).status, 'production');
  });

  const servingRoutes = async (config: Config, model: string) => servingConfigSchema.parse(JSON.parse((await store.get(config.buckets.serving, SERVING_CONFIG_KEY)).toString())).models[model];

  test('a bad model is rolled back automatically from real traffic, having served no more than its canary share', async () => {
    const { rollout, served, config, registry, model, champion, candidate } = await rolloutUnderTraffic('shuffled-labels', {
      steps: [
        { percent: 20, bake: '6 seconds' },
        { percent: 50, bake: '6 seconds' },
        { percent: 100, bake: '0 seconds' },
      ],
      health: { minSamples: 60, minLabels: 40, maxP99LatencyMs: 5000 },
      maxExtensions: 5,
      onInsufficientData: 'rollback',
    });
    assert.equal(rollout?.outcome?.kind, 'rolled-back', `outcome: ${JSON.stringify(rollout?.outcome)}`);
    assert.match(rollout?.outcome?.reason ?? '', /canary 20% breached: .*(PSI|AUC|log-loss)/);
    const check = rollout?.steps[0]?.checks.at(-1);
    assert.equal(check?.verdict, 'breach');
    assert.ok((check?.figures.candidate.samples ?? 0) >= 60);
    assert.deepEqual(await servingRoutes(config, model), { primary: champion });
    assert.equal((await registry.view(model, candidate)).status, 'rolled-back');
    assert.equal((await registry.view(model, champion)).status, 'production');
    const total = Object.values(served).reduce((a, b) => a + b, 0);
    const badShare = (served[candidate] ?? 0) / total;
    // 20 % of requests at most while it was canary (binomial slack), none before or after.
    assert.ok(badShare <= 0.2 + 3 * Math.sqrt((0.2 * 0.8) / total), `the bad model served ${(badShare * 100).toFixed(1)}% of ${total} requests`);
  });

  test('a good model goes through shadow (report stored) and canary to promotion', async () => {
    const { rollout, config, registry, model, champion, candidate } = await rolloutUnderTraffic('good', {
      shadow: { percent: 100, duration: '5 seconds' },
      steps: [
        { percent: 50, bake: '6 seconds' },
        { percent: 100, bake: '0 seconds' },
      ],
      // Two real models on a few hundred rows: limits wide enough that sampling noise is not a breach.
      health: { minSamples: 80, minLabels: 60, maxP99LatencyMs: 5000, maxPsi: 0.6, maxAucDrop: 0.15, maxLogLossIncrease: 0.15 },
      maxExtensions: 5,
      onInsufficientData: 'rollback',
    });
    assert.equal(rollout?.outcome?.kind, 'promoted', `outcome: ${JSON.stringify(rollout?.outcome)}`);
    assert.deepEqual(rollout?.steps.map((s) => `${s.kind}:${s.percent}`), ['shadow:100', 'canary:50', 'promote:100']);
    const reportKey = rollout?.steps[0]?.reportKey ?? '';
    const report = JSON.parse((await store.get(config.buckets.reports, reportKey)).toString()) as { kind: string; verdict: string; figures: { psi: number; histograms: { candidate: number[] } } };
    assert.equal(report.kind, 'sluice.shadow-report');
    assert.equal(report.verdict, 'healthy');
    assert.equal(report.figures.histograms.candidate.length, 10);
    assert.deepEqual(await servingRoutes(config, model), { primary: candidate });
    const index = await registry.index(model);
    assert.equal(index.aliases.champion, candidate);
    assert.equal((await registry.view(model, champion)).status, 'archived');
    assert.equal((await registry.view(model, candidate)).status, 'production');
  });
});
