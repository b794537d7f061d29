import { deploymentState } from '../../../control/deployment-commands.ts';
import type { RolloutsView } from '../../../shared/api/console.ts';
import { deploymentWorkflowId, type RolloutRecord } from '../../../shared/deployment.ts';
import { SERVING_CONFIG_KEY, servingConfigSchema } from '../../../shared/serving-config.ts';
import type { ConsoleSources } from '../console-sources.ts';

function rolloutOf(r: RolloutRecord): RolloutsView['rollouts'][number] {
  return {
    version: r.version,
    champion: r.champion ?? null,
    by: r.by,
    startedAt: r.startedAt,
    outcome: r.outcome ?? null,
    steps: r.steps.map((s) => ({ kind: s.kind, percent: s.percent, startedAt: s.startedAt, endedAt: s.endedAt ?? null, checks: s.checks.map((c) => ({ at: c.at, verdict: c.verdict, whileBaking: c.early === true, reasons: c.reasons, figures: { ...c.figures } })) })),
  };
}

/** The split of every replica's serving config now, read from the object store (the deployment workflow's single output). */
async function currentSplit(sources: ConsoleSources, model: string): Promise<RolloutsView['split']> {
  const raw = await sources.store.get(sources.buckets.serving, SERVING_CONFIG_KEY).then(
    (body) => JSON.parse(body.toString('utf8')) as unknown,
    () => undefined,
  );
  const config = raw === undefined ? undefined : servingConfigSchema.parse(raw);
  const routes = config?.models[model];
  if (!config || !routes) return null;
  const canary = routes.canary?.percent ?? 0;
  return {
    revision: config.revision,
    routes: [
      { version: routes.primary, route: 'primary' as const, percent: 100 - canary },
      ...(routes.canary ? [{ version: routes.canary.version, route: 'canary' as const, percent: routes.canary.percent }] : []),
      ...(routes.shadow ? [{ version: routes.shadow.version, route: 'shadow' as const, percent: routes.shadow.percent }] : []),
    ],
  };
}

/** A model's rollouts, newest first, each step with its health figures and verdicts, and the traffic split now. */
export async function loadRolloutsView(sources: ConsoleSources, model: string): Promise<RolloutsView> {
  await sources.registry.index(model);
  const workflowId = deploymentWorkflowId(model);
  const gaps: string[] = [];
  const [state, split] = await Promise.all([sources.query(workflowId, (client) => deploymentState(client, model)), currentSplit(sources, model)]);
  if ('gap' in state && !state.notFound) gaps.push(`the deployment workflow ${workflowId} did not answer its state query (${state.gap})`);
  const view = 'value' in state ? state.value : undefined;
  const records = view ? [...view.history, ...(view.current ? [view.current] : [])] : [];
  return {
    model,
    deployment: { workflowId, temporalUi: sources.runUrl(workflowId), phase: view?.phase ?? null, champion: view?.champion ?? null },
    split,
    rollouts: records.map(rolloutOf).reverse(),
    gaps,
  };
}
