import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultPayloadConverter } from '@temporalio/common';
import { type Page, chromium } from 'playwright-core';
import { startTrainingPipeline } from '../../../control/start-training-pipeline.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { evaluationReportSchema, scoredChampionSchema } from '../../../shared/evaluation-report.ts';
import type { PipelineOutcome } from '../../../shared/pipeline.ts';
import { approveUpdate } from '../../../workflows/approval-gate.ts';
import { pipelineStatusQuery } from '../../../workflows/training-pipeline.ts';
import { createPipelineWorker } from '../../../workers/pipeline-worker.ts';
import { KEYS, startTestApi } from '../../unit/api/support/test-api.ts';
import { pathPoints, trapezoidArea } from '../../support/curve-area.ts';
import { flightsSampleSuite } from '../pipeline/fixtures/flights-sample-suite.ts';

const MODEL = 'flights-console-test';

/**
 * The console in a real headless Chromium against the real API, Temporal and MinIO: a version trained
 * and promoted to champion, a second one trained and stopped at approval; sign in with an admin key,
 * open every page of the model, check the drawn ROC curve encloses the stored AUC, approve from the
 * page, and find the Update in the run's history under the signed-in key's holder. Screenshots go to
 * $CONSOLE_SCREENSHOT_DIR (or a temp dir; not SLUICE_*, which the config refuses as an unknown setting) and their paths are printed, with each page's server time.
 */
describe('the console in Chromium', () => {
  const suite = flightsSampleSuite('console');

  const spec = (seed: number): Record<string, unknown> => {
    const base = loadSpecFile(new URL('../../../examples/flights/pipeline.json', import.meta.url).pathname) as Record<string, unknown>;
    return {
      ...base,
      model: { name: MODEL },
      dataset: { name: 'flights-sample', source: suite.sample },
      trainer: { kind: 'gbdt', nTrees: 20, maxLeaves: 15, minSamplesLeaf: 50 },
      seed,
      // Latency gates judge the machine as much as the model; on a busy test machine they would flake.
      gates: { absolute: [{ metric: 'rocAuc', min: 0.6 }], vsChampion: [{ metric: 'rocAuc', maxRegression: 0.05 }], slices: [{ metric: 'rocAuc', min: 0.55, minRows: 1000 }] },
    };
  };

  test('sign in, every page of the model drawn from stored figures, approve from the page', async () => {
    const shots = process.env.CONSOLE_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'sluice-console-shots-'));
    mkdirSync(shots, { recursive: true });
    const deps = { client: suite.stack.client, config: suite.config, store: suite.stack.store };
    const registry = new ModelRegistry(suite.stack.store, suite.config.buckets.models);
    const worker = await createPipelineWorker({ config: suite.config, connection: suite.stack.nativeConnection, store: suite.stack.store });
    await using api = await startTestApi({ store: suite.stack.store, config: { ...suite.config, api: { ...suite.config.api, host: '127.0.0.1', port: 0 } } });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      await worker.runUntil(async () => {
        const awaitApproval = async (seed: number) => {
          const started = await startTrainingPipeline(deps, { spec: spec(seed), requestedBy: 'dana', codeVersion: 'console-test' });
          for (;;) {
            const status = await started.handle.query(pipelineStatusQuery).catch(() => undefined);
            if (status?.stage === 'awaiting-approval') return started.handle;
            assert.ok(!status || !['validation-failed', 'gate-failed'].includes(status.stage), `run ended early at ${status?.stage}: ${JSON.stringify(status?.evaluation?.gate.failed)}`);
            await sleep(250);
          }
        };
        // The champion the second version is compared with: approved and promoted (as a finished rollout leaves it).
        const first = await awaitApproval(1);
        await first.executeUpdate(approveUpdate, { args: [{ by: 'ana', comment: 'first version' }] });
        const firstOutcome = (await first.result()) as PipelineOutcome;
        assert.equal(firstOutcome.status, 'approved');
        if (firstOutcome.status === 'approved') await registry.promote(MODEL, firstOutcome.version, { by: 'test', reason: 'stands in for a finished rollout' });
        const second = await awaitApproval(2);

        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const timings: string[] = [];
        const open = async (path: string, shot: string) => {
          const response = await page.goto(`${api.url}${path}`);
          assert.equal(response?.status(), 200, `${path}: ${await response?.text()}`);
          timings.push(`${path}: ${(await response?.headerValue('server-timing')) ?? 'no Server-Timing'}`);
          const file = join(shots, `${shot}.png`);
          await page.screenshot({ path: file, fullPage: true });
          console.log(`screenshot: ${file}`);
        };

        // Signing in: the form posts the key; the browser is sent on to where it was going.
        await page.goto(`${api.url}/console/models`);
        assert.match(page.url(), /\/console\/sign-in\?next=/);
        await page.fill('input[name=key]', KEYS.admin);
        await Promise.all([page.waitForURL(/\/console\/models$/), page.click('button[type=submit]')]);
        const cookie = (await page.context().cookies()).find((c) => c.name === 'sluice_console');
        assert.ok(cookie?.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookie));

        await open('/console/models', 'console-models');
        assert.match((await page.textContent(`tr[data-model="${MODEL}"]`)) ?? '', /v1.*v2 candidate/s);
        await open(`/console/models/${MODEL}`, 'console-model');
        assert.equal(await page.locator('table[data-comparison="1-2"]').count(), 1, 'champion v1 compared with v2');
        await open(`/console/models/${MODEL}/versions/2/evaluation`, 'console-evaluation');
        await checkRocArea(page, suite, 2);
        await open(`/console/models/${MODEL}/monitoring`, 'console-monitoring');
        await open('/console/approvals', 'console-approvals');

        // Approving from the page: the same Update as the CLI, as the signed-in key's holder.
        const row = page.locator(`tr[data-pending="${MODEL}-v2"]`);
        await row.locator('input[name=comment]').fill('curves look right');
        await Promise.all([page.waitForURL(/decided=approve/), row.locator('button[data-action=approve]').click()]);
        assert.match((await page.textContent('[data-flash]')) ?? '', /Approval of .* recorded; its approval gate is now approved/);
        await page.screenshot({ path: join(shots, 'console-approved.png'), fullPage: true });
        console.log(`screenshot: ${join(shots, 'console-approved.png')}`);

        const outcome = (await second.result()) as PipelineOutcome;
        assert.equal(outcome.status, 'approved');
        const history = await second.fetchHistory();
        const accepted = (history.events ?? []).flatMap((e) => {
          const request = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
          return request?.input?.name === 'approve' ? [defaultPayloadConverter.fromPayload<{ by: string; comment: string }>(request.input.args?.payloads?.[0] ?? {})] : [];
        });
        assert.deepEqual(accepted, [{ by: 'ana-admin', comment: 'curves look right' }]);
        // The approved version goes out as a canary (as a script or the CLI would start it): the rollouts page shows its step and the split.
        const rollout = await api.request('POST', `/v1/deployments/${MODEL}/rollout`, { key: KEYS.admin, body: { version: 2, plan: { steps: [{ percent: 10, bake: '1 hour' }, { percent: 100 }] }, reason: 'approved in the console' } });
        assert.equal(rollout.status, 200, rollout.text);
        await open(`/console/models/${MODEL}/rollouts`, 'console-rollouts');
        assert.match((await page.textContent('table[data-split]')) ?? '', /v1\s*primary\s*90%\s*v2\s*canary\s*10%/);
        assert.match((await page.textContent('main')) ?? '', /v2 against champion v1.*canary 10%/s);
        await suite.stack.client.workflow.getHandle(`deploy-${MODEL}`).terminate('test done');
        console.log(`page server times (load + render):\n  ${timings.join('\n  ')}`);
      });
    } finally {
      await browser.close();
    }
  });
});

/** The ROC curve drawn on the evaluation page, mapped back from its SVG path, encloses the AUC of the stored report within 0.01; the champion's curve is overlaid. */
async function checkRocArea(page: Page, suite: ReturnType<typeof flightsSampleSuite>, version: number): Promise<void> {
  const svg = page.locator('svg[data-chart=roc]');
  const drawn = {
    plot: (await svg.getAttribute('data-plot')) ?? '',
    x: (await svg.getAttribute('data-x')) ?? '',
    y: (await svg.getAttribute('data-y')) ?? '',
    candidate: (await svg.locator('path[data-series="this version"]').getAttribute('d')) ?? '',
    champion: (await svg.locator('path[data-series^="champion"]').getAttribute('d')) ?? '',
  };
  const manifest = await new ModelRegistry(suite.stack.store, suite.config.buckets.models).manifest(MODEL, version);
  const report = evaluationReportSchema.parse(JSON.parse((await suite.stack.store.get(suite.config.buckets.reports, manifest.reports.evaluation ?? '')).toString()));
  const auc = report.overall.rocAuc as number;
  const area = trapezoidArea(pathPoints(drawn.candidate, drawn));
  console.log(`ROC area drawn ${area.toFixed(4)} vs report AUC ${auc.toFixed(4)}`);
  assert.ok(Math.abs(area - auc) < 0.01, `drawn area ${area} vs AUC ${auc}`);
  assert.ok(drawn.champion.length > 0, "the champion's curve from the same run is overlaid");
  const championAuc = scoredChampionSchema.parse(report.champion).overall.rocAuc as number;
  assert.ok(Math.abs(trapezoidArea(pathPoints(drawn.champion, drawn)) - championAuc) < 0.01);
}
