import { logLoss, rocAuc } from '../../domain/evaluation/metrics.ts';

/**
 * Scoring the replay's policies month by month, from what the client saw: each served prediction (its
 * score and the version that produced it, as the predict route answered) with the outcome the
 * harness later sent as feedback, grouped by the flight's replayed departure time.
 */

export interface ReplayPeriod {
  /** Table label: `Feb 22-28`, `Mar`. */
  name: string;
  /** Replayed epoch ms, [from, until). */
  from: number;
  until: number;
  /** Counted in the policy's overall mean (the months after the model's data), or shown only (the in-distribution week). */
  scored: boolean;
}

export interface ServedPrediction {
  policy: string;
  /** Replayed departure time of the flight. */
  departureMs: number;
  score: number;
  version: number;
  delayed: boolean;
}

export interface PeriodFigures {
  period: string;
  events: number;
  positives: number;
  /** Null when the period's labels hold one class only. */
  rocAuc: number | null;
  logLoss: number | null;
  /** Versions that served the period, with their share of its predictions, oldest first. */
  versions: { version: number; share: number }[];
  retrainingsStarted: number;
}

export interface PolicyFigures {
  policy: string;
  periods: PeriodFigures[];
  /** Mean of the scored periods' ROC AUC (each month weighs the same). */
  meanRocAuc: number | null;
  meanLogLoss: number | null;
  /** Retrainings started in the scored periods. */
  retrainings: number;
}

export function periodOf(periods: readonly ReplayPeriod[], replayedMs: number): ReplayPeriod | undefined {
  return periods.find((p) => replayedMs >= p.from && replayedMs < p.until);
}

const mean = (xs: readonly number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Figures per period of one policy: its served predictions and the replayed instants its retrainings started at. */
export function policyFigures(policy: string, periods: readonly ReplayPeriod[], served: readonly ServedPrediction[], retrainingStarts: readonly number[]): PolicyFigures {
  const rows = periods.map((period): PeriodFigures => {
    const mine = served.filter((s) => s.policy === policy && s.departureMs >= period.from && s.departureMs < period.until);
    const labels = mine.map((s) => (s.delayed ? 1 : 0));
    const scores = mine.map((s) => s.score);
    const positives = labels.reduce<number>((a, b) => a + b, 0);
    const bothClasses = positives > 0 && positives < mine.length;
    const counts = new Map<number, number>();
    for (const s of mine) counts.set(s.version, (counts.get(s.version) ?? 0) + 1);
    return {
      period: period.name,
      events: mine.length,
      positives,
      rocAuc: bothClasses ? rocAuc(labels, scores) : null,
      logLoss: mine.length > 0 ? logLoss(labels, scores) : null,
      versions: [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([version, n]) => ({ version, share: n / mine.length })),
      retrainingsStarted: retrainingStarts.filter((t) => t >= period.from && t < period.until).length,
    };
  });
  const scored = rows.filter((_, i) => periods[i]?.scored);
  return {
    policy,
    periods: rows,
    meanRocAuc: mean(scored.flatMap((r) => (r.rocAuc === null ? [] : [r.rocAuc]))),
    meanLogLoss: mean(scored.flatMap((r) => (r.logLoss === null ? [] : [r.logLoss]))),
    retrainings: scored.reduce((a, r) => a + r.retrainingsStarted, 0),
  };
}

/** One window the default policy's monitor judged, in replayed time, with what it decided. */
export interface JudgedWindow {
  fromMs: number;
  untilMs: number;
  version: number;
  drift: string;
  /** Drifted features, with the statistics that tripped. */
  driftReasons: string[];
  performance: string;
  performanceReasons: string[];
  /** Realized ROC AUC once its labels are final (else the newest figure), and the CBPE estimate at the pass that judged it. */
  realizedRocAuc: number | null;
  estimatedRocAuc: number | null;
  retraining: string | null;
}

export interface EstimateError {
  period: string;
  windows: number;
  /** Mean of (estimated − realized) ROC AUC: positive when CBPE is optimistic. */
  meanError: number | null;
  meanAbsError: number | null;
  maxAbsError: number | null;
}

/** A window belongs to the period its end falls in (its last instant). */
export const windowsOf = (period: ReplayPeriod, windows: readonly JudgedWindow[]) => windows.filter((w) => w.untilMs - 1 >= period.from && w.untilMs - 1 < period.until);

/** The CBPE estimate's error against the realized ROC AUC, per period, over windows that have both. */
export function estimateErrors(periods: readonly ReplayPeriod[], windows: readonly JudgedWindow[]): EstimateError[] {
  return periods.map((period) => {
    const errors = windowsOf(period, windows).flatMap((w) => (w.realizedRocAuc === null || w.estimatedRocAuc === null ? [] : [w.estimatedRocAuc - w.realizedRocAuc]));
    return {
      period: period.name,
      windows: errors.length,
      meanError: mean(errors),
      meanAbsError: mean(errors.map(Math.abs)),
      maxAbsError: errors.length > 0 ? Math.max(...errors.map(Math.abs)) : null,
    };
  });
}
