import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { binaryCurves } from '../../../domain/evaluation/curves.ts';
import { classificationMetrics } from '../../../domain/evaluation/metrics.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { Prng } from '../../../domain/training/prng.ts';
import { evaluationKeys } from '../../../shared/storage-keys.ts';
import { trainingPipelineId } from '../../../shared/pipeline-identity.ts';
import { pathPoints, trapezoidArea } from '../../support/curve-area.ts';
import { MemoryStore } from './support/memory-store.ts';
import { KEYS, type TestApi, startTestApi, testConfig } from './support/test-api.ts';

/**
 * The console over HTTP without Temporal: signing in for a cookie, what each scope may read and do,
 * CSRF and origin checks on actions, and the evaluation page drawn from the report's stored points.
 * The browser test (test/integration/console/) drives the same pages in Chromium on the real stack.
 */
describe('the console', () => {
  const store = new MemoryStore();
  // Nothing listens on this port: views that need Temporal name it in their gaps quickly.
  const config = testConfig({ SLUICE_TEMPORAL_ADDRESS: '127.0.0.1:1', SLUICE_API_REQUEST_TIMEOUT_MS: '2000' });
  let api: TestApi;
  let auc = 0;

  before(async () => {
    const prng = new Prng(3);
    const labels = Uint8Array.from({ length: 5000 }, () => (prng.next() < 0.3 ? 1 : 0));
    const scores = Float32Array.from(labels, (l) => Math.min(1, Math.max(0, 0.35 + 0.2 * l + (prng.next() - 0.5) * 0.6)));
    const overall = classificationMetrics(labels, scores, 0.5);
    auc = overall.rocAuc;
    const runId = 'console-unit-run';
    await store.put(config.buckets.reports, evaluationKeys.report(runId), JSON.stringify({ runId, modelName: 'delays', datasetVersion: 'd'.repeat(64), featureDefinitionHash: 'f'.repeat(64), testRows: 5000, threshold: 0.5, overall, slices: [], champion: { skipped: 'no version is champion yet' }, curves: binaryCurves(labels, scores) }));
    await new ModelRegistry(store, config.buckets.models).register({
      manifest: {
        name: 'delays',
        datasetVersion: 'd'.repeat(64),
        featureDefinitionHash: 'f'.repeat(64),
        codeVersion: 'test',
        trainer: { kind: 'gbdt', hyperparameters: {} },
        seed: 1,
        metrics: { rocAuc: overall.rocAuc },
        threshold: 0.5,
        featureNames: { numeric: ['x'], categorical: [] },
        reports: { evaluation: evaluationKeys.report(runId) },
        origin: { workflowId: runId },
      },
      onnx: new Uint8Array([1, 2, 3]),
      registrationKey: runId,
      by: 'dana',
    });
    api = await startTestApi({ store, config });
  });
  after(() => api.shutdown());

  const signIn = async (key: string) => {
    const res = await api.request<{ keyId: string; csrfToken: string }>('POST', '/console/session', { body: { key } });
    const cookie = res.headers.get('set-cookie') ?? '';
    return { res, cookie: cookie.split(';')[0] ?? '', setCookie: cookie, csrf: res.json.csrfToken };
  };
  const get = (path: string, cookie: string) => fetch(`${api.url}${path}`, { headers: { cookie }, redirect: 'manual' });
  const post = (path: string, cookie: string, form: Record<string, string>, origin = api.url) =>
    fetch(`${api.url}${path}`, { method: 'POST', headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(), redirect: 'manual' });

  test('a key with predict or admin opens a short-lived HttpOnly, SameSite=Strict session; other keys do not', async () => {
    const { res, setCookie } = await signIn(KEYS.predict);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.keyId, 'app-predict');
    assert.match(setCookie, /^sluice_console=[\w-]+\.[\w-]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=3600$/);
    assert.ok(!setCookie.includes(KEYS.predict), 'the cookie does not hold the key');
    assert.equal((await signIn(KEYS.feedback)).res.status, 403);
    assert.equal((await signIn('not-a-key')).res.status, 401);
  });

  test('pages without a session redirect to sign in; a forged or altered cookie reads nothing', async () => {
    const page = await get('/console/models', '');
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/console/sign-in?next=%2Fconsole%2Fmodels');
    assert.equal((await get('/v1/console/models', '')).status, 401);
    const { cookie } = await signIn(KEYS.predict);
    const tampered = cookie.replace(/\.(.)/, (_, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    assert.equal((await get('/v1/console/models', tampered)).status, 401);
    const ok = await get('/v1/console/models', cookie);
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('server-timing') ?? '', /^render;dur=\d/);
    const view = (await ok.json()) as { models: { name: string; pendingApprovals: number }[] };
    assert.deepEqual(view.models.map((m) => [m.name, m.pendingApprovals]), [['delays', 1]]);
  });

  test('scripts read the same views with an API key header', async () => {
    const res = await api.request<{ versions: { version: number; lineage: { temporalUi: string } }[] }>('GET', '/v1/console/models/delays', { key: KEYS.admin });
    assert.equal(res.status, 200, res.text);
    assert.match(res.json.versions[0]?.lineage.temporalUi ?? '', /^http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/console-unit-run$/);
    assert.equal((await api.request('GET', '/v1/console/models/nope', { key: KEYS.admin })).status, 404);
  });

  test("the evaluation page's ROC path encloses the report's AUC", async () => {
    const { cookie } = await signIn(KEYS.predict);
    const html = await (await get('/console/models/delays/versions/1/evaluation', cookie)).text();
    const svg = /<svg[^>]*data-chart="roc"[^>]*data-plot="([^"]+)" data-x="([^"]+)" data-y="([^"]+)"[^>]*>([\s\S]*?)<\/svg>/.exec(html);
    assert.ok(svg, 'the page draws a ROC chart');
    const d = /data-series="this version" d="([^"]+)"/.exec(svg[4] ?? '')?.[1] ?? '';
    const area = trapezoidArea(pathPoints(d, { plot: svg[1] ?? '', x: svg[2] ?? '', y: svg[3] ?? '' }));
    assert.ok(Math.abs(area - auc) < 0.01, `drawn area ${area} vs AUC ${auc}`);
    assert.ok(html.includes('data-chart="pr"') && html.includes('data-chart="reliability"') && html.includes('data-chart="score-histogram"'));
  });

  test('approve and reject need an admin session, its CSRF token and this origin', async () => {
    const reader = await signIn(KEYS.predict);
    const refused = await post('/console/approvals/some-run', reader.cookie, { csrf: reader.csrf, decision: 'approve' });
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /lacks the "admin" scope/);
    const admin = await signIn(KEYS.admin);
    assert.equal((await post('/console/approvals/some-run', admin.cookie, { csrf: 'forged', decision: 'approve' })).status, 403);
    assert.equal((await post('/console/approvals/some-run', admin.cookie, { csrf: reader.csrf, decision: 'approve' })).status, 403, "another session's token");
    assert.equal((await post('/console/approvals/some-run', admin.cookie, { csrf: admin.csrf, decision: 'approve' }, 'http://evil.example')).status, 403);
    // All checks passed: the decision goes to Temporal, which is not there.
    assert.equal((await post('/console/approvals/some-run', admin.cookie, { csrf: admin.csrf, decision: 'approve' })).status, 503);
  });

  test('a key scoped to flights-* models: lists leave other models out, their pages are 403 naming the scope, and it decides its models\' runs only', async () => {
    const listed = await api.request<{ models: unknown[] }>('GET', '/v1/console/models', { key: KEYS.flights });
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.json.models, []);
    const { cookie, csrf } = await signIn(KEYS.flights);
    const pending = (await (await get('/v1/console/approvals', cookie)).json()) as { pending: unknown[] };
    assert.deepEqual(pending.pending, []);
    const page = await get('/console/models/delays', cookie);
    assert.equal(page.status, 403);
    const { error } = (await page.json()) as { error: { message: string; field: string } };
    assert.equal(error.message, 'API key "app-flights" lacks the "predict:delays" or "admin:delays" scope (it has: predict:flights-*, feedback:flights-*, admin:flights-*)');
    assert.equal(error.field, 'cookie');
    const run = (model: string) => trainingPipelineId(model, 'd'.repeat(64), 'e'.repeat(64));
    const other = await post(`/console/approvals/${run('delays')}`, cookie, { csrf, decision: 'approve' });
    assert.equal(other.status, 403);
    assert.match(((await other.json()) as { error: { message: string } }).error.message, /lacks the "admin:delays" scope/);
    // Its own model's run passes the check and goes to Temporal, which is not there.
    assert.equal((await post(`/console/approvals/${run('flights-delay')}`, cookie, { csrf, decision: 'approve' })).status, 503);
  });

  test('the approvals view names the run that did not answer; signing out clears the cookie', async () => {
    const { cookie, csrf } = await signIn(KEYS.predict);
    const view = (await (await get('/v1/console/approvals', cookie)).json()) as { pending: { pipeline: string; approval: unknown }[]; gaps: string[] };
    assert.deepEqual(view.pending.map((p) => [p.pipeline, p.approval]), [['console-unit-run', null]]);
    assert.match(view.gaps[0] ?? '', /delays v1: the run console-unit-run did not answer/);
    const out = await post('/console/session/end', cookie, { csrf });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie') ?? '', /^sluice_console=; HttpOnly; SameSite=Strict; Path=\/; Max-Age=0$/);
  });
});

describe('console sessions across API processes', () => {
  test('with SLUICE_CONSOLE_SESSION_SECRET a session opened on one API is honoured by another; without it, not', async () => {
    const store = new MemoryStore();
    const shared = { SLUICE_TEMPORAL_ADDRESS: '127.0.0.1:1', SLUICE_CONSOLE_SESSION_SECRET: 'a-secret-the-replicas-share-0123456789' };
    await using first = await startTestApi({ store, config: testConfig(shared) });
    await using second = await startTestApi({ store, config: testConfig(shared) });
    await using stranger = await startTestApi({ store, config: testConfig({ SLUICE_TEMPORAL_ADDRESS: '127.0.0.1:1' }) });
    const opened = await first.request('POST', '/console/session', { body: { key: KEYS.predict } });
    assert.equal(opened.status, 200, opened.text);
    const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const read = (api: TestApi) => fetch(`${api.url}/v1/console/models`, { headers: { cookie } }).then((res) => res.status);
    assert.equal(await read(second), 200, 'the replica with the same secret reads the session');
    assert.equal(await read(stranger), 401, 'a process with its own random secret does not');
  });

  test('a secret shorter than 32 characters is refused at start-up', () => {
    assert.throws(() => testConfig({ SLUICE_CONSOLE_SESSION_SECRET: 'short' }), /SLUICE_CONSOLE_SESSION_SECRET="short": expected at least 32 characters/);
  });
});
