import { GATE_METRICS, type EvaluationSummary, type GateCheck, type GateOutcome, type GateSpec, type MetricValues } from '../../shared/gates.ts';

type Bound = { metric: keyof typeof GATE_METRICS; min?: number | undefined; max?: number | undefined };

function checkBound(kind: GateCheck['kind'], scope: string, bound: Bound, metrics: MetricValues): GateCheck {
  const comparator = bound.min !== undefined ? '>=' : '<=';
  const threshold = (bound.min ?? bound.max) as number;
  const value = metrics[bound.metric];
  if (value === undefined || Number.isNaN(value)) {
    return { kind, metric: bound.metric, scope, value: null, comparator, threshold, verdict: 'fail', note: `${bound.metric} was not measured` };
  }
  const ok = comparator === '>=' ? value >= threshold : value <= threshold;
  return { kind, metric: bound.metric, scope, value, comparator, threshold, verdict: ok ? 'pass' : 'fail' };
}

const describe = (c: GateCheck) =>
  `${c.scope} ${c.metric} ${c.value === null ? 'missing' : c.value.toPrecision(4)} (needs ${c.comparator} ${c.threshold === null ? '?' : c.threshold.toPrecision(4)})`;

/**
 * Judges an evaluation against the declared gates. Every check is listed with its value, threshold
 * and verdict, so the report explains a failure without anyone re-running anything.
 */
export function evaluateGates(spec: GateSpec, evaluation: EvaluationSummary): GateOutcome {
  const checks: GateCheck[] = [];

  for (const bound of spec.absolute) checks.push(checkBound('absolute', 'overall', bound, evaluation.overall));

  for (const gate of spec.vsChampion) {
    const direction = gate.direction ?? GATE_METRICS[gate.metric];
    const comparator = direction === 'higher' ? '>=' : '<=';
    const value = evaluation.overall[gate.metric] ?? null;
    const champion = evaluation.champion?.overall[gate.metric];
    const scope = evaluation.champion ? `vs champion v${evaluation.champion.version}` : 'vs champion';
    if (!evaluation.champion || champion === undefined) {
      checks.push({ kind: 'vs-champion', metric: gate.metric, scope, value, comparator, threshold: null, verdict: 'skipped', note: 'no champion to compare with' });
      continue;
    }
    const allowance = gate.relative ? Math.abs(champion) * gate.maxRegression : gate.maxRegression;
    const threshold = direction === 'higher' ? champion - allowance : champion + allowance;
    const ok = value !== null && (direction === 'higher' ? value >= threshold : value <= threshold);
    checks.push({
      kind: 'vs-champion',
      metric: gate.metric,
      scope,
      value,
      comparator,
      threshold,
      verdict: ok ? 'pass' : 'fail',
      note: `champion ${champion.toPrecision(4)}, allowed regression ${gate.relative ? `${(gate.maxRegression * 100).toFixed(2)}%` : gate.maxRegression}`,
    });
  }

  for (const bound of spec.slices) {
    const minRows = bound.minRows ?? 200;
    for (const slice of evaluation.slices) {
      const scope = `slice ${slice.name}`;
      if (slice.rows < minRows) {
        checks.push({
          kind: 'slice',
          metric: bound.metric,
          scope,
          value: slice.metrics[bound.metric] ?? null,
          comparator: bound.min !== undefined ? '>=' : '<=',
          threshold: (bound.min ?? bound.max) as number,
          verdict: 'skipped',
          note: `${slice.rows} rows < minRows ${minRows}`,
        });
        continue;
      }
      checks.push(checkBound('slice', scope, bound, slice.metrics));
    }
  }

  const failed = checks.filter((c) => c.verdict === 'fail').map(describe);
  return { passed: failed.length === 0, checks, failed };
}
