import type { CalibrationMap } from '../../shared/model-diagnostics.ts';
import type { PerformanceEstimate } from '../../shared/monitoring.ts';
import { calibrate } from '../evaluation/calibration.ts';

/**
 * Confidence-based performance estimation (CBPE, as NannyML describes it): when a model's scores
 * are calibrated probabilities, a row scored p is a positive with probability p, so the confusion
 * matrix at the served threshold and the ROC curve over every threshold have expected values that
 * need no labels. The served scores are first put through the version's calibration map (when its
 * training recorded one); ranking and the served decision stay those of the raw score.
 *
 * It estimates well under covariate shift (P(x) moves, P(y | x) does not) and cannot see concept
 * drift (P(y | x) moves): an estimate that holds while the realized figure falls is the sign of
 * the latter.
 */

/** One distinct raw score of the window and how many predictions had it (DuckDB groups them). */
export interface ScoreCount {
  score: number;
  count: number;
}

/**
 * The expected confusion matrix at `threshold` (a row is predicted positive when its raw score
 * reaches it, as the API decides) and the expected ROC AUC: walking tie groups from the highest
 * score, each group's expected negatives are outranked by the expected positives above it, and tie
 * with its own half-way, the Mann–Whitney count with expectations in place of labels.
 */
export function estimatePerformance(window: readonly ScoreCount[], threshold: number, map: CalibrationMap | null): PerformanceEstimate {
  const groups = [...window].filter((g) => g.count > 0).sort((a, b) => b.score - a.score);
  let rows = 0;
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  let trueNegatives = 0;
  let positivesAbove = 0;
  let wins = 0;
  for (const { score, count } of groups) {
    const p = map ? calibrate(map, score) : score;
    const positives = count * p;
    const negatives = count - positives;
    rows += count;
    if (score >= threshold) {
      truePositives += positives;
      falsePositives += negatives;
    } else {
      falseNegatives += positives;
      trueNegatives += negatives;
    }
    wins += negatives * (positivesAbove + positives / 2);
    positivesAbove += positives;
  }
  const expectedPositives = truePositives + falseNegatives;
  const expectedNegatives = rows - expectedPositives;
  const precision = truePositives + falsePositives > 0 ? truePositives / (truePositives + falsePositives) : 0;
  const recall = expectedPositives > 0 ? truePositives / expectedPositives : 0;
  return {
    method: 'cbpe',
    rows,
    calibrated: map !== null,
    threshold,
    expectedPositives,
    confusion: { truePositives, falsePositives, trueNegatives, falseNegatives },
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    rocAuc: expectedPositives > 0 && expectedNegatives > 0 ? wins / (expectedPositives * expectedNegatives) : null,
  };
}
