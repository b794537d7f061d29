import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateGates } from '../../../domain/evaluation/gates.ts';
import { type EvaluationSummary, gateSpecSchema } from '../../../shared/gates.ts';

const evaluation: EvaluationSummary = {
  overall: { rocAuc: 0.72, logLoss: 0.45, latencyP99Ms: 0.8 },
  slices: [
    { name: 'origin-size=large', rows: 5000, metrics: { rocAuc: 0.74 } },
    { name: 'origin-size=small', rows: 900, metrics: { rocAuc: 0.61 } },
    { name: 'origin-size=tiny', rows: 40, metrics: { rocAuc: 0.3 } },
  ],
  champion: { version: 3, overall: { rocAuc: 0.71, logLoss: 0.44 } },
};

describe('evaluateGates', () => {
  test('absolute bounds pass and fail with value, threshold and comparator recorded', () => {
    const spec = gateSpecSchema.parse({ absolute: [{ metric: 'rocAuc', min: 0.7 }, { metric: 'latencyP99Ms', max: 0.5 }] });
    const outcome = evaluateGates(spec, evaluation);
    assert.equal(outcome.passed, false);
    assert.deepEqual(
      outcome.checks.map((c) => [c.metric, c.value, c.comparator, c.threshold, c.verdict]),
      [
        ['rocAuc', 0.72, '>=', 0.7, 'pass'],
        ['latencyP99Ms', 0.8, '<=', 0.5, 'fail'],
      ],
    );
    assert.deepEqual(outcome.failed, ['overall latencyP99Ms 0.8000 (needs <= 0.5000)']);
  });

  test('a metric that was not measured fails its gate instead of passing silently', () => {
    const outcome = evaluateGates(gateSpecSchema.parse({ absolute: [{ metric: 'f1', min: 0.1 }] }), evaluation);
    assert.equal(outcome.passed, false);
    assert.equal(outcome.checks[0]?.note, 'f1 was not measured');
  });

  test('vs champion: absolute and relative allowances in the metric direction', () => {
    const spec = gateSpecSchema.parse({
      vsChampion: [
        { metric: 'rocAuc' }, // must not be worse: 0.72 >= 0.71
        { metric: 'logLoss', maxRegression: 0.005 }, // lower is better: 0.45 <= 0.445 fails
        { metric: 'logLoss', maxRegression: 0.05, relative: true }, // 0.45 <= 0.44 * 1.05 = 0.462 passes
      ],
    });
    const outcome = evaluateGates(spec, evaluation);
    assert.deepEqual(outcome.checks.map((c) => c.verdict), ['pass', 'fail', 'pass']);
    assert.equal(outcome.checks[1]?.threshold, 0.445);
    assert.ok(Math.abs((outcome.checks[2]?.threshold ?? 0) - 0.462) < 1e-12);
    assert.equal(outcome.checks[0]?.scope, 'vs champion v3');
  });

  test('vs champion is skipped, not failed, when there is no champion yet', () => {
    const outcome = evaluateGates(gateSpecSchema.parse({ vsChampion: [{ metric: 'rocAuc' }] }), { ...evaluation, champion: undefined });
    assert.equal(outcome.passed, true);
    assert.equal(outcome.checks[0]?.verdict, 'skipped');
  });

  test('slice gates judge every slice large enough and name the failing one', () => {
    const outcome = evaluateGates(gateSpecSchema.parse({ slices: [{ metric: 'rocAuc', min: 0.65 }] }), evaluation);
    assert.deepEqual(outcome.checks.map((c) => [c.scope, c.verdict]), [
      ['slice origin-size=large', 'pass'],
      ['slice origin-size=small', 'fail'],
      ['slice origin-size=tiny', 'skipped'],
    ]);
    assert.deepEqual(outcome.failed, ['slice origin-size=small rocAuc 0.6100 (needs >= 0.6500)']);
  });

  test('the spec rejects unknown metrics and ambiguous bounds with the field named', () => {
    const bad = gateSpecSchema.safeParse({ absolute: [{ metric: 'auc', min: 0.5 }, { metric: 'rocAuc', min: 0.5, max: 0.9 }] });
    assert.equal(bad.success, false);
    const messages = bad.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.ok(messages.some((m) => m.startsWith('absolute.0.metric: unknown metric "auc"')), messages.join('\n'));
    assert.ok(messages.includes('absolute.1: give exactly one of min or max'), messages.join('\n'));
  });
});
