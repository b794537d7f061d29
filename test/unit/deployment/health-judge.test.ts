import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { figuresOf, populationStabilityIndex, scoreHistogram } from '../../../domain/deployment/rollout-health.ts';
import { type HealthFigures, type VersionFigures, healthThresholdsSchema, judgeHealth } from '../../../shared/deployment.ts';

const limits = healthThresholdsSchema.parse({});

function figures(candidate: Partial<VersionFigures> = {}, champion: Partial<VersionFigures> = {}, psi: number | undefined = 0.01): HealthFigures {
  return {
    window: { from: '2026-11-23T15:00:00.000Z', to: '2026-11-23T15:30:00.000Z' },
    route: 'canary',
    candidate: { version: 2, samples: 500, labelled: 300, failed: 0, errorRate: 0, p99LatencyMs: 12, auc: 0.74, logLoss: 0.52, ...candidate },
    champion: { version: 1, samples: 5000, labelled: 3000, failed: 0, errorRate: 0, p99LatencyMs: 11, auc: 0.73, logLoss: 0.53, ...champion },
    ...(psi !== undefined && { psi }),
  };
}

describe('judgeHealth', () => {
  test('healthy figures pass with no reasons', () => {
    assert.deepEqual(judgeHealth(figures(), limits), { verdict: 'healthy', reasons: [] });
  });

  test('below the minimum sample size nothing is judged, however bad the figures', () => {
    const judgement = judgeHealth(figures({ samples: 150, failed: 49, errorRate: 0.25, p99LatencyMs: 9000 }, {}, 3), limits);
    assert.deepEqual(judgement, { verdict: 'insufficient-data', reasons: ['199 canary predictions (needs 200)'] });
  });

  test('failed requests count towards the sample size: a version that fails everything is judged', () => {
    const judgement = judgeHealth(figures({ samples: 0, labelled: 0, failed: 200, errorRate: 1, p99LatencyMs: undefined, auc: undefined, logLoss: undefined }, {}, undefined), limits);
    assert.equal(judgement.verdict, 'breach');
    assert.deepEqual(judgement.reasons, ['error rate 1.0000 vs champion 0.0000 (rise > 0.01)']);
  });

  test('error rate is judged against the champion: a failure both share is not a breach', () => {
    assert.equal(judgeHealth(figures({ failed: 25, errorRate: 0.05 }, { failed: 250, errorRate: 0.048 }), limits).verdict, 'healthy');
    const worse = judgeHealth(figures({ failed: 25, errorRate: 0.05 }, { failed: 100, errorRate: 0.02 }), limits);
    assert.deepEqual(worse.reasons, ['error rate 0.0500 vs champion 0.0200 (rise > 0.01)']);
  });

  test('no error rate recorded (shadow): nothing to judge there', () => {
    assert.equal(judgeHealth(figures({ failed: undefined, errorRate: undefined }), limits).verdict, 'healthy');
  });

  test('a limit exactly met is not a breach; just past it is', () => {
    // AUC and log-loss differences are floating-point: 0.72 - 0.7 is 0.0200000000000002, so those limits get an ulp of slack.
    const atLimits = figures({ p99LatencyMs: 250, auc: 0.7, logLoss: 0.6, failed: 5, errorRate: 0.01 }, { auc: 0.72, logLoss: 0.55 }, 0.25);
    assert.deepEqual(judgeHealth(atLimits, { ...limits, maxAucDrop: 0.02 + 1e-12, maxLogLossIncrease: 0.05 + 1e-12 }), { verdict: 'healthy', reasons: [] });
    const past = figures({ p99LatencyMs: 250.5, auc: 0.69, logLoss: 0.61, errorRate: 0.0101 }, { auc: 0.72, logLoss: 0.55 }, 0.2501);
    assert.deepEqual(judgeHealth(past, limits).reasons, [
      'error rate 0.0101 vs champion 0.0000 (rise > 0.01)',
      'p99 latency 250.5 ms > 250 ms',
      'PSI 0.2501 > 0.25',
      'AUC 0.6900 vs champion 0.7200 (drop > 0.02)',
      'log-loss 0.6100 vs champion 0.5500 (rise > 0.05)',
    ]);
  });

  test('AUC and log-loss are compared only once both sides have minLabels labels', () => {
    const bad = { auc: 0.5, logLoss: 0.9 };
    assert.equal(judgeHealth(figures({ ...bad, labelled: 99 }), limits).verdict, 'healthy');
    assert.equal(judgeHealth(figures(bad, { labelled: 99 }), limits).verdict, 'healthy');
    assert.equal(judgeHealth(figures({ ...bad, labelled: 100 }, { labelled: 100 }), limits).verdict, 'breach');
  });
});

describe('populationStabilityIndex', () => {
  const uniform = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => (i + 0.5) / n + offset);

  test('undefined when either side has no scores', () => {
    assert.equal(populationStabilityIndex([], [0.1]), undefined);
    assert.equal(populationStabilityIndex([0.1], []), undefined);
  });

  test('zero for the same distribution, growing as it shifts', () => {
    assert.ok(Math.abs(populationStabilityIndex(uniform(1000), uniform(1000)) ?? NaN) < 1e-12);
    const small = populationStabilityIndex(uniform(1000), uniform(1000).map((s) => s * 0.95)) ?? NaN;
    const large = populationStabilityIndex(uniform(1000), uniform(1000).map((s) => s * 0.5)) ?? NaN;
    assert.ok(small > 0 && small < 0.1, `small shift: ${small}`);
    assert.ok(large > 0.25 && large > small, `large shift: ${large}`);
  });

  test('all-identical champion scores: every bin edge is that score, and a candidate elsewhere is a large shift', () => {
    const champion = new Array<number>(500).fill(0.3);
    assert.ok(Math.abs(populationStabilityIndex(champion, new Array<number>(50).fill(0.3)) ?? NaN) < 1e-12, 'the same constant: no shift');
    const psi = populationStabilityIndex(champion, new Array<number>(50).fill(0.8)) ?? NaN;
    // Everything moves from the first bin to the last: both empty sides are floored at 1e-4, so the PSI is finite.
    assert.ok(Number.isFinite(psi) && psi > 10, `psi ${psi}`);
  });

  test('empty bins on either side stay finite (floored), and the index is symmetric in what moved', () => {
    const champion = uniform(1000);
    const candidate = uniform(1000).filter((s) => s < 0.5);
    const psi = populationStabilityIndex(champion, candidate) ?? NaN;
    assert.ok(Number.isFinite(psi) && psi > 1, `half the bins empty: ${psi}`);
  });
});

describe('figuresOf', () => {
  const rows = [
    { score: 0.9, latency: 10, label: 1 },
    { score: 0.2, latency: 30, label: 0 },
    { score: 0.6, latency: 20, label: null },
  ];

  test('error rate counts failed events against everything the version was asked for', () => {
    const f = figuresOf(2, rows, 1);
    assert.equal(f.samples, 3);
    assert.equal(f.failed, 1);
    assert.equal(f.errorRate, 0.25);
    assert.equal(f.labelled, 2);
    assert.equal(f.p99LatencyMs, 30);
    assert.equal(f.auc, 1);
  });

  test('no failure log for the route: no error rate; no traffic at all: none either', () => {
    assert.equal(figuresOf(2, rows, undefined).errorRate, undefined);
    assert.equal(figuresOf(2, [], 0).errorRate, undefined);
    assert.equal(figuresOf(2, [], 4).errorRate, 1);
  });

  test('score histograms put 1.0 in the last bin and clamp strays', () => {
    assert.deepEqual(scoreHistogram([0, 0.05, 0.1, 0.99, 1, 1.5, -0.1]), [3, 1, 0, 0, 0, 0, 0, 0, 0, 3]);
  });
});
