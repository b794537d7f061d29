import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createDeploymentActivities } from '../../../activities/deployment/deployment-activities.ts';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { type FeatureAssemblers, FeatureInputError } from '../../../api/features/feature-assembler.ts';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { predictionFailureKeys, predictionLogKeys } from '../../../shared/api/prediction-log.ts';
import { healthThresholdsSchema, judgeHealth } from '../../../shared/deployment.ts';
import { flightEvent, flightsDefinitions, registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { stackConfig } from '../../support/stack.ts';
import { isolatedConfig, queryObjects } from '../api/minio-support.ts';

/**
 * Failed predictions reach the failure log and the rollout judge counts them: real API, real
 * Parquet writer thread, real MinIO, real DuckDB health read. The only stand-in is the feature step
 * of each version, which fails for chosen events the way an online-store read or a broken feature
 * would (a plain error: the API answers 500), hangs past the request deadline (503 Timeout), or
 * refuses one as the caller's fault (400).
 */

const store = MinioArtifactStore.fromConfig(stackConfig().minio);

const REQUEST_TIMEOUT_MS = 1000;

/** How a version's feature step fails for an event (picked by its distance). */
type Fault = (version: number, distance: number) => 'internal' | 'slow' | 'caller' | undefined;
/** Events of the requests each version failed, by fault: `${version}:${fault}` → events. */
type Faults = Map<string, number>;

function faultyAssemblers(fault: Fault, faults: Faults): FeatureAssemblers {
  const real = new OnlineFeatureAssemblers(flightsDefinitions());
  return {
    async forModel(manifest) {
      const assembler = await real.forModel(manifest);
      const count = (kind: string, events: number) => faults.set(`${manifest.version}:${kind}`, (faults.get(`${manifest.version}:${kind}`) ?? 0) + events);
      return {
        eventFields: assembler.eventFields,
        async assemble(events) {
          const kinds = events.map((event) => fault(manifest.version, Number(event.distance)));
          const caller = kinds.indexOf('caller');
          if (caller >= 0) throw new FeatureInputError(caller, 'distance', 'not a distance this model reads');
          if (kinds.includes('internal')) {
            count('internal', events.length);
            throw new Error(`online store read failed for version ${manifest.version}`);
          }
          if (kinds.includes('slow')) {
            count('slow', events.length);
            await sleep(REQUEST_TIMEOUT_MS * 1.5);
          }
          return assembler.assemble(events);
        },
      };
    },
  };
}

test('failed predictions land in prediction-failures/ per version and route, and the judge counts them into the error rate', async () => {
  const config = await isolatedConfig(store, { SLUICE_API_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
  const registry = new ModelRegistry(store, config.buckets.models);
  const model = `flights-${randomBytes(3).toString('hex')}`;
  const champion = (await registerFlightsModel(registry, model, { seed: 1 })).version;
  const candidate = (await registerFlightsModel(registry, model, { seed: 2 })).version;
  await writeServingConfig(store, config, { [model]: { primary: champion, canary: { version: candidate, percent: 50 } } }, 1);

  // The candidate fails a third of its events and hangs on some; the champion fails one in twenty;
  // distances ending in 5 are the caller's fault (400).
  const faults: Faults = new Map();
  const fault: Fault = (version, distance) => {
    if (distance % 10 === 5) return 'caller';
    if (version === candidate && distance % 3 === 0) return 'internal';
    if (version === candidate && distance % 10 === 7) return 'slow';
    if (version === champion && distance % 20 === 2) return 'internal';
    return undefined;
  };
  const from = new Date().toISOString();
  const status = new Map<number, number>();
  const served = new Map<number, number>();
  {
    // The 500s are logged by the API as errors; kept out of the test output.
    await using api = await startTestApi({ store, config, assemblers: faultyAssemblers(fault, faults), logLines: [] });
    await api.firstPoll;
    for (let i = 0; i < 600; i += 20) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, k) => {
          const n = i + k;
          // Every fourth request is a batch of three events: failures count in events, like served rows.
          return api.predict(model, n % 4 === 0 ? { events: [flightEvent(n), flightEvent(n + 1000), flightEvent(n + 2000)] } : { event: flightEvent(n) });
        }),
      );
      for (const answer of answers) {
        status.set(answer.status, (status.get(answer.status) ?? 0) + 1);
        const versions = answer.json.predictions?.map((p) => p.modelVersion) ?? (answer.json.prediction ? [answer.json.prediction.modelVersion] : []);
        for (const v of versions) served.set(v, (served.get(v) ?? 0) + 1);
      }
    }
    // A hung request is recorded once its version finally answers (after the 503): wait that out, then flush.
    await sleep(REQUEST_TIMEOUT_MS * 1.5);
    await api.predictionLog.flush();
  }
  const to = new Date().toISOString();
  const events = (key: string) => faults.get(key) ?? 0;
  const candidateFailed = events(`${candidate}:internal`) + events(`${candidate}:slow`);
  const championFailed = events(`${champion}:internal`);
  assert.ok(events(`${candidate}:internal`) > 50 && events(`${candidate}:slow`) > 0 && championFailed > 0, `every kind of failure happened: ${JSON.stringify([...faults])}`);
  assert.ok((status.get(400) ?? 0) > 0 && (status.get(500) ?? 0) > 0 && (status.get(503) ?? 0) > 0, `4xx and 5xx answers: ${JSON.stringify([...status])}`);

  // The rows as written: one per failed request, with its route, events and error code; no 4xx among them.
  const rows = await queryObjects(store, config.buckets.predictions, predictionFailureKeys.prefix(model), (dir) =>
    `SELECT model_version, route, error, sum(events)::INTEGER AS events, count(*)::INTEGER AS requests, bool_and(latency_ms >= 0) AS latencies, bool_and(failed_at IS NOT NULL) AS times
     FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = false) GROUP BY ALL ORDER BY model_version, error`,
  );
  assert.deepEqual(
    rows.map((r) => [r.model_version, r.route, r.error, r.events, r.latencies, r.times]),
    [
      [champion, 'primary', 'Internal', championFailed, true, true],
      [candidate, 'canary', 'Internal', events(`${candidate}:internal`), true, true],
      [candidate, 'canary', 'Timeout', events(`${candidate}:slow`), true, true],
    ],
  );
  const failedRequests = rows.reduce((sum, r) => sum + Number(r.requests), 0);
  assert.equal(failedRequests, (status.get(500) ?? 0) + (status.get(503) ?? 0), 'every 5xx answer, and nothing else, is a failure row');
  const keys = (await store.list(config.buckets.predictions, predictionFailureKeys.prefix(model))).map((o) => o.key);
  assert.ok(keys.every((k) => /^prediction-failures\/model=[a-z0-9-]+\/hour=\d{4}-\d\d-\d\dT\d\d\/v\d{6}-.+\.parquet$/.test(k)), keys.join(', '));
  assert.ok((await store.list(config.buckets.predictions, predictionLogKeys.prefix(model))).every((o) => !o.key.includes('failures')), 'served log untouched');

  // The rollout judge's read: served events from the prediction log, failed events from the failure log.
  const activities = createDeploymentActivities({ store, buckets: config.buckets });
  const figures = await activities.measureRolloutHealth({ model, candidate, champion, route: 'canary', from, to });
  console.log(JSON.stringify({ faults: Object.fromEntries(faults), status: Object.fromEntries(status), candidate: figures.candidate, champion: figures.champion }));
  assert.equal(figures.candidate.failed, candidateFailed);
  assert.equal(figures.champion.failed, championFailed);
  assert.equal(figures.candidate.samples, served.get(candidate));
  assert.equal(figures.champion.samples, served.get(champion));
  assert.equal(figures.candidate.errorRate, candidateFailed / (candidateFailed + (served.get(candidate) ?? 0)));
  const judgement = judgeHealth(figures, healthThresholdsSchema.parse({ minSamples: 100, maxP99LatencyMs: 5000, maxPsi: 10 }));
  assert.equal(judgement.verdict, 'breach');
  assert.match(judgement.reasons.join('; '), /^error rate 0\.\d{4} vs champion 0\.\d{4} \(rise > 0\.01\)$/);
});

test('a shadow version that fails is recorded on the shadow route, off the answer path, and the judge counts it', async () => {
  const config = await isolatedConfig(store, {});
  const registry = new ModelRegistry(store, config.buckets.models);
  const model = `flights-${randomBytes(3).toString('hex')}`;
  const champion = (await registerFlightsModel(registry, model, { seed: 1 })).version;
  const candidate = (await registerFlightsModel(registry, model, { seed: 2 })).version;
  await writeServingConfig(store, config, { [model]: { primary: champion, shadow: { version: candidate, percent: 100 } } }, 1);
  const faults: Faults = new Map();
  const fault: Fault = (version, distance) => (version === candidate && distance % 3 === 0 ? 'internal' : undefined);
  const from = new Date().toISOString();
  const statuses = new Set<number>();
  {
    await using api = await startTestApi({ store, config, assemblers: faultyAssemblers(fault, faults), logLines: [] });
    await api.firstPoll;
    for (let i = 0; i < 240; i += 20) {
      for (const answer of await Promise.all(Array.from({ length: 20 }, (_, k) => api.predict(model, { event: flightEvent(i + k) })))) statuses.add(answer.status);
    }
    // Shutdown waits for shadow scoring, then flushes both logs.
  }
  const to = new Date().toISOString();
  assert.deepEqual([...statuses], [200], 'a failing shadow never changes an answer');
  const shadowFailed = faults.get(`${candidate}:internal`) ?? 0;
  assert.ok(shadowFailed > 50, `the shadow failed ${shadowFailed} events`);
  const figures = await createDeploymentActivities({ store, buckets: config.buckets }).measureRolloutHealth({ model, candidate, champion, route: 'shadow', from, to });
  assert.equal(figures.candidate.failed, shadowFailed);
  assert.equal(figures.candidate.samples, 240 - shadowFailed);
  assert.equal(figures.champion.failed, 0);
  assert.equal(figures.candidate.errorRate, shadowFailed / 240);
});
