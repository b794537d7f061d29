import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createDeploymentActivities } from '../../../activities/deployment/deployment-activities.ts';
import { createMonitoringActivities } from '../../../activities/monitoring/monitoring-activities.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { EXIT, runCli } from '../../../cli/main.ts';
import { type Config, loadConfig } from '../../../shared/config.ts';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import { registerFlightsModel } from '../../unit/api/support/flights-model.ts';
import { bucketSettings, isolatedBuckets } from '../data/fixtures.ts';
import { type TemporalHandles, connectToStack, stackConfig, testIds } from '../../support/stack.ts';

/**
 * `sluice models timeline` over what the real parts record: versions and decisions in the registry,
 * a canary rollout answered by the running deployment workflow's state query, and the drift
 * monitor's state in the reports bucket; with no worker to answer the query, the rollouts are named
 * as not shown instead of failing the page.
 */
describe('sluice models timeline', () => {
  const model = `timeline-${randomBytes(3).toString('hex')}`;
  let stack: TemporalHandles;
  let config: Config;
  let env: NodeJS.ProcessEnv;
  let dir: string;

  before(async () => {
    stack = await connectToStack(stackConfig());
    const buckets = await isolatedBuckets(stack.store, 'timeline');
    env = {
      ...process.env,
      SLUICE_TASK_QUEUE_PIPELINE: testIds('timeline-cli').taskQueue,
      ...bucketSettings(buckets),
    };
    config = loadConfig(env);
    dir = mkdtempSync(join(tmpdir(), 'sluice-timeline-'));
  });
  after(async () => {
    await stack.client.workflow.getHandle(`deploy-${model}`).terminate('test done').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    await stack[Symbol.asyncDispose]();
  });

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, { write: (l) => out.push(l), error: (l) => out.push(l), env });
    return { code, text: out.join('\n') };
  };

  test('versions, decisions, a live rollout and drift windows in order; rollouts named as not shown when no worker answers', async () => {
    const registry = new ModelRegistry(stack.store, config.buckets.models);
    const v1 = await registerFlightsModel(registry, model, { seed: 1 });
    await registry.transition(model, v1.version, 'approved', { by: 'ana', reason: 'first model' });
    await registry.promote(model, v1.version, { by: 'ana', reason: 'first release' });
    const v2 = await registerFlightsModel(registry, model, { seed: 2 });
    await registry.transition(model, v2.version, 'approved', { by: 'bo', reason: 'better on June' });
    await createMonitoringActivities({ store: stack.store, buckets: config.buckets }).writeMonitorState({
      model,
      windows: [{ until: new Date().toISOString(), version: 1, verdict: 'alert', rocAuc: 0.61 }],
      scoreBaseline: null,
      lastRetrain: null,
    });

    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
    const worker = await Worker.create({
      connection: stack.nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue: config.taskQueues.pipeline,
      workflowBundle,
      activities: createDeploymentActivities({ store: stack.store, buckets: config.buckets }),
    });
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({ steps: [{ percent: 10, bake: '1 hour' }, { percent: 100 }] }));
    const page = join(dir, 'timeline.html');
    const live = await worker.runUntil(async () => {
      const started = await cli('deploy', 'start', model, String(v2.version), '--by', 'ana', '--plan', plan, '--reason', 'June refresh');
      assert.equal(started.code, EXIT.ok, started.text);
      return cli('models', 'timeline', model, '--html', page);
    });
    assert.equal(live.code, EXIT.ok, live.text);
    const lines = live.text.split('\n');
    const order = ['v1 registered', 'v1 approved (by ana): first model', 'v1 production', 'champion → v1', 'v2 registered', 'v2 approved (by bo): better on June', 'drift alert (v1)', 'rollout of v2 started (by ana): against champion v1: June refresh', 'v2 canary (by ana)', 'challenger → v2', 'v2 canary 10%'];
    const at = order.map((text) => lines.findIndex((l) => l.includes(text)));
    assert.ok(at.every((i) => i >= 0), `missing: ${order.filter((_, i) => (at[i] ?? -1) < 0).join(', ')}\n${live.text}`);
    assert.deepEqual([...at].sort((a, b) => a - b), at, live.text);
    assert.doesNotMatch(live.text, /not shown/);
    const html = readFileSync(page, 'utf8');
    assert.match(html, /rollout of v2 started/);
    assert.match(html, /<span class="badge">champion<\/span>/);

    // The worker is gone: the state query cannot be answered, and the page says so.
    const stale = await cli('models', 'timeline', model);
    assert.equal(stale.code, EXIT.ok, stale.text);
    assert.match(stale.text, new RegExp(`not shown: rollouts: the deployment workflow deploy-${model} did not answer its state query`));
    assert.match(stale.text, /v2 approved \(by bo\)/);
  });
});
