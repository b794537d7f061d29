import type { EvaluationView } from '../../../shared/api/console.ts';
import { evaluationReportSchema, gateReportSchema, scoredChampionSchema } from '../../../shared/evaluation-report.ts';
import { ApiError } from '../../errors.ts';
import type { ConsoleSources } from '../console-sources.ts';

/** The numbers of a stored metrics record (nested records such as the confusion matrix are read where needed). */
function numbers(record: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(record)) if (typeof value === 'number') out[name] = value;
  // Binary reports keep precision, recall and F1 at the threshold in a nested record.
  const at = record.atThreshold;
  if (at && typeof at === 'object') for (const name of ['precision', 'recall', 'f1'] as const) if (typeof (at as Record<string, unknown>)[name] === 'number') out[name] = (at as Record<string, number>)[name] as number;
  return out;
}

function confusionOf(overall: Record<string, unknown>): EvaluationView['confusion'] {
  const { classes, confusion } = overall;
  if (!Array.isArray(classes) || !Array.isArray(confusion)) return null;
  return { classes: classes.map(String), counts: confusion.map((row) => (Array.isArray(row) ? row.map(Number) : [])) };
}

/**
 * A version's evaluation as its run stored it: the figures, the chart points and the gate verdicts.
 * Nothing is recomputed; a report written before curve points existed shows its figures without curves.
 */
export async function loadEvaluationView(sources: ConsoleSources, name: string, version: number): Promise<EvaluationView> {
  const manifest = await sources.registry.manifest(name, version);
  const reportKey = manifest.reports.evaluation;
  const raw = reportKey === undefined ? undefined : await sources.report(reportKey);
  if (raw === undefined) throw new ApiError('UnknownModel', `${name} v${version} has no stored evaluation report`, { field: 'path.version' });
  const report = evaluationReportSchema.parse(raw);
  const gatesRaw = manifest.reports.gates === undefined ? undefined : await sources.report(manifest.reports.gates);
  const gates = gatesRaw === undefined ? undefined : gateReportSchema.parse(gatesRaw);
  const champion = scoredChampionSchema.safeParse(report.champion);
  return {
    model: name,
    version,
    labelKind: report.labelKind ?? 'binary',
    runId: report.runId,
    temporalUi: sources.runUrl(manifest.origin.workflowId),
    testRows: report.testRows,
    threshold: report.threshold ?? null,
    overall: numbers(report.overall),
    curves: report.curves ?? null,
    champion: champion.success
      ? { version: champion.data.version, overall: numbers(champion.data.overall), curves: champion.data.curves ?? null }
      : { skipped: String((report.champion as { skipped?: unknown }).skipped) },
    slices: report.slices.map((s) => ({ name: `${s.slice}=${s.value}`, rows: s.rows, metrics: s.metrics ? numbers(s.metrics) : {}, ...(s.note === undefined ? {} : { note: s.note }) })),
    sliceGates: (gates?.gates.slices ?? []).map((g) => ({ metric: g.metric, ...(g.min === undefined ? {} : { min: g.min }), ...(g.max === undefined ? {} : { max: g.max }), ...(g.minRows === undefined ? {} : { minRows: g.minRows }) })),
    gate: gates ? { passed: gates.outcome.passed, checks: gates.outcome.checks } : null,
    confusion: confusionOf(report.overall),
  };
}
