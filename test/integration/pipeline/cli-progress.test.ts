import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { createPipelineWorker } from '../../../workers/pipeline-worker.ts';
import { flightsSampleSuite } from './fixtures/flights-sample-suite.ts';

const SLUICE_BIN = new URL('../../../bin/sluice.js', import.meta.url).pathname;

/** Runs a command under a pseudo-terminal (util-linux `script`), so it sees a TTY as in a user's shell. */
function underTerminal(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...env, COLUMNS: '160' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * `sluice pipeline start` on a terminal redraws one progress line for training from the activity's
 * heartbeats: the real CLI process under a pseudo-terminal, the real pipeline worker and servers.
 */
describe('sluice pipeline start on a terminal', () => {
  const suite = flightsSampleSuite('progress');

  test('training shows a live bar with iteration of total and both losses, redrawn in place, then the outcome', async () => {
    const spec = loadSpecFile(new URL('../../../examples/flights/pipeline.json', import.meta.url).pathname) as Record<string, unknown>;
    const model = 'progress-test';
    const dir = mkdtempSync(join(tmpdir(), 'sluice-progress-'));
    const specPath = join(dir, 'pipeline.json');
    writeFileSync(
      specPath,
      JSON.stringify({
        ...spec,
        model: { name: model },
        dataset: { name: 'flights-progress', source: suite.sample },
        // Enough small trees for several heartbeats; no early stop, so the run goes to its total.
        trainer: { kind: 'gbdt', nTrees: 200, maxLeaves: 15, minSamplesLeaf: 50, learningRate: 0.05, earlyStoppingRounds: 0 },
        gates: { absolute: [{ metric: 'rocAuc', min: 0.55 }] },
      }),
    );
    const { config } = suite;
    const env = {
      ...process.env,
      SLUICE_TASK_QUEUE_PIPELINE: config.taskQueues.pipeline,
      SLUICE_BUCKET_DATASETS: config.buckets.datasets,
      SLUICE_BUCKET_FEATURES: config.buckets.features,
      SLUICE_BUCKET_MODELS: config.buckets.models,
      SLUICE_BUCKET_REPORTS: config.buckets.reports,
      SLUICE_BUCKET_SERVING: config.buckets.serving,
      SLUICE_BUCKET_PREDICTIONS: config.buckets.predictions,
    };
    const worker = await createPipelineWorker({ config, connection: suite.stack.nativeConnection, store: suite.stack.store });
    const { code, output } = await worker.runUntil(underTerminal(`node ${SLUICE_BIN} pipeline start ${specPath} --auto-approve --requested-by dana`, env));
    assert.equal(code, 0, output);
    // The first draw follows the stage line; each redraw clears the line it replaces.
    const bars = [...output.matchAll(/(?:\r\n|\r\x1b\[K)training \[[#-]{24}\] (\d+)\/200 · train loss \d\.\d{4} · validation \d\.\d{4}/g)].map((m) => Number(m[1]));
    assert.ok(bars.length >= 1, `no progress line in:\n${JSON.stringify(output)}`);
    assert.ok(bars.every((n, i) => n >= 1 && n <= 200 && (i === 0 || n >= (bars[i - 1] as number))), `iterations out of order: ${bars.join(', ')}`);
    // The live line is cleared before the next stage's line, so no stage line is glued to a bar.
    assert.match(output, /\r\x1b\[K✔ training +\d+\.\d s/);
    assert.match(output, new RegExp(`approved: ${model} v1`));

    const runId = /started (train-progress-test-\S+)/.exec(output)?.[1] ?? '';
    const status = await underTerminal(`node ${SLUICE_BIN} pipeline status ${runId} --json`, env);
    const report = JSON.parse(status.output) as { status: string; outcome?: { status: string; version: number } };
    assert.equal(report.status, 'COMPLETED');
    assert.deepEqual({ status: report.outcome?.status, version: report.outcome?.version }, { status: 'approved', version: 1 });
    const listed = JSON.parse((await underTerminal(`node ${SLUICE_BIN} pipeline list --json`, env)).output) as { workflowId: string; modelVersion: number | null }[];
    assert.equal(listed.find((r) => r.workflowId === runId)?.modelVersion, 1);
  });
});
