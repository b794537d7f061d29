import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { figuresOf, populationStabilityIndex, predictionDrift, scoreHistogram } from '../../../domain/deployment/rollout-health.ts';
import type { LabelTask } from '../../../shared/data/feature-spec.ts';
import { type HealthFigures, type VersionFigures, describeFigures, healthThresholdsSchema, judgeHealth, judgeServing, rolloutPlanSchema } from '../../../shared/deployment.ts';

const limits = healthThresholdsSchema.parse({});
const BINARY = { kind: 'binary' } as const;

function figures(candidate: Partial<VersionFigures> = {}, champion: Partial<VersionFigures> = {}, psi: number | undefined = 0.01): HealthFigures {
  return {
    window: { from: '2026-11-23T15:00:00.000Z', to: '2026-11-23T15:30:00.000Z' },
    route: 'canary',
    candidate: { version: 2, samples: 500, labelled: 300, failed: 0, errorRate: 0, p99LatencyMs: 12, auc: 0.74, logLoss: 0.52, ...candidate },
    champion: { version: 1, samples: 5000, labelled: 3000, failed: 0, errorRate: 0, p99LatencyMs: 11, auc: 0.73, logLoss: 0.53, ...champion },
    ...(psi !== undefined && { psi }),
  };
}

describe('judgeServing (checks while a canary step bakes)', () => {
  test('error rate and p99 latency breach by the same limits and wording as at the end of the bake', () => {
    const failing = figures({ samples: 0, labelled: 0, failed: 200, errorRate: 1, p99LatencyMs: undefined, auc: undefined, logLoss: undefined }, {}, undefined);
    assert.deepEqual(judgeServing(failing, limits), judgeHealth(failing, limits));
    const slow = figures({ p99LatencyMs: 9000 });
    assert.deepEqual(judgeServing(slow, limits), { verdict: 'breach', reasons: ['p99 latency 9000.0 ms > 250 ms'] });
    assert.deepEqual(judgeServing(slow, limits), judgeHealth(slow, limits));
    // A rise the champion shares is not the candidate's doing, as at the end.
    assert.equal(judgeServing(figures({ failed: 25, errorRate: 0.05 }, { failed: 250, errorRate: 0.048 }), limits).verdict, 'healthy');
  });

  test('fewer than minSamples requests seen: nothing is judged, however bad the figures', () => {
    assert.deepEqual(judgeServing(figures({ samples: 150, failed: 49, errorRate: 0.25, p99LatencyMs: 9000 }), limits), {
      verdict: 'insufficient-data',
      reasons: ['199 canary predictions (needs 200)'],
    });
  });

  test('PSI and the labelled figures wait for the end of the bake', () => {
    const drifted = figures({ auc: 0.41, logLoss: 0.9 }, {}, 0.61);
    assert.equal(judgeHealth(drifted, limits).verdict, 'breach');
    assert.deepEqual(judgeServing(drifted, limits), { verdict: 'healthy', reasons: [] });
  });

  test('checkEvery: a minute by default, false turns the checks off, under a second is refused', () => {
    assert.equal(limits.checkEvery, '1 minute');
    assert.equal(healthThresholdsSchema.parse({ checkEvery: false }).checkEvery, false);
    assert.equal(healthThresholdsSchema.parse({ checkEvery: '2s' }).checkEvery, '2s');
    const refused = rolloutPlanSchema.safeParse({ health: { checkEvery: '500ms' } });
    assert.deepEqual(refused.error?.issues.map((i) => [i.path.join('.'), i.message]), [['health.checkEvery', 'expected at least 1 second']]);
    assert.equal(healthThresholdsSchema.safeParse({ checkEvery: true }).success, false);
  });
});

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
    const f = figuresOf(2, rows, 1, BINARY);
    assert.equal(f.samples, 3);
    assert.equal(f.failed, 1);
    assert.equal(f.errorRate, 0.25);
    assert.equal(f.labelled, 2);
    assert.equal(f.p99LatencyMs, 30);
    assert.equal(f.auc, 1);
  });

  test('no failure log for the route: no error rate; no traffic at all: none either', () => {
    assert.equal(figuresOf(2, rows, undefined, BINARY).errorRate, undefined);
    assert.equal(figuresOf(2, [], 0, BINARY).errorRate, undefined);
    assert.equal(figuresOf(2, [], 4, BINARY).errorRate, 1);
  });

  test('score histograms put 1.0 in the last bin and clamp strays', () => {
    assert.deepEqual(scoreHistogram([0, 0.05, 0.1, 0.99, 1, 1.5, -0.1]), [3, 1, 0, 0, 0, 0, 0, 0, 0, 3]);
  });
});

describe('per label kind', () => {
  const REGRESSION = { kind: 'regression' } as const;
  const MULTICLASS: LabelTask = { kind: 'multiclass', classes: ['early', 'on-time', 'late'] };
  /** Deterministic pseudo-noise in [-1, 1), so the figures below are exact functions of the rows. */
  const noise = (i: number) => ((i * 7919) % 1000) / 500 - 1;

  /** Served regression rows: label 10 + 5·noise, prediction off by `error`·noise'. */
  const regressionRows = (n: number, error: number) =>
    Array.from({ length: n }, (_, i) => {
      const label = 20 + 10 * noise(i);
      return { score: label + error * noise(i + 17), latency: 5, label };
    });

  test('a regression canary with a 30% higher MAE (and RMSE) is rolled back; equal quality passes', () => {
    const champion = figuresOf(1, regressionRows(400, 4), 0, REGRESSION);
    const same = figuresOf(2, regressionRows(400, 4), 0, REGRESSION);
    const worse = figuresOf(2, regressionRows(400, 5.2), 0, REGRESSION);
    assert.ok(champion.mae !== undefined && champion.rmse !== undefined && champion.auc === undefined && champion.logLoss === undefined);
    assert.ok(Math.abs((worse.mae ?? 0) / (champion.mae ?? 1) - 1.3) < 1e-9, `MAE ratio ${(worse.mae ?? 0) / (champion.mae ?? 1)}`);
    const judge = (candidate: VersionFigures) => judgeHealth({ window: { from: 'a', to: 'b' }, route: 'canary', task: 'regression', candidate, champion, psi: 0.01 }, limits);
    assert.deepEqual(judge(same), { verdict: 'healthy', reasons: [] });
    const breach = judge(worse);
    assert.equal(breach.verdict, 'breach');
    assert.deepEqual(
      breach.reasons.map((r) => r.replace(/\d+\.\d{4}/g, 'N')),
      ['RMSE N vs champion N (rise 30.0% > 10.0%)', 'MAE N vs champion N (rise 30.0% > 10.0%)'],
    );
  });

  test('the regression limits are relative to the champion and configurable', () => {
    const base = { window: { from: 'a', to: 'b' }, route: 'canary', task: 'regression' } as const;
    const at = (rmse: number, mae: number) => ({ version: 2, samples: 500, labelled: 300, rmse, mae });
    const champion = { version: 1, samples: 500, labelled: 300, rmse: 10, mae: 8 };
    assert.equal(judgeHealth({ ...base, candidate: at(11, 8.8), champion }, limits).verdict, 'healthy', 'exactly 10% higher is within the limit');
    assert.deepEqual(judgeHealth({ ...base, candidate: at(11.5, 8), champion }, { ...limits, maxRmseIncrease: 0.2 }).verdict, 'healthy');
    assert.deepEqual(judgeHealth({ ...base, candidate: at(10, 9) , champion }, limits).reasons, ['MAE 9.0000 vs champion 8.0000 (rise 12.5% > 10.0%)']);
  });

  /** Multiclass rows whose served class is right `accuracy` of the time, the true class given probability `confidence` when right. */
  const multiclassRows = (n: number, wrongEvery: number) =>
    Array.from({ length: n }, (_, i) => {
      const label = i % 3;
      const predicted = i % wrongEvery === 0 ? (label + 1) % 3 : label;
      const probabilities = [0.15, 0.15, 0.15];
      probabilities[predicted] = 0.7;
      return { score: 0.7, latency: 5, label, probabilities };
    });

  test('a multiclass canary with an accuracy drop is rolled back; equal quality passes', () => {
    const champion = figuresOf(1, multiclassRows(600, 10), 0, MULTICLASS);
    const same = figuresOf(2, multiclassRows(600, 10), 0, MULTICLASS);
    const worse = figuresOf(2, multiclassRows(600, 4), 0, MULTICLASS);
    assert.equal(champion.accuracy, 0.9);
    assert.equal(worse.accuracy, 0.75);
    assert.ok(champion.logLoss !== undefined && champion.auc === undefined && champion.rmse === undefined);
    const judge = (candidate: VersionFigures) => judgeHealth({ window: { from: 'a', to: 'b' }, route: 'canary', task: 'multiclass', candidate, champion, psi: 0.01 }, limits);
    assert.deepEqual(judge(same), { verdict: 'healthy', reasons: [] });
    // Each wrong row costs -ln(0.15) instead of -ln(0.7): log loss rises with the accuracy drop.
    assert.deepEqual(judge(worse).reasons, [
      `log-loss ${(worse.logLoss ?? 0).toFixed(4)} vs champion ${(champion.logLoss ?? 0).toFixed(4)} (rise > 0.05)`,
      'accuracy 0.7500 vs champion 0.9000 (drop > 0.02)',
    ]);
  });

  test('multiclass labels outside the classes do not count as labelled', () => {
    const rows = [...multiclassRows(10, 100), { score: 0.7, latency: 5, label: null, probabilities: [0.7, 0.15, 0.15] }];
    assert.equal(figuresOf(1, rows, 0, MULTICLASS).labelled, 10);
  });

  test('regression prediction drift: value PSI over the champion deciles, histograms labelled by those deciles', () => {
    const champion = Array.from({ length: 1000 }, (_, i) => ({ score: i, latency: 1, label: null }));
    const same = predictionDrift(REGRESSION, champion, champion.map((r) => ({ ...r })));
    assert.ok(Math.abs(same.psi ?? NaN) < 1e-12);
    assert.deepEqual(same.histograms?.champion, new Array(10).fill(100));
    assert.equal(same.histograms?.bins?.[0], '<= 99');
    assert.equal(same.histograms?.bins?.length, 10);
    // Values far outside the 0..1 range a binary score lives in, shifted by half their range: the top decile (> 899) gains 500 rows.
    const shifted = predictionDrift(REGRESSION, champion, champion.map((r) => ({ ...r, score: r.score + 500 })));
    assert.ok((shifted.psi ?? 0) > 0.25, `psi ${shifted.psi}`);
    assert.equal(shifted.histograms?.candidate.at(-1), 600);
    const judged = judgeHealth({ window: { from: 'a', to: 'b' }, route: 'canary', task: 'regression', candidate: { version: 2, samples: 1000, labelled: 0 }, champion: { version: 1, samples: 1000, labelled: 0 }, ...shifted }, limits);
    assert.match(judged.reasons.join(), /^value PSI \d+\.\d{4} > 0\.25$/);
  });

  test('multiclass prediction drift: predicted-class PSI and the worst class probability PSI', () => {
    const rows = (shares: number[], n: number) =>
      Array.from({ length: n }, (_, i) => {
        const c = i < shares[0]! * n ? 0 : i < (shares[0]! + shares[1]!) * n ? 1 : 2;
        const probabilities = [0.2, 0.2, 0.2];
        probabilities[c] = 0.5 + ((i % 10) / 100);
        return { score: probabilities[c], latency: 1, label: null, probabilities };
      });
    const champion = rows([0.2, 0.6, 0.2], 1000);
    const same = predictionDrift(MULTICLASS, champion, rows([0.2, 0.6, 0.2], 500));
    assert.deepEqual(same.histograms, { candidate: [100, 300, 100], champion: [200, 600, 200], bins: ['early', 'on-time', 'late'] });
    assert.ok((same.psi ?? 1) < 1e-9 && (same.worstClassPsi?.psi ?? 1) < 0.01, JSON.stringify(same));
    const moved = predictionDrift(MULTICLASS, champion, rows([0.1, 0.3, 0.6], 500));
    assert.ok((moved.psi ?? 0) > 0.25, `class psi ${moved.psi}`);
    assert.equal(moved.worstClassPsi?.class, 'late');
    const figures = { window: { from: 'a', to: 'b' }, route: 'canary', task: 'multiclass', candidate: { version: 2, samples: 500, labelled: 0 }, champion: { version: 1, samples: 1000, labelled: 0 }, ...moved } as const;
    // The per-class probability PSI is reported, and judged only when its own limit is set.
    assert.deepEqual(judgeHealth(figures, limits).reasons.map((r) => r.replace(/\d+\.\d{4}/g, 'N')), ['predicted-class PSI N > 0.25']);
    assert.deepEqual(
      judgeHealth(figures, { ...limits, maxClassProbabilityPsi: 0.3 }).reasons.map((r) => r.replace(/\d+\.\d{4}/g, 'N')),
      ['predicted-class PSI N > 0.25', 'probability PSI of class "late" N > 0.3'],
    );
  });

  test('describeFigures shows the kind\'s metrics, not AUC', () => {
    const base = { window: { from: 'a', to: 'b' }, route: 'canary' } as const;
    assert.equal(
      describeFigures({ ...base, task: 'regression', psi: 0.0123, candidate: { version: 2, samples: 300, labelled: 200, p99LatencyMs: 4, rmse: 12, mae: 8 }, champion: { version: 1, samples: 900, labelled: 600, rmse: 11, mae: 7.5 } }),
      '300 samples, psi 0.012, p99 4.0 ms, rmse 12.000 vs 11.000, mae 8.000 vs 7.500',
    );
    assert.match(describeFigures({ ...base, task: 'multiclass', candidate: { version: 2, samples: 3, labelled: 0 }, champion: { version: 1, samples: 3, labelled: 0 } }), /log-loss n\/a vs n\/a, accuracy n\/a vs n\/a$/);
    assert.match(describeFigures({ ...base, candidate: { version: 2, samples: 3, labelled: 0, auc: 0.7 }, champion: { version: 1, samples: 3, labelled: 0, auc: 0.71 } }), /auc 0\.700 vs 0\.710$/);
  });
});
