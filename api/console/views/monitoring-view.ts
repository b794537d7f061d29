import { MonitorStateStore } from '../../../domain/monitoring/monitor-state.ts';
import { describeTrigger } from '../../../domain/timeline/model-timeline.ts';
import type { MonitoringView } from '../../../shared/api/console.ts';
import { driftReportSchema, monitoringKeys } from '../../../shared/monitoring.ts';
import type { ConsoleSources } from '../console-sources.ts';

/**
 * A model's monitoring: every judged window with its drift verdict and realized performance, the
 * drift report of one window (reference against current histogram per feature, its statistics and
 * verdicts), and the retrainings with what triggered them.
 */
export async function loadMonitoringView(sources: ConsoleSources, model: string, until?: string): Promise<MonitoringView> {
  const index = await sources.registry.index(model);
  const state = await new MonitorStateStore(sources.store, sources.buckets).read(model);
  const gaps: string[] = [];
  const window = until === undefined ? state.windows.at(-1) : state.windows.find((w) => w.until === until);
  if (until !== undefined && !window) gaps.push(`no judged window ends at ${until}`);
  let report: MonitoringView['report'] = null;
  if (window?.from !== undefined) {
    const raw = await sources.report(monitoringKeys.report(model, window.version, window.from, window.until));
    if (raw === undefined) gaps.push(`the drift report of the window ending ${window.until} is not in the reports bucket`);
    else {
      const r = driftReportSchema.parse(raw);
      report = { version: r.version, from: r.window.from, until: r.window.until, rows: r.rows, judged: r.judged, verdict: r.verdict, driftShare: r.driftShare, features: r.features, score: r.score };
    }
  }
  // Versions trained because something asked for it, with their trigger; the monitor's last start too if its version is not registered yet.
  const retrainings: MonitoringView['retrainings'] = [];
  for (const version of Object.keys(index.versions).map(Number).sort((a, b) => a - b)) {
    const manifest = await sources.registry.manifest(model, version);
    const trigger = manifest.origin.trigger;
    if (!trigger || trigger.kind === undefined) continue;
    retrainings.push({ version, at: manifest.createdAt, trigger: describeTrigger(trigger), workflowId: manifest.origin.workflowId, temporalUi: sources.runUrl(manifest.origin.workflowId) });
  }
  const last = state.lastRetrain;
  if (last && !retrainings.some((r) => r.workflowId === last.workflowId)) {
    retrainings.push({ version: null, at: last.at, trigger: 'drift monitor (not registered yet)', workflowId: last.workflowId, temporalUi: sources.runUrl(last.workflowId) });
  }
  return { model, windows: state.windows, report, retrainings, gaps };
}
