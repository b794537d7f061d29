import type { RolloutRecord } from '../../shared/deployment.ts';
import { describeRealized, type MonitorState, type Verdict } from '../../shared/monitoring.ts';
import type { ModelIndex, ModelManifest, ModelStatus } from '../../shared/registry.ts';

/**
 * A model's life as one ordered list of events, built from what the platform already records: the
 * registry (versions with their lineage and trigger, status changes with who and why, champion
 * moves), the deployment workflow's rollouts (steps, health verdicts, outcomes) and the drift
 * monitor's state (judged windows, retrainings it started). Pure, so it is tested without a stack.
 */

export type TimelineKind = 'registered' | 'status' | 'alias' | 'rollout' | 'rollout-step' | 'rollout-outcome' | 'drift-window' | 'retraining';

export interface TimelineEvent {
  at: string;
  kind: TimelineKind;
  /** The version the event concerns, when one does. */
  version?: number;
  title: string;
  detail: string;
  who?: string;
  verdict?: Verdict | 'healthy' | 'breach' | 'insufficient-data';
}

export interface VersionSummary {
  version: number;
  createdAt: string;
  status: ModelStatus;
  trigger: string;
  requestedBy: string;
  datasetVersion: string;
  trainer: string;
  metrics: Record<string, number>;
  approvals: { status: ModelStatus; at: string; by: string; reason: string }[];
  /** When it stopped being able to serve (rejected, archived, rolled back); absent while it still can. */
  endedAt?: string;
}

export interface ModelTimeline {
  model: string;
  generatedAt: string;
  champion?: number;
  versions: VersionSummary[];
  events: TimelineEvent[];
  /** What could not be read (e.g. the deployment workflow was not running); shown on the page. */
  gaps: string[];
}

export interface TimelineSources {
  model: string;
  index: ModelIndex;
  manifests: ModelManifest[];
  rollouts: RolloutRecord[];
  monitor: MonitorState | null;
  gaps: string[];
  now: Date;
}

const text = (value: unknown) => (typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value));

/** One line saying why a version exists, from its manifest's `origin.trigger`. */
export function describeTrigger(trigger: Record<string, unknown> | undefined): string {
  if (!trigger) return 'unknown';
  const kind = text(trigger.kind) || 'unknown';
  switch (kind) {
    case 'drift-monitor':
      return `drift monitor: ${text(trigger.reason) || 'thresholds tripped'}`;
    case 'schedule':
      return `schedule ${text(trigger.scheduleId)}`;
    case 'manual':
      return `manual${trigger.reason ? `: ${text(trigger.reason)}` : ''}`;
    default:
      return kind;
  }
}

const DECISIONS: ReadonlySet<ModelStatus> = new Set(['approved', 'rejected']);
const ENDED: ReadonlySet<ModelStatus> = new Set(['rejected', 'archived', 'rolled-back']);

export function buildTimeline(sources: TimelineSources): ModelTimeline {
  const { index, manifests, rollouts, monitor } = sources;
  const events: TimelineEvent[] = [];
  const versions: VersionSummary[] = [];

  for (const manifest of [...manifests].sort((a, b) => a.version - b.version)) {
    const trigger = manifest.origin.trigger;
    const history = index.versions[String(manifest.version)]?.history ?? [];
    const requestedBy = text(trigger?.requestedBy);
    const last = history.at(-1);
    versions.push({
      version: manifest.version,
      createdAt: manifest.createdAt,
      status: last?.status ?? 'candidate',
      ...(last && ENDED.has(last.status) ? { endedAt: last.at } : {}),
      trigger: describeTrigger(trigger),
      requestedBy,
      datasetVersion: manifest.datasetVersion,
      trainer: manifest.trainer.kind,
      metrics: manifest.metrics,
      approvals: history.filter((h) => DECISIONS.has(h.status)),
    });
    events.push({
      at: manifest.createdAt,
      kind: 'registered',
      version: manifest.version,
      title: `v${manifest.version} registered`,
      detail: `trigger: ${describeTrigger(trigger)}; dataset ${manifest.datasetVersion.slice(0, 12)}; ${manifest.trainer.kind}; run ${manifest.origin.workflowId}`,
      ...(requestedBy ? { who: requestedBy } : {}),
    });
  }

  for (const [version, entry] of Object.entries(index.versions)) {
    // The first entry is the registration, already an event of its own.
    for (const change of entry.history.slice(1)) {
      events.push({ at: change.at, kind: 'status', version: Number(version), title: `v${version} ${change.status}`, detail: change.reason, who: change.by });
    }
  }

  for (const change of index.aliasHistory) {
    events.push({
      at: change.at,
      kind: 'alias',
      ...(change.version !== null ? { version: change.version } : {}),
      title: change.version === null ? `${change.alias} cleared` : `${change.alias} → v${change.version}`,
      detail: change.reason,
      who: change.by,
    });
  }

  for (const rollout of rollouts) {
    events.push({
      at: rollout.startedAt,
      kind: 'rollout',
      version: rollout.version,
      title: `rollout of v${rollout.version} started`,
      detail: `${rollout.champion === undefined ? 'first version' : `against champion v${rollout.champion}`}${rollout.reason ? `: ${rollout.reason}` : ''}`,
      who: rollout.by,
    });
    for (const step of rollout.steps) {
      const last = step.checks.at(-1);
      events.push({
        at: step.startedAt,
        kind: 'rollout-step',
        version: rollout.version,
        title: `v${rollout.version} ${step.kind} ${step.percent}%`,
        detail: last ? `${last.verdict}${last.reasons.length ? `: ${last.reasons.join('; ')}` : ''} (${last.figures.candidate.samples} samples)` : 'not judged yet',
        ...(last ? { verdict: last.verdict } : {}),
      });
    }
    if (rollout.outcome) {
      events.push({ at: rollout.outcome.at, kind: 'rollout-outcome', version: rollout.version, title: `v${rollout.version} ${rollout.outcome.kind}`, detail: rollout.outcome.reason, who: rollout.outcome.by });
    }
  }

  for (const window of monitor?.windows ?? []) {
    events.push({
      at: window.until,
      kind: 'drift-window',
      version: window.version,
      title: `drift ${window.verdict}${window.performance === 'breach' ? ', performance breach' : ''} (v${window.version})`,
      detail: `window ending ${window.until}${window.rocAuc === null && window.labelled === undefined ? '' : `; ${describeRealized(window)}`}`,
      verdict: window.performance === 'breach' ? 'breach' : window.verdict,
    });
  }
  if (monitor?.lastRetrain) {
    events.push({ at: monitor.lastRetrain.at, kind: 'retraining', title: 'drift monitor started a retraining', detail: `run ${monitor.lastRetrain.workflowId}`, who: 'drift-monitor' });
  }

  // Stable order: by time, then in the order recorded (a registration before its own approval at the same instant).
  const ordered = events.map((e, i) => ({ e, i })).sort((a, b) => Date.parse(a.e.at) - Date.parse(b.e.at) || a.i - b.i).map(({ e }) => e);
  return {
    model: sources.model,
    generatedAt: sources.now.toISOString(),
    ...(index.aliases.champion !== undefined ? { champion: index.aliases.champion } : {}),
    versions,
    events: ordered,
    gaps: sources.gaps,
  };
}
