import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModelTimeline } from '../../control/load-timeline.ts';
import { renderTimelineHtml } from '../../domain/timeline/timeline-html.ts';
import { type Env, EXIT, type StoreEnv, UsageError, subcommands, withoutTemporal } from '../command.ts';

const HELP = {
  'models list': `Usage: sluice models list [--json]

Lists registered models with their versions, statuses and aliases. Reads only the object store, so it
works with Temporal down.
  --json   one JSON document: [{name, latestVersion, aliases: {champion?, challenger?}, versions: [{version, status}]}]`,
  'models show': `Usage: sluice models show <name> [version] [--json]

Shows a model's versions, or one version's manifest (lineage, metrics, ONNX hash) and status history
(always JSON). Reads only the object store.
  --json   the versions as [{version, status, at, by, aliases}]`,
  'models timeline': `Usage: sluice models timeline <model> [--html out.html] [--json]

Prints the model's life in order: versions with the trigger that made them (manual, schedule, drift
monitor) and who approved or rejected them, champion changes, rollouts with their steps' health
verdicts, and the drift monitor's judged windows and retrainings.
  --html FILE   also write it as one self-contained HTML page (no scripts, nothing fetched)
  --json        the timeline as one JSON document (the same object the HTTP API's timeline route answers)`,
} as const;

async function modelsList(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const models = [];
  for (const name of await env.registry.models()) {
    const index = await env.registry.index(name);
    models.push({
      name,
      latestVersion: index.latestVersion,
      aliases: index.aliases,
      versions: Object.entries(index.versions).map(([version, entry]) => ({ version: Number(version), status: entry.history.at(-1)?.status ?? null })),
    });
  }
  if (values.json) {
    env.write(JSON.stringify(models, null, 2));
    return EXIT.ok;
  }
  if (models.length === 0) env.write('no models registered yet');
  for (const model of models) {
    const aliases = Object.entries(model.aliases).map(([a, v]) => `${a}=v${v}`).join(' ');
    const statuses = model.versions.map((v) => `v${v.version}:${v.status ?? '?'}`).join(' ');
    env.write(`${model.name}  ${model.latestVersion} version(s)  ${aliases}  ${statuses}`);
  }
  return EXIT.ok;
}

async function modelsShow(env: StoreEnv, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  const [name, versionArg] = positionals;
  if (!name) throw new UsageError(HELP['models show']);
  if (versionArg === undefined) {
    const index = await env.registry.index(name);
    const versions = Object.entries(index.versions).map(([version, entry]) => {
      const last = entry.history.at(-1);
      const aliases = Object.entries(index.aliases).filter(([, v]) => String(v) === version).map(([a]) => a);
      return { version: Number(version), status: last?.status ?? null, at: last?.at ?? null, by: last?.by ?? null, aliases };
    });
    if (values.json) env.write(JSON.stringify(versions, null, 2));
    for (const v of values.json ? [] : versions) {
      env.write(`v${v.version}  ${v.status ?? '?'}  ${v.at ? `${v.at} by ${v.by}` : ''}${v.aliases.length ? `  [${v.aliases.join(', ')}]` : ''}`);
    }
    return EXIT.ok;
  }
  const version = Number(versionArg);
  if (!Number.isInteger(version) || version < 1) throw new UsageError(`version must be a positive whole number, got '${versionArg}'`);
  const view = await env.registry.view(name, version);
  env.write(JSON.stringify({ status: view.status, aliases: view.aliases, manifest: view.manifest, history: view.history }, null, 2));
  return EXIT.ok;
}

async function modelsTimeline(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { html: { type: 'string' }, json: { type: 'boolean' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1) throw new UsageError(HELP['models timeline']);
  const timeline = await loadModelTimeline({ store: env.store, buckets: env.config.buckets, client: env.client }, model);
  if (values.json) {
    env.write(JSON.stringify(timeline, null, 2));
    return EXIT.ok;
  }
  env.write(`${model}: ${timeline.versions.length} version(s), champion ${timeline.champion === undefined ? 'none' : `v${timeline.champion}`}`);
  for (const e of timeline.events) {
    env.write(`${e.at}  ${e.title}${e.who ? ` (by ${e.who})` : ''}${e.detail ? `: ${e.detail}` : ''}`);
  }
  for (const gap of timeline.gaps) env.write(`not shown: ${gap}`);
  if (values.html) {
    const path = resolve(values.html);
    try {
      writeFileSync(path, renderTimelineHtml(timeline));
    } catch (err) {
      throw new UsageError(`Cannot write ${path}: ${(err as Error).message}`);
    }
    env.write(`wrote ${path}`);
  }
  return EXIT.ok;
}

export const MODELS_COMMANDS = subcommands(HELP, {
  'models list': withoutTemporal(modelsList),
  'models show': withoutTemporal(modelsShow),
  'models timeline': modelsTimeline,
});
