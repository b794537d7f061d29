import { describeTrigger } from '../../../domain/timeline/model-timeline.ts';
import type { ModelDetailView, VersionDetail } from '../../../shared/api/console.ts';
import type { ModelManifest } from '../../../shared/registry.ts';
import { ApiError } from '../../errors.ts';
import type { ConsoleSources } from '../console-sources.ts';

/** Metrics of two versions side by side, every metric either has, in name order; `delta` is b − a. */
export function compareMetrics(a: Record<string, number>, b: Record<string, number>): NonNullable<ModelDetailView['comparison']>['metrics'] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().map((metric) => {
    const x = a[metric] ?? null;
    const y = b[metric] ?? null;
    return { metric, a: x, b: y, delta: x === null || y === null ? null : y - x };
  });
}

/** The two versions compared when the request names none: the champion (or the oldest) against the newest. */
function defaultPair(versions: readonly number[], champion: number | undefined): [number, number] | undefined {
  const newest = versions.at(-1);
  const base = champion !== undefined && champion !== newest ? champion : versions[0];
  return newest === undefined || base === undefined || base === newest ? undefined : [base, newest];
}

const versionParam = (value: unknown, field: string): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ApiError('InvalidRequest', `${field} must be a version number`, { field: `query.${field}` });
  return n;
};

/** A model's versions with their status history and lineage, and two of them compared metric by metric. */
export async function loadModelView(sources: ConsoleSources, name: string, query: { a?: unknown; b?: unknown }): Promise<ModelDetailView> {
  const index = await sources.registry.index(name);
  const numbers = Object.keys(index.versions).map(Number).sort((x, y) => x - y);
  const manifests = new Map<number, ModelManifest>((await Promise.all(numbers.map(async (v) => [v, await sources.registry.manifest(name, v)] as const))));
  const versions: VersionDetail[] = numbers.map((v) => {
    const m = manifests.get(v) as ModelManifest;
    const history = index.versions[String(v)]?.history ?? [];
    return {
      version: v,
      status: history.at(-1)?.status ?? 'candidate',
      createdAt: m.createdAt,
      history,
      lineage: {
        datasetVersion: m.datasetVersion,
        featureDefinitionHash: m.featureDefinitionHash,
        codeVersion: m.codeVersion,
        trainer: m.trainer.kind,
        hyperparameters: m.trainer.hyperparameters,
        seed: m.seed,
        trigger: describeTrigger(m.origin.trigger),
        workflowId: m.origin.workflowId,
        temporalUi: sources.runUrl(m.origin.workflowId),
      },
      metrics: m.metrics,
      hasEvaluation: m.reports.evaluation !== undefined,
    };
  });
  const asked = [versionParam(query.a, 'a'), versionParam(query.b, 'b')] as const;
  const pair = asked[0] !== undefined && asked[1] !== undefined ? ([asked[0], asked[1]] as const) : defaultPair(numbers, index.aliases.champion);
  let comparison: ModelDetailView['comparison'] = null;
  if (pair) {
    const [a, b] = pair;
    const ma = manifests.get(a);
    const mb = manifests.get(b);
    if (!ma || !mb) throw new ApiError('UnknownModel', `model "${name}" has no version ${ma ? b : a}`, { field: ma ? 'query.b' : 'query.a' });
    comparison = { a, b, metrics: compareMetrics(ma.metrics, mb.metrics) };
  }
  return { name, champion: index.aliases.champion ?? null, versions, comparison };
}
