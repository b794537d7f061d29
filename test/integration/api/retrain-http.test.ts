import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { defaultPayloadConverter } from '@temporalio/common';
import { trainingSlotId } from '../../../shared/pipeline-identity.ts';
import { pipelineInputSchema } from '../../../shared/pipeline.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { type FixtureDir, fixtureDir, bucketSettings, isolatedBuckets, writeFlights } from '../data/fixtures.ts';
import { registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { type AnswerJson, KEYS, type TestApi, startTestApi, testConfig } from '../../unit/api/support/test-api.ts';
import { type TemporalHandles, connectToStack, stackConfig, testIds } from '../../support/stack.ts';

/**
 * `POST /v1/models/{name}/retrain` on the real Temporal dev server and MinIO: the run it starts
 * carries the manual trigger with the key holder and reason; the same request again attaches to that
 * run; a model whose training slot is held gets 409 and nothing new starts; bad requests name the
 * problem. No worker runs here: what is checked is what the API started, not the training.
 */

interface RetrainAnswer extends AnswerJson {
  status: string;
  workflowId: string;
  specFrom: string;
  trigger: Record<string, unknown>;
}

describe('retraining over HTTP', () => {
  const model = `retrain-http-${randomBytes(3).toString('hex')}`;
  let stack: TemporalHandles;
  let fixtures: FixtureDir;
  let api: TestApi;
  let spec: Record<string, unknown>;
  let modelsBucket: string;
  const started: string[] = [];

  before(async () => {
    stack = await connectToStack(stackConfig());
    fixtures = fixtureDir();
    const source = await writeFlights(fixtures, 'flights-small', { rows: 2000, format: 'parquet' });
    const buckets = await isolatedBuckets(stack.store, 'retrain-http');
    modelsBucket = buckets.models;
    const config = testConfig({
      SLUICE_TASK_QUEUE_PIPELINE: testIds('retrain-http').taskQueue,
      ...bucketSettings(buckets),
    });
    const example = loadSpecFile(new URL('../../../examples/flights/pipeline.json', import.meta.url).pathname) as Record<string, unknown>;
    spec = { ...example, model: { name: model }, dataset: { name: 'flights-small', source } };
    api = await startTestApi({ store: stack.store, config });
  });
  after(async () => {
    for (const id of started) await stack.client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    await api.shutdown();
    fixtures[Symbol.dispose]();
    await stack[Symbol.asyncDispose]();
  });

  const retrain = (name: string, body: unknown, key: string = KEYS.admin) => api.request<RetrainAnswer>('POST', `/v1/models/${name}/retrain`, { key, body });

  test('starts one run with the manual trigger in its input; the same request attaches; a held slot is 409', async () => {
    const first = await retrain(model, { reason: 'new airports in the data', spec });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.status, 'started');
    assert.equal(first.json.specFrom, 'request');
    started.push(first.json.workflowId);
    const description = await stack.client.workflow.getHandle(first.json.workflowId).describe();
    assert.equal(description.type, 'trainingPipeline');
    const payload = (await stack.client.workflow.getHandle(first.json.workflowId).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    assert.ok(payload, 'the run was started with an input');
    const input = pipelineInputSchema.parse(defaultPayloadConverter.fromPayload(payload));
    assert.deepEqual(input.trigger, { kind: 'manual', reason: 'new airports in the data', requestedBy: 'ana-admin' });

    const again = await retrain(model, { reason: 'new airports in the data', spec });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.status, 'attached');
    assert.equal(again.json.workflowId, first.json.workflowId);

    // Another run holds the model's training slot: nothing is started.
    const slot = await stack.client.workflow.start('trainingSlot', { taskQueue: testIds('no-worker').taskQueue, workflowId: trainingSlotId(model), args: [{ modelName: model, holder: 'some-other-run' }] });
    started.push(slot.workflowId);
    const busy = await retrain(model, { reason: 'again, with other data', spec: { ...spec, trainer: { kind: 'gbdt', nTrees: 10 } } });
    assert.equal(busy.status, 409, busy.text);
    assert.equal(busy.json.error?.code, 'RetrainingRefused');
    assert.match(busy.json.error?.message ?? '', /already training.*nothing was started/);
  });

  test("without a spec, a version registered before specs were stored retrains with the spec its run was started with", async () => {
    const older = `${model}-older`;
    const manifest = await registerFlightsModel(new ModelRegistry(stack.store, modelsBucket), older);
    assert.equal(manifest.reports.spec, undefined, 'registered the old way, without a stored spec');
    // The run that trained it, as Temporal keeps it: its input carries the spec.
    const olderSpec = { ...spec, model: { name: older } };
    const original = await stack.client.workflow.start('trainingPipeline', {
      taskQueue: testIds('retrain-http-no-worker').taskQueue,
      workflowId: manifest.origin.workflowId,
      args: [pipelineInputSchema.parse({ spec: olderSpec, datasetVersion: '0'.repeat(64), requestedBy: 'someone' })],
    });
    started.push(original.workflowId);

    const res = await retrain(older, { reason: 'the old champion, again' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.specFrom, 'run-history');
    assert.equal(res.json.status, 'started');
    started.push(res.json.workflowId);
    const payload = (await stack.client.workflow.getHandle(res.json.workflowId).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    assert.ok(payload);
    assert.equal(pipelineInputSchema.parse(defaultPayloadConverter.fromPayload(payload)).spec.model.name, older);
  });

  test('bad requests are refused with the problem named', async () => {
    const noReason = await retrain(model, { spec });
    assert.equal(noReason.status, 400);
    assert.equal(noReason.json.error?.field, 'reason');

    const otherModel = await retrain(`${model}-other`, { reason: 'x', spec });
    assert.equal(otherModel.status, 400, otherModel.text);
    assert.match(otherModel.json.error?.message ?? '', /spec\.model\.name is 'retrain-http-[0-9a-f]+', but the retraining is for 'retrain-http-[0-9a-f]+-other'/);

    const unknown = await retrain(`never-trained-${randomBytes(2).toString('hex')}`, { reason: 'x' });
    assert.equal(unknown.status, 404, unknown.text);
    assert.match(unknown.json.error?.message ?? '', /send "spec" to train a new model/);

    const forbidden = await retrain(model, { reason: 'x', spec }, KEYS.predict);
    assert.equal(forbidden.status, 403);
    // A key with admin on the flights-* models only: refused here naming the scope; on a flights model it gets as far as the registry.
    const scopedElsewhere = await retrain(model, { reason: 'x', spec }, KEYS.flights);
    assert.equal(scopedElsewhere.status, 403);
    assert.equal(scopedElsewhere.json.error?.message, `API key "app-flights" lacks the "admin:${model}" scope (it has: predict:flights-*, feedback:flights-*, admin:flights-*)`);
    const ownModel = await retrain(`flights-never-${randomBytes(2).toString('hex')}`, { reason: 'x' }, KEYS.flights);
    assert.equal(ownModel.status, 404, ownModel.text);
  });
});
