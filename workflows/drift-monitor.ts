import { type ActivityOptions, patched, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { MonitoringActivities } from '../activities/monitoring/monitoring-activities.ts';
import { durationMs } from '../shared/duration.ts';
import { NON_RETRYABLE_FAILURE_TYPES as NON_RETRYABLE } from '../shared/failure.ts';
import {
  decideRetraining,
  driftMonitorInputSchema,
  type DriftSummary,
  type MonitorDecision,
  type MonitoredWindow,
  type PerformanceBaseline,
  type PerformanceSummary,
  type WindowEstimate,
  windowEnding,
  windowsToRejudge,
  withRealizedPerformance,
} from '../shared/monitoring.ts';
import { parseInput } from '../shared/parse-input.ts';
import { notify } from './notify.ts';

const driftIo = {
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const shortIo = {
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const drift = proxyActivities<MonitoringActivities>(driftIo);
const io = proxyActivities<MonitoringActivities>(shortIo);

const KEEP_WINDOWS = 100;

/** Passes recorded before realized performance read the current window's labels with `computePerformance` and judged no earlier window. */
const REALIZED_PERFORMANCE = 'realized-performance';

export interface DriftMonitorResult {
  model: string;
  status: 'no-deployed-model' | 'judged' | 'not-judged';
  version?: number;
  window: { from: string; until: string };
  drift?: DriftSummary;
  performance?: PerformanceSummary;
  /** The version's evaluated test figures, and the earlier windows this pass re-judged as their labels matured. */
  realized?: { baseline: PerformanceBaseline; rejudged: MonitoredWindow[] };
  /** What the window's scores predict before its labels arrive (CBPE), beside the realized `performance`; absent in runs before it existed. */
  estimate?: WindowEstimate | null;
  decision?: MonitorDecision;
  retraining?: { workflowId: string; started: boolean } | { refused: string };
}

/**
 * One monitoring pass over a deployed model, run by a Temporal Schedule (`upsertDriftMonitorSchedule`):
 * drift of the last window of the champion's logged predictions, realized performance against the
 * version's evaluated test figures for that window and for earlier ones whose labels are still
 * maturing (within the label horizon), then K-of-N and cooldown against false alarms, and a
 * retraining when thresholds trip. The state between passes (judged windows, score baseline, last
 * retraining) lives in the reports bucket, read and written by activities, so each scheduled run is
 * short and its history small.
 */
export async function driftMonitor(raw: unknown): Promise<DriftMonitorResult> {
  const input = parseInput(driftMonitorInputSchema, raw, () => 'Invalid drift monitor input');
  const now = input.asOf ? Date.parse(input.asOf) : Date.now();
  const window = windowEnding(now, durationMs(input.window), durationMs(input.align));

  const version = await io.monitoredVersion(input.model);
  if (version === null) return { model: input.model, status: 'no-deployed-model', window };
  setCurrentDetails(`Judging ${input.model} v${version} over ${window.from} – ${window.until}`);

  const state = await io.readMonitorState(input.model);
  const baseline = state.scoreBaseline?.version === version ? state.scoreBaseline.counts : undefined;
  const baselineEdges = state.scoreBaseline?.version === version ? state.scoreBaseline.edges : undefined;
  const baselineClasses = state.scoreBaseline?.version === version ? state.scoreBaseline.classProbabilities : undefined;
  const { scoreCounts, scoreEdges, classProbabilityCounts, estimate, ...summary } = await drift.computeDrift({
    model: input.model,
    version,
    ...window,
    thresholds: input.thresholds,
    scoreBaseline: baseline,
    // Regression values are binned on the baseline window's deciles, so every later window counts over the same bins.
    ...(baselineEdges && { scoreEdges: baselineEdges }),
    ...(baselineClasses && { classProbabilityBaseline: baselineClasses }),
  });
  let performance: PerformanceSummary;
  let realized: DriftMonitorResult['realized'];
  const estimated = estimate ? { estimatedRocAuc: estimate.rocAuc } : {};
  const current = { until: window.until, version, verdict: summary.verdict, rocAuc: null, from: window.from, ...estimated };
  const recorded = state.windows.find((w) => w.until === window.until && w.version === version);
  if (patched(REALIZED_PERFORMANCE)) {
    const horizonMs = durationMs(input.labelHorizon);
    const due = windowsToRejudge(state.windows, version, now, horizonMs, durationMs(input.align)).filter((w) => w !== recorded);
    const judged = await drift.realizedPerformance({ model: input.model, version, asOf: new Date(now).toISOString(), labelHorizonMs: horizonMs, windows: [window, ...due.map((w) => ({ from: w.from ?? w.until, until: w.until }))] });
    const [mine, ...earlier] = judged.windows;
    performance = {
      labelled: mine?.labelled ?? 0,
      positives: mine?.positives ?? 0,
      rocAuc: mine?.rocAuc ?? null,
      logLoss: mine?.logLoss ?? null,
      // Regression and multiclass figures; binary windows have none.
      ...(mine?.rmse !== undefined && { rmse: mine.rmse }),
      ...(mine?.mae !== undefined && { mae: mine.mae }),
      ...(mine?.accuracy !== undefined && { accuracy: mine.accuracy }),
    };
    const rejudged = due.map((w, i) => withRealizedPerformance(w, earlier[i] ?? { served: 0, labelled: 0, rocAuc: null, logLoss: null }, judged.baseline, input.performance, now, horizonMs));
    state.windows = state.windows.map((w) => rejudged[due.indexOf(w)] ?? w);
    realized = { baseline: judged.baseline, rejudged };
    if (!summary.judged) {
      if (rejudged.length > 0) await io.writeMonitorState(state);
      return { model: input.model, status: 'not-judged', version, window, drift: summary, performance, estimate, realized };
    }
    // A window is recorded once, even when the schedule runs it twice (a retried or overlapping run): again, its figures are refreshed.
    const record = withRealizedPerformance(recorded ?? current, mine ?? { served: summary.rows, ...performance }, judged.baseline, input.performance, now, horizonMs);
    if (recorded) state.windows[state.windows.indexOf(recorded)] = record;
    else state.windows.push(record);
    // Windows whose labels are still maturing stay beyond the last KEEP_WINDOWS: with hourly windows and a 30-day horizon that is 720 records.
    state.windows = state.windows.filter((w, i, all) => i >= all.length - KEEP_WINDOWS || (w.labelsFinal === false && Date.parse(w.until) + horizonMs > now));
  } else {
    performance = await drift.computePerformance({ model: input.model, version, ...window });
    if (!summary.judged) {
      return { model: input.model, status: 'not-judged', version, window, drift: summary, performance, estimate };
    }
    if (!recorded) {
      state.windows.push({ until: window.until, version, verdict: summary.verdict, rocAuc: performance.rocAuc, ...estimated });
      state.windows = state.windows.slice(-KEEP_WINDOWS);
    }
  }
  // The first judged window of a version without a drift alert becomes its score baseline.
  if (!baseline && summary.verdict !== 'alert') {
    state.scoreBaseline = { version, counts: scoreCounts, ...(scoreEdges && { edges: scoreEdges }), ...(classProbabilityCounts && { classProbabilities: classProbabilityCounts }) };
  }

  const decision = decideRetraining(
    state,
    version,
    now,
    { consecutive: input.consecutive, cooldownMs: durationMs(input.cooldown), estimatedMaxAucDrop: input.performance.estimatedMaxAucDrop },
    estimate,
  );
  let retraining: DriftMonitorResult['retraining'];
  if (decision.retrain) {
    if (!input.retrainSpec) retraining = { refused: 'no retrainSpec in the monitor input: reporting only' };
    else if (state.lastRetrain && (await io.retrainingInFlight(state.lastRetrain.workflowId))) retraining = { refused: `retraining ${state.lastRetrain.workflowId} is still running` };
    else {
      const run = await io.triggerRetraining({
        spec: input.retrainSpec,
        trigger: {
          kind: 'drift-monitor',
          model: input.model,
          version,
          window,
          reason: decision.reason,
          drift: { verdict: summary.verdict, driftShare: summary.driftShare, drifted: summary.drifted, reportKey: summary.reportKey, htmlKey: summary.htmlKey },
          performance,
          ...(realized ? { baseline: realized.baseline } : {}),
          estimate,
          windows: state.windows.filter((w) => w.version === version).slice(-input.consecutive.n),
        },
      });
      retraining = run;
      state.lastRetrain = { at: new Date(now).toISOString(), workflowId: run.workflowId };
    }
  }
  await io.writeMonitorState(state);
  if (summary.verdict === 'alert') {
    await notify('drift.alert', input.model, `${input.model} v${version}: drift alert over ${window.from} – ${window.until}, ${summary.drifted.length} feature(s) drifted (${summary.drifted.slice(0, 5).join(', ')})`, {
      window,
      driftShare: summary.driftShare,
      drifted: summary.drifted,
      reportKey: summary.reportKey,
      decision: { retrain: decision.retrain, reason: decision.reason },
    }, version);
  }
  if (retraining && 'started' in retraining && retraining.started) {
    await notify('retraining.started', input.model, `${input.model}: retraining ${retraining.workflowId} started by the drift monitor: ${decision.reason}`, { workflowId: retraining.workflowId, reason: decision.reason, window }, version);
  }
  return { model: input.model, status: 'judged', version, window, drift: summary, performance, estimate, ...(realized ? { realized } : {}), decision, ...(retraining ? { retraining } : {}) };
}
