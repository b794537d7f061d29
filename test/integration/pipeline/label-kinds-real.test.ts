import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as ort from 'onnxruntime-node';
import { startTrainingPipeline } from '../../../control/start-training-pipeline.ts';
import { PipelineSpecError } from '../../../domain/retraining/start-retraining.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { readOnnxMetadata } from '../../../formats/onnx/read-metadata.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { evaluationReportSchema } from '../../../shared/evaluation-report.ts';
import type { PipelineOutcome } from '../../../shared/pipeline.ts';
import { approveUpdate } from '../../../workflows/approval-gate.ts';
import { pipelineStatusQuery } from '../../../workflows/training-pipeline.ts';
import { createPipelineWorker } from '../../../workers/pipeline-worker.ts';

import { flightsSampleSuite } from './fixtures/flights-sample-suite.ts';
/**
 * The regression and multiclass reference examples through the shipped pipeline on the real servers,
 * on the same seeded 4% flights sample as the binary test, with few small trees so training takes
 * seconds: ingest, validation, features, training, ONNX evaluation, gates, registration, approval.
 */
describe('trainingPipeline with regression and multiclass labels on a flights sample', () => {
  const suite = flightsSampleSuite('kinds');

  /** An example's spec on the sample: its own model name, few trees, and no latency gate (it judges the busy test machine, not the model). */
  function exampleSpec(example: string, model: string, gates: Record<string, unknown>): Record<string, unknown> {
    const spec = loadSpecFile(new URL(`../../../examples/${example}/pipeline.json`, import.meta.url).pathname) as Record<string, unknown>;
    const trainer = { ...(spec.trainer as Record<string, unknown>), nTrees: 15, maxLeaves: 15, minSamplesLeaf: 50 };
    return { ...spec, model: { name: model }, dataset: { name: 'flights-sample', source: suite.sample }, trainer, gates };
  }

  async function runToApproval(spec: Record<string, unknown>): Promise<{ outcome: PipelineOutcome }> {
    const worker = await createPipelineWorker({ config: suite.config, connection: suite.stack.nativeConnection, store: suite.stack.store });
    return worker.runUntil(async () => {
      const started = await startTrainingPipeline({ client: suite.stack.client, config: suite.config, store: suite.stack.store }, { spec, requestedBy: 'dana', codeVersion: 'test' });
      for (;;) {
        const status = await started.handle.query(pipelineStatusQuery).catch(() => undefined);
        if (status?.stage === 'awaiting-approval') break;
        assert.ok(!status || !['validation-failed', 'gate-failed'].includes(status.stage), `run ended early at ${status?.stage}: ${JSON.stringify(status?.evaluation?.gate.failed)}`);
        await sleep(250);
      }
      const { stages } = await started.handle.query(pipelineStatusQuery);
      const at = (stage: string) => Date.parse(stages.find((s) => s.stage === stage)?.startedAt ?? '');
      console.log(`${(spec.model as { name: string }).name}: training stage ${((at('evaluating') - at('training')) / 1000).toFixed(1)} s`);
      await started.handle.executeUpdate(approveUpdate, { args: [{ by: 'ana', comment: 'ok' }] });
      return { outcome: (await started.handle.result()) as PipelineOutcome };
    });
  }

  async function outputs(onnx: Uint8Array): Promise<string[]> {
    const session = await ort.InferenceSession.create(onnx);
    try {
      return [...session.outputNames];
    } finally {
      await session.release();
    }
  }

  test('regression: delay minutes are trained, evaluated in minutes, gated, registered and approved', async () => {
    const spec = exampleSpec('flights-delay-minutes', 'kinds-minutes-test', { absolute: [{ metric: 'r2', min: 0.01 }, { metric: 'mae', max: 30 }], slices: [{ metric: 'rmse', max: 100, minRows: 1000 }] });
    const { outcome } = await runToApproval(spec);
    assert.ok(outcome.status === 'approved', JSON.stringify(outcome));

    const registry = new ModelRegistry(suite.stack.store, suite.config.buckets.models);
    const { manifest } = await registry.view('kinds-minutes-test', outcome.version);
    const m = manifest.metrics;
    console.log('regression test metrics:', JSON.stringify(m));
    assert.ok((m.r2 ?? 0) > 0.01 && (m.r2 ?? 1) < 1, `r2 ${m.r2}`);
    // Delays spread over tens of minutes: an error of a minute or of hours would be a unit bug (log1p or clip not undone).
    assert.ok((m.mae ?? 0) > 5 && (m.mae ?? 99) < 30, `mae ${m.mae}`);
    assert.ok((m.rmse ?? 0) >= (m.mae ?? Infinity), `rmse ${m.rmse} below mae ${m.mae}`);
    assert.ok((m.maeOverMean ?? 0) > 0);
    assert.equal(m.rocAuc, undefined, 'a regression model has no AUC');

    const onnx = await registry.onnx('kinds-minutes-test', outcome.version);
    const metadata = readOnnxMetadata(onnx);
    assert.equal(metadata['sluice.label_kind'], 'regression');
    assert.deepEqual(JSON.parse(metadata['sluice.label_transform'] ?? 'null'), { clip: { min: -30, max: 180 } });
    assert.deepEqual(await outputs(onnx), ['value']);

    const evaluation = JSON.parse((await suite.stack.store.get(suite.config.buckets.reports, manifest.reports.evaluation ?? '')).toString()) as {
      labelKind: string;
      overall: { residualQuantiles: unknown[]; calibrationByDecile: { meanPrediction: number }[] };
      slices: { slice: string }[];
    };
    assert.equal(evaluation.labelKind, 'regression');
    assert.ok(evaluation.overall.residualQuantiles.length > 0);
    assert.equal(evaluation.overall.calibrationByDecile.length, 10);
    // Clipped to [-30, 180] in training, so no decile's mean prediction can leave that range.
    assert.ok(evaluation.overall.calibrationByDecile.every((d) => d.meanPrediction >= -30 && d.meanPrediction <= 180));
    assert.ok(evaluation.slices.length > 0 && evaluation.slices.every((s) => s.slice === 'origin-size'));
    // The console's predicted-vs-actual and residual plots read a bounded sample stored with the report.
    const curves = evaluationReportSchema.parse(evaluation).curves;
    assert.equal(curves?.kind, 'regression');
    assert.ok(curves?.kind === 'regression' && curves.sample.length === Math.min(400, curves.rows) && curves.sample.every((p) => p.predicted >= -30 && p.predicted <= 180));
  });

  test('multiclass: four delay classes are trained, evaluated, gated, registered and approved', async () => {
    const spec = exampleSpec('flights-delay-class', 'kinds-class-test', { absolute: [{ metric: 'macroAuc', min: 0.55 }, { metric: 'logLoss', max: 1.3 }], slices: [{ metric: 'accuracy', min: 0.3, minRows: 1000 }] });
    const { outcome } = await runToApproval(spec);
    assert.ok(outcome.status === 'approved', JSON.stringify(outcome));

    const registry = new ModelRegistry(suite.stack.store, suite.config.buckets.models);
    const { manifest } = await registry.view('kinds-class-test', outcome.version);
    const m = manifest.metrics;
    console.log('multiclass test metrics:', JSON.stringify(m));
    assert.ok((m.macroAuc ?? 0) > 0.55, `macroAuc ${m.macroAuc}`);
    // Below log 4, the loss of guessing uniformly over the four classes.
    assert.ok((m.logLoss ?? Infinity) < Math.log(4), `logLoss ${m.logLoss}`);
    assert.ok((m.accuracy ?? 0) > 0.25 && (m.macroF1 ?? 0) > 0);
    assert.equal(m.rocAuc, undefined, 'a multiclass model has no binary AUC');

    const onnx = await registry.onnx('kinds-class-test', outcome.version);
    const metadata = readOnnxMetadata(onnx);
    assert.equal(metadata['sluice.label_kind'], 'multiclass');
    assert.deepEqual(JSON.parse(metadata['sluice.classes'] ?? '[]'), ['early', 'on-time', 'late-15-60', 'late-over-60']);
    assert.ok((await outputs(onnx)).includes('probabilities'));

    const evaluation = JSON.parse((await suite.stack.store.get(suite.config.buckets.reports, manifest.reports.evaluation ?? '')).toString()) as {
      labelKind: string;
      testRows: number;
      overall: { perClass: { class: string }[]; confusion: number[][] };
    };
    assert.equal(evaluation.labelKind, 'multiclass');
    assert.deepEqual(evaluation.overall.perClass.map((c) => c.class), ['early', 'on-time', 'late-15-60', 'late-over-60']);
    assert.equal(evaluation.overall.confusion.flat().reduce((a, b) => a + b, 0), evaluation.testRows);
  });

  test('multiclass with multinomial logistic regression goes through the same pipeline to approval', async () => {
    const spec = { ...exampleSpec('flights-delay-class', 'kinds-class-lr-test', { absolute: [{ metric: 'macroAuc', min: 0.55 }, { metric: 'logLoss', max: 1.3 }] }), trainer: { kind: 'logistic-regression' } };
    const { outcome } = await runToApproval(spec);
    assert.ok(outcome.status === 'approved', JSON.stringify(outcome));
    const registry = new ModelRegistry(suite.stack.store, suite.config.buckets.models);
    const { manifest } = await registry.view('kinds-class-lr-test', outcome.version);
    console.log('multinomial LR test metrics:', JSON.stringify(manifest.metrics));
    assert.equal(manifest.trainer.kind, 'logistic-regression');
    assert.deepEqual(manifest.task, { kind: 'multiclass', classes: ['early', 'on-time', 'late-15-60', 'late-over-60'] });
    assert.ok((manifest.metrics.logLoss ?? Infinity) < Math.log(4), `logLoss ${manifest.metrics.logLoss}`);
    assert.deepEqual(await outputs(await registry.onnx('kinds-class-lr-test', outcome.version)), ['probabilities']);
  });

  test("a gate on another kind's metric is refused at parse, listing the kind's metrics", async () => {
    const spec = exampleSpec('flights-delay-minutes', 'kinds-refused-test', { absolute: [{ metric: 'rocAuc', min: 0.6 }] });
    await assert.rejects(
      startTrainingPipeline({ client: suite.stack.client, config: suite.config, store: suite.stack.store }, { spec, requestedBy: 'dana' }),
      (err: unknown) => err instanceof PipelineSpecError && err.kind === 'InvalidInput' && /"rocAuc" does not exist for a regression model; its metrics are rmse, mae, r2, maeOverMean/.test(err.message),
    );
  });

  test('a multiclass label outside the declared classes ends the run validation-failed naming it, with a report; nothing is registered', async () => {
    const spec = exampleSpec('flights-delay-class', 'kinds-unknown-class-test', { absolute: [{ metric: 'macroAuc', min: 0.55 }] });
    const features = spec.features as { label: Record<string, unknown> };
    // The expression still yields 'late-over-60'; the declared classes leave it out.
    spec.features = { ...features, label: { ...features.label, classes: ['early', 'on-time', 'late-15-60'] } };
    const worker = await createPipelineWorker({ config: suite.config, connection: suite.stack.nativeConnection, store: suite.stack.store });
    const outcome = await worker.runUntil(async () => {
      const started = await startTrainingPipeline({ client: suite.stack.client, config: suite.config, store: suite.stack.store }, { spec, requestedBy: 'dana' });
      return (await started.handle.result()) as PipelineOutcome;
    });
    assert.equal(outcome.status, 'validation-failed', JSON.stringify(outcome));
    if (outcome.status !== 'validation-failed') return;
    assert.match(outcome.failedChecks.join('\n'), /multiclass label "delay_class" has \d+ rows outside the declared classes \[early, on-time, late-15-60\]: "late-over-60" \(\d+\)/);
    const report = JSON.parse((await suite.stack.store.get(suite.config.buckets.reports, outcome.reportKey)).toString()) as { problems: { unknownClasses: { value: string }[] }[] };
    assert.deepEqual(report.problems[0]?.unknownClasses.map((u) => u.value), ['late-over-60']);
    const registry = new ModelRegistry(suite.stack.store, suite.config.buckets.models);
    assert.ok(!(await registry.models()).includes('kinds-unknown-class-test'), 'a model was registered');
  });
});
