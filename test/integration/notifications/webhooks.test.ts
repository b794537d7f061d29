import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Worker } from '@temporalio/worker';
import { EXIT, runCli } from '../../../cli/main.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { type Config, loadConfig } from '../../../shared/config.ts';
import { deploymentWorkflowId } from '../../../shared/deployment.ts';
import type { NotificationInput, NotificationPayload } from '../../../shared/notifications.ts';
import { createPipelineWorker } from '../../../workers/pipeline-worker.ts';
import type { DeliveryOutcome, deliverNotification } from '../../../workflows/deliver-notification.ts';
import type { modelDeployment } from '../../../workflows/model-deployment.ts';
import { registerTrainedFlightsModel, trainFlightsModel } from '../../unit/api/support/flights-model.ts';
import { type TemporalHandles, connectToStack, stackConfig, testIds } from '../../support/stack.ts';
import { bucketSettings, isolatedBuckets } from '../data/fixtures.ts';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Webhooks on the real stack: configured with `sluice webhooks` (stored in MinIO), delivered by the
 * pipeline worker's activities from a real Temporal server to an HTTP receiver on loopback that
 * answers as real ones do (at once, after failing twice, never, or refusing); given-up notifications
 * filed as dead letters in the reports bucket; and one raised by a real workflow (a deployment's
 * promotion).
 */
describe('webhooks', () => {
  const base = stackConfig();
  let stack: TemporalHandles;
  let config: Config;
  let env: NodeJS.ProcessEnv;
  let worker: Worker;
  let running: Promise<void>;
  const received: Received[] = [];
  const flakyFailures = new Map<string, number>();
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, headers: req.headers, body });
      const delivery = String(req.headers['x-sluice-delivery']);
      if (path === '/flaky' && (flakyFailures.get(delivery) ?? 0) < 2) {
        flakyFailures.set(delivery, (flakyFailures.get(delivery) ?? 0) + 1);
        res.writeHead(500).end('not yet');
      } else if (path === '/down') res.writeHead(503).end('down for maintenance');
      else if (path === '/refuse') res.writeHead(400).end('unknown payload');
      else res.writeHead(204).end();
    });
  });
  let url: string;
  let secret: string;

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, { write: (l) => out.push(l), error: (l) => out.push(l), env });
    return { code, text: out.join('\n') };
  };
  const at = (path: string) => received.filter((r) => r.path === path);

  function raise(notification: Omit<NotificationInput, 'occurredAt' | 'source'>): Promise<DeliveryOutcome> {
    return stack.client.workflow.execute<typeof deliverNotification>('deliverNotification', {
      taskQueue: config.taskQueues.pipeline,
      workflowId: `notify-test-${randomBytes(4).toString('hex')}`,
      args: [{ ...notification, occurredAt: new Date().toISOString(), source: { namespace: config.temporal.namespace, workflowId: 'test-run', runId: 'r1' } }],
    });
  }

  before(async () => {
    stack = await connectToStack(base);
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    env = { ...process.env, SLUICE_TASK_QUEUE_PIPELINE: testIds('webhooks').taskQueue, ...bucketSettings(await isolatedBuckets(stack.store, 'webhooks')) };
    config = loadConfig(env);
    worker = await createPipelineWorker({ config, connection: stack.nativeConnection, store: stack.store, client: stack.client });
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
    receiver.close();
    await stack[Symbol.asyncDispose]();
  });

  test('sluice webhooks adds, lists and refuses bad input with the problem named', async () => {
    const added = await cli('webhooks', 'add', '--id', 'ops', '--url', `${url}/ok`, '--events', 'approval.requested,rollout.promoted', '--json');
    assert.equal(added.code, EXIT.ok, added.text);
    secret = (JSON.parse(added.text) as { secret: string }).secret;
    assert.match(secret, /^whsec_/);
    for (const argv of [
      ['--id', 'flaky', '--url', `${url}/flaky`, '--events', 'approval.requested', '--no-secret'],
      ['--id', 'chat', '--url', `${url}/slack`, '--events', '*', '--models', 'm1', '--format', 'slack', '--no-secret'],
      ['--id', 'elsewhere', '--url', `${url}/elsewhere`, '--models', 'another-model', '--no-secret'],
      ['--id', 'down', '--url', `${url}/down`, '--events', 'gate.failed', '--attempts', '2', '--no-secret'],
      ['--id', 'strict', '--url', `${url}/refuse`, '--events', 'gate.failed', '--no-secret'],
    ]) {
      const r = await cli('webhooks', 'add', ...argv);
      assert.equal(r.code, EXIT.ok, r.text);
    }
    assert.equal((await cli('webhooks', 'links', '--temporal-ui', 'http://temporal.example:8233', '--api', 'https://api.example')).code, EXIT.ok);

    const bad = await cli('webhooks', 'add', '--id', 'x', '--url', 'ftp://example.com/hook', '--events', 'approval.requestd');
    assert.equal(bad.code, EXIT.userError);
    assert.match(bad.text, /url: expected an http\(s\) URL/);
    assert.match(bad.text, /events\.0: expected \* or one of approval\.requested, approval\.decided/);
    const twice = await cli('webhooks', 'add', '--id', 'ops', '--url', `${url}/ok`);
    assert.match(twice.text, /a webhook "ops" exists already/);
    assert.match((await cli('webhooks', 'remove', '--id', 'nope')).text, /no webhook "nope"; the webhooks are: ops, flaky, chat, elsewhere, down, strict/);

    const listed = JSON.parse((await cli('webhooks', 'list', '--json')).text) as { id: string; signed: boolean; secret?: string }[];
    assert.deepEqual(listed.map((w) => [w.id, w.signed]), [['ops', true], ['flaky', false], ['chat', false], ['elsewhere', false], ['down', false], ['strict', false]]);
    assert.ok(listed.every((w) => w.secret === undefined), 'list never shows a secret');
  });

  test('a notification reaches every webhook that wants it, signed, retried through failures, in Slack shape where asked', async () => {
    const outcome = await raise({ event: 'approval.requested', model: 'm1', version: 3, summary: 'm1 v3 passed its gates', details: { runId: 'train-m1' } });
    assert.deepEqual(outcome.delivered.map((d) => d.webhookId).sort(), ['chat', 'flaky', 'ops']);
    assert.deepEqual(outcome.deadLettered, []);

    const [ops] = at('/ok');
    assert.ok(ops);
    const expected = `sha256=${createHmac('sha256', secret).update(ops.body).digest('hex')}`;
    assert.equal(ops.headers['x-sluice-signature'], expected, 'the body is signed with the secret');
    assert.equal(ops.headers['x-sluice-event'], 'approval.requested');
    assert.equal(ops.headers['x-sluice-delivery'], outcome.notificationId);
    const payload = JSON.parse(ops.body) as NotificationPayload;
    assert.equal(payload.schema, 'sluice.notification/v1');
    assert.deepEqual([payload.id, payload.event, payload.model, payload.version, payload.summary], [outcome.notificationId, 'approval.requested', 'm1', 3, 'm1 v3 passed its gates']);
    assert.equal(payload.links.temporalUi, `http://temporal.example:8233/namespaces/${config.temporal.namespace}/workflows/test-run`);
    assert.equal(payload.links.timeline, 'https://api.example/v1/models/m1/timeline');

    const flaky = at('/flaky');
    assert.equal(flaky.length, 3, 'failed twice, delivered on the third attempt');
    assert.ok(flaky.every((r) => r.headers['x-sluice-delivery'] === outcome.notificationId && r.body === flaky[0]?.body), 'every attempt sends the same delivery');
    assert.equal(outcome.delivered.find((d) => d.webhookId === 'flaky')?.attempt, 3);

    const slack = JSON.parse(at('/slack')[0]?.body ?? '{}') as { text?: string; blocks?: unknown[] };
    assert.equal(slack.text, '*approval.requested* · m1 v3: m1 v3 passed its gates');
    assert.ok(Array.isArray(slack.blocks) && slack.blocks.length === 2);
    assert.equal(at('/elsewhere').length, 0, 'a webhook for another model is not called');
  });

  test('a notification given up on is filed as a dead letter: out of attempts, or refused at once', async () => {
    const outcome = await raise({ event: 'gate.failed', model: 'm2', summary: 'm2: gates failed', details: {} });
    assert.deepEqual(outcome.delivered, []);
    const byId = Object.fromEntries(outcome.deadLettered.map((d) => [d.webhookId, d]));
    assert.match(byId.down?.error ?? '', /webhook down answered 503 on attempt 2: down for maintenance/);
    assert.match(byId.strict?.error ?? '', /webhook strict answered 400 on attempt 1: unknown payload/);
    assert.equal(at('/down').length, 2);
    assert.equal(at('/refuse').length, 1, 'a refusal is not retried');
    const letter = JSON.parse((await stack.store.get(config.buckets.reports, byId.down?.key ?? '')).toString()) as { notification: NotificationInput; error: string; webhookId: string };
    assert.equal(letter.webhookId, 'down');
    assert.equal(letter.notification.summary, 'm2: gates failed');
  });

  test('a workflow raises its own: a deployment promoting a first version notifies rollout.promoted', async () => {
    const model = `notified-${randomBytes(3).toString('hex')}`;
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    const { version } = await registerTrainedFlightsModel(registry, model, await trainFlightsModel({ rows: 1000 }));
    await registry.transition(model, version, 'approved', { by: 'test' });
    const before = at('/ok').length;
    await stack.client.workflow.start<typeof modelDeployment>('modelDeployment', {
      taskQueue: config.taskQueues.pipeline,
      workflowId: deploymentWorkflowId(model),
      args: [{ model, start: { version, by: 'dana' } }],
    });
    const deadline = Date.now() + 60_000;
    while (at('/ok').length === before && Date.now() < deadline) await sleep(200);
    const payload = JSON.parse(at('/ok')[before]?.body ?? 'null') as NotificationPayload | null;
    assert.ok(payload, 'no notification arrived within 60 s');
    assert.deepEqual([payload.event, payload.model, payload.version], ['rollout.promoted', model, version]);
    assert.match(payload.summary, new RegExp(`${model} v${version} promoted by dana`));
    assert.equal(payload.links.workflow.workflowId, deploymentWorkflowId(model));
    await stack.client.workflow.getHandle(deploymentWorkflowId(model)).terminate('test over');
  });
});
