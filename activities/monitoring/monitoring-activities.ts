import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance as clock } from 'node:perf_hooks';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../../shared/config.ts';
import { featureTablesManifestSchema, referenceStatsSchema, type ReferenceStats } from '../../shared/data/feature-tables.ts';
import { type LogMask, featureSpecSchema, logMasksOf } from '../../shared/data/feature-spec.ts';
import { asFailure, kindFailure, toApplicationFailure } from '../../shared/failure.ts';
import { parseInput } from '../../shared/parse-input.ts';
import { feedbackKeys } from '../../shared/api/prediction-log.ts';
import {
  type DriftReport,
  type DriftSummary,
  driftWindowInputSchema,
  type MonitorState,
  labelsCutoffMs,
  monitoringKeys,
  type PerformanceBaseline,
  type PerformanceSummary,
  realizedPerformanceInputSchema,
  type RealizedPerformance,
  type WindowEstimate,
} from '../../shared/monitoring.ts';
import type { ModelManifest } from '../../shared/registry.ts';
import { trainingSlotId } from '../../shared/pipeline-identity.ts';
import { type RetrainingOutcome, type RetrainingTrigger, scheduledRetrainingInputSchema } from '../../shared/retraining.ts';
import { featureKeys } from '../../shared/storage-keys.ts';
import { type DuckDbSession, openDuckDb } from '../../domain/duckdb/duckdb-session.ts';
import { startProgress } from '../heartbeat.ts';
import { type ArtifactStore, ObjectNotFoundError } from '../../domain/object-store/artifact-store.ts';
import { maskedReference } from '../../domain/monitoring/masked-reference.ts';
import { type PipelineStart, PipelineSpecError, RetrainingRequestError, startRetraining } from '../../domain/retraining/start-retraining.ts';
import { ModelNotFoundError, ModelRegistry } from '../../domain/registry/model-registry.ts';
import { MonitorStateStore } from '../../domain/monitoring/monitor-state.ts';
import { renderDriftHtml } from '../../domain/monitoring/drift-html.ts';
import { buildDriftReport } from '../../domain/monitoring/drift-report.ts';
import { estimatePerformance } from '../../domain/monitoring/performance-estimate.ts';
import { countWindow, realizedWindowsPerformance, windowPerformance, windowScoreCounts } from '../../domain/monitoring/window-counts.ts';
import { LABEL_DELAY_ALLOWANCE_MS, feedbackHoursForWindow } from '../../domain/monitoring/window-files.ts';
import { hoursOfWindow } from '../../domain/prediction-log/log-files.ts';
import { stageLogHours } from '../../domain/prediction-log/stage-log.ts';

export interface MonitoringDeps {
  store: ArtifactStore;
  buckets: Config['buckets'];
  /** Starts (or finds) a training pipeline run; the worker wires `startTrainingPipeline` with its client. */
  startPipeline?: (request: { spec: unknown; requestedBy: string; trigger: Record<string, unknown> }) => Promise<PipelineStart>;
  /** Whether a workflow is still running; wired to the Temporal client like `startPipeline`. */
  isRunning?: (workflowId: string) => Promise<boolean>;
  /** SLUICE_LOG_HASH_KEY: hashed features are judged by hashing the reference with it (see domain/monitoring/masked-reference.ts). */
  logHashKey?: string | undefined;
}

function worstClassProbability(report: DriftReport): Pick<DriftSummary, 'worstClassProbability'> {
  const worst = report.classProbabilities?.reduce((a, b) => (b.statistics.psi > a.statistics.psi ? b : a));
  return worst ? { worstClassProbability: { class: worst.name.slice(2, -1), psi: worst.statistics.psi, verdict: worst.verdict } } : {};
}

export function summarise(report: DriftReport, reportKey: string, htmlKey: string): DriftSummary {
  return {
    model: report.model,
    version: report.version,
    window: report.window,
    rows: report.rows,
    judged: report.judged,
    verdict: report.verdict,
    driftShare: report.driftShare,
    drifted: report.drifted,
    top: [...report.features]
      .sort((a, b) => b.statistics.jensenShannon - a.statistics.jensenShannon)
      .slice(0, 5)
      .map((f) => ({ name: f.name, psi: f.statistics.psi, jensenShannon: f.statistics.jensenShannon, verdict: f.verdict })),
    ...worstClassProbability(report),
    reportKey,
    htmlKey,
  };
}

/** The version's evaluated test figures of its kind, what its windows' realized figures are judged against. */
export function baselineOf(manifest: ModelManifest): PerformanceBaseline {
  const metric = (name: string) => manifest.metrics[name] ?? null;
  switch (manifest.task.kind) {
    case 'binary':
      return { rocAuc: metric('rocAuc'), logLoss: metric('logLoss') };
    case 'regression':
      return { rocAuc: null, logLoss: null, rmse: metric('rmse'), mae: metric('mae') };
    case 'multiclass':
      return { rocAuc: null, logLoss: metric('logLoss'), accuracy: metric('accuracy') };
  }
}

export const createMonitoringActivities = (deps: MonitoringDeps) => {
  const { store, buckets } = deps;
  const registry = new ModelRegistry(store, buckets.models);
  const monitorState = new MonitorStateStore(store, buckets);

  async function stage(bucket: string, keys: readonly string[], dir: string, progress: { report(d: Record<string, unknown>): void }): Promise<string[]> {
    const paths: string[] = [];
    for (const [i, key] of keys.entries()) {
      const path = join(dir, `${i}${key.endsWith('.jsonl') ? '.jsonl' : '.parquet'}`);
      await store.getFile(bucket, key, path);
      paths.push(path);
      progress.report({ stage: 'staging', staged: i + 1, of: keys.length });
    }
    return paths;
  }

  /** The version's prediction-log files of the window's hours, each row once whatever compaction has done. */
  function stageWindow(session: DuckDbSession, dir: string, input: { model: string; version: number; from: string; until: string }, progress: { report(d: Record<string, unknown>): void }): Promise<string[]> {
    return stageLogHours(
      { store, bucket: buckets.predictions, db: session.db, dir },
      { model: input.model, hours: hoursOfWindow(input.from, input.until), versions: [input.version] },
      (staged) => progress.report({ stage: 'staging', staged }),
    );
  }

  async function loadReference(model: string, version: number): Promise<{ reference: ReferenceStats; featureNames: string[]; manifest: ModelManifest }> {
    const manifest = await registry.manifest(model, version).catch((err: unknown) => {
      throw asFailure(err);
    });
    const key = manifest.reports.referenceStats ?? featureKeys.referenceStats(manifest.featureDefinitionHash, manifest.datasetVersion);
    const reference = referenceStatsSchema.parse(JSON.parse((await store.get(buckets.features, key)).toString('utf8')));
    const masked = maskedReference(reference, [...manifest.featureNames.numeric, ...manifest.featureNames.categorical], await logMasks(manifest), deps.logHashKey);
    return { ...masked, manifest };
  }

  /** The features the version's spec masks in the log; none when its feature build's manifest is not there (versions registered without one). */
  async function logMasks(manifest: ModelManifest): Promise<Map<string, LogMask>> {
    try {
      const build = featureTablesManifestSchema.parse(JSON.parse((await store.get(buckets.features, featureKeys.manifest(manifest.featureDefinitionHash, manifest.datasetVersion))).toString('utf8')));
      return logMasksOf(featureSpecSchema.parse(build.spec));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return new Map();
      throw err;
    }
  }

  /** Starts a retraining through the worker's Temporal client unless the model's training slot is held. */
  async function retrain(model: string, spec: unknown, requestedBy: string, trigger: RetrainingTrigger): Promise<RetrainingOutcome> {
    const { startPipeline, isRunning } = deps;
    if (!startPipeline || !isRunning) throw kindFailure('RetrainingUnavailable', 'This worker cannot start training pipelines (no Temporal client wired)');
    const slot = async (name: string) => {
      try {
        return (await isRunning(trainingSlotId(name))) ? { held: true as const, by: null } : { held: false as const };
      } catch (err) {
        // A model that never trained has never had a slot.
        if (err instanceof WorkflowNotFoundError) return { held: false as const };
        throw err;
      }
    };
    try {
      return await startRetraining({ startPipeline, slot }, { model, spec, requestedBy, trigger });
    } catch (err) {
      if (err instanceof PipelineSpecError || err instanceof RetrainingRequestError) throw toApplicationFailure(err);
      throw err;
    }
  }

  return {
    /**
     * Drift of one window of logged predictions of a model version against the version's reference
     * statistics, each feature weighted by the version's recorded importance. Writes the JSON report
     * and its HTML page to the reports bucket (same keys on a retry) and returns the summary, the
     * window's score counts (a baseline for later windows) and the performance its scores predict
     * (CBPE, through the version's calibration map), which needs no labels.
     */
    async computeDrift(raw: unknown): Promise<DriftSummary & { scoreCounts: number[]; scoreEdges?: number[]; classProbabilityCounts?: number[][]; estimate: WindowEstimate | null }> {
      const input = parseInput(driftWindowInputSchema, raw, () => 'Invalid drift window input');
      const started = clock.now();
      using progress = startProgress('computeDrift');
      const { reference, featureNames, manifest } = await loadReference(input.model, input.version);
      const dir = await mkdtemp(join(tmpdir(), 'sluice-drift-'));
      try {
        using session = await openDuckDb({ tempDirectory: dir });
        const paths = await stageWindow(session, dir, input, progress);
        progress.report({ stage: 'counting', files: paths.length });
        const counts = await countWindow(session.db, paths, { version: input.version, from: input.from, until: input.until }, reference, featureNames, {
          task: manifest.task,
          scoreEdges: input.scoreEdges,
        });
        const report = buildDriftReport({
          model: input.model,
          version: input.version,
          window: { from: input.from, until: input.until },
          reference,
          featureNames,
          counts,
          scoreBaseline: input.scoreBaseline,
          classProbabilityBaseline: input.classProbabilityBaseline,
          task: manifest.task,
          thresholds: input.thresholds,
          importance: manifest.featureImportance?.weights,
          seconds: (clock.now() - started) / 1000,
        });
        // CBPE reads a binary score as P(label): a regression value or a multiclass top probability is not one, so other kinds get no estimate.
        const scores = manifest.task.kind === 'binary' ? await windowScoreCounts(session.db, paths, { version: input.version, from: input.from, until: input.until }) : [];
        const estimate = scores.length ? { ...estimatePerformance(scores, manifest.threshold, manifest.calibration?.map ?? null), referenceRocAuc: manifest.metrics.rocAuc ?? null } : null;
        const reportKey = monitoringKeys.report(input.model, input.version, input.from, input.until);
        const htmlKey = monitoringKeys.html(input.model, input.version, input.from, input.until);
        await store.put(buckets.reports, reportKey, JSON.stringify(report, null, 2), { contentType: 'application/json' });
        await store.put(buckets.reports, htmlKey, renderDriftHtml(report), { contentType: 'text/html; charset=utf-8' });
        return {
          ...summarise(report, reportKey, htmlKey),
          scoreCounts: counts.score,
          ...(counts.scoreEdges && { scoreEdges: counts.scoreEdges }),
          ...(counts.classProbabilities && { classProbabilityCounts: counts.classProbabilities }),
          estimate,
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    /**
     * AUC and log loss of the window's predictions that have feedback labels (joined by request id and
     * event index). Reads only labels received from the window's start until `LABEL_DELAY_ALLOWANCE_MS`
     * after its end (or `labelDelayMs` when given). Monitor passes recorded before `realizedPerformance`
     * existed call it, so it stays registered for them.
     */
    async computePerformance(input: { model: string; version: number; from: string; until: string; labelDelayMs?: number }): Promise<PerformanceSummary> {
      using progress = startProgress('computePerformance');
      const { task } = await registry.manifest(input.model, input.version).catch((err: unknown) => {
        throw asFailure(err);
      });
      const labelKeys: string[] = [];
      for (const hour of feedbackHoursForWindow(input.from, input.until, input.labelDelayMs ?? LABEL_DELAY_ALLOWANCE_MS, Date.now())) {
        labelKeys.push(...(await store.list(buckets.predictions, `${feedbackKeys.prefix}hour=${hour}/`)).map((o) => o.key).filter((k) => k.endsWith('.jsonl')));
      }
      const dir = await mkdtemp(join(tmpdir(), 'sluice-perf-'));
      try {
        using session = await openDuckDb({ tempDirectory: dir });
        const paths = await stageWindow(session, dir, input, progress);
        const labels = await stage(buckets.predictions, labelKeys, dir, progress);
        return await windowPerformance(session.db, paths, labels, input, task);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    /**
     * Realized performance of the given windows of a version (the window just ended and the earlier
     * ones due for re-judging) and the version's baseline from its manifest. The feedback hours read
     * are the union of the windows' [start, cutoff) hours, cutoff = min(now, end + label horizon):
     * listed one partition at a time, never the whole feedback prefix, and staged once for all windows.
     */
    async realizedPerformance(raw: unknown): Promise<RealizedPerformance> {
      const input = parseInput(realizedPerformanceInputSchema, raw, () => 'Invalid realized performance input');
      using progress = startProgress('realizedPerformance');
      const nowMs = Date.parse(input.asOf);
      const manifest = await registry.manifest(input.model, input.version).catch((err: unknown) => {
        throw asFailure(err);
      });
      const baseline = baselineOf(manifest);
      const windows = input.windows.map((w) => ({ ...w, labelsBefore: new Date(labelsCutoffMs(w.until, input.labelHorizonMs, nowMs)).toISOString() }));
      const hours = new Set(windows.flatMap((w) => feedbackHoursForWindow(w.from, w.until, input.labelHorizonMs, nowMs)));
      const labelKeys: string[] = [];
      for (const hour of [...hours].sort()) {
        labelKeys.push(...(await store.list(buckets.predictions, `${feedbackKeys.prefix}hour=${hour}/`)).map((o) => o.key).filter((k) => k.endsWith('.jsonl')));
        progress.report({ stage: 'listing feedback', hour });
      }
      const dir = await mkdtemp(join(tmpdir(), 'sluice-realized-'));
      try {
        using session = await openDuckDb({ tempDirectory: dir });
        const paths = await stageLogHours(
          { store, bucket: buckets.predictions, db: session.db, dir },
          { model: input.model, hours: [...new Set(windows.flatMap((w) => hoursOfWindow(w.from, w.until)))].sort(), versions: [input.version] },
          (staged) => progress.report({ stage: 'staging', staged }),
        );
        await mkdir(join(dir, 'feedback'));
        const labels = await stage(buckets.predictions, labelKeys, join(dir, 'feedback'), progress);
        const figures = await realizedWindowsPerformance(session.db, paths, labels, { model: input.model, version: input.version, task: manifest.task }, windows);
        return { baseline, windows: windows.map((w, i) => ({ from: w.from, until: w.until, labelsBefore: w.labelsBefore, ...figures[i]! })), feedbackHours: hours.size };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    /** The version the monitor watches: the champion alias, else the newest version in production. */
    async monitoredVersion(model: string): Promise<number | null> {
      try {
        const index = await registry.index(model);
        return index.aliases.champion ?? null;
      } catch (err) {
        if (err instanceof ModelNotFoundError) return null;
        throw err;
      }
    },

    async readMonitorState(model: string): Promise<MonitorState> {
      return monitorState.read(model);
    },

    async writeMonitorState(state: MonitorState): Promise<void> {
      await monitorState.write(state);
    },

    /** Whether the last retraining the monitor started still runs (the training slot would refuse a second anyway). */
    async retrainingInFlight(workflowId: string): Promise<boolean> {
      return deps.isRunning ? deps.isRunning(workflowId) : false;
    },

    /**
     * Starts a training pipeline on the newest data with the given spec, the trigger and its evidence
     * as the run's `trigger` (it lands in the manifest). The run id is derived from (model, data, spec),
     * so asking twice trains once. While the model is training already (a manual or scheduled run holds
     * its slot) nothing starts: the answer is `started: false` with the slot's id, whose run the
     * monitor then waits out like its own.
     */
    async triggerRetraining(input: { spec: unknown; trigger: { kind: 'drift-monitor'; model: string; [evidence: string]: unknown } }): Promise<{ workflowId: string; started: boolean }> {
      const outcome = await retrain(input.trigger.model, input.spec, 'drift-monitor', input.trigger);
      return outcome.status === 'already-running' ? { workflowId: trainingSlotId(outcome.model), started: false } : { workflowId: outcome.workflowId, started: outcome.status === 'started' };
    },

    /**
     * One firing of a model's retraining Schedule: trains on the newest data with the schedule's spec,
     * the trigger `{ kind: 'schedule', scheduleId }` in the lineage; while the model's training slot is
     * held it starts nothing and says so.
     */
    async retrainOnSchedule(raw: unknown): Promise<RetrainingOutcome> {
      const { model, scheduleId, spec } = parseInput(scheduledRetrainingInputSchema, raw, () => 'Invalid scheduled retraining input');
      return retrain(model, spec, `schedule ${scheduleId}`, { kind: 'schedule', scheduleId });
    },
  };
};

export type MonitoringActivities = ReturnType<typeof createMonitoringActivities>;
