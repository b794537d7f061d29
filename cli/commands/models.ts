import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModelTimeline } from '../../control/load-timeline.ts';
import { renderTimelineHtml } from '../../domain/timeline/timeline-html.ts';
import { type Env, EXIT, UsageError, subcommands } from '../command.ts';

const HELP = {
  'models list': `Usage: sluice models list

Lists registered models with their versions, statuses and aliases.`,
  'models show': `Usage: sluice models show <name> [version]

Shows a model's versions, or one version's manifest (lineage, metrics, ONNX hash) and status history.`,
  'models timeline': `Usage: sluice models timeline <model> [--html out.html]

Prints the model's life in order: versions with the trigger that made them (manual, schedule, drift
monitor) and who approved or rejected them, champion changes, rollouts with their steps' health
verdicts, and the drift monitor's judged windows and retrainings.
  --html FILE   also write it as one self-contained HTML page (no scripts, nothing fetched)`,
} as const;

async function modelsList(env: Env): Promise<number> {
  const names = await env.registry.models();
  if (names.length === 0) env.write('no models registered yet');
  for (const name of names) {
    const index = await env.registry.index(name);
    const aliases = Object.entries(index.aliases).map(([a, v]) => `${a}=v${v}`).join(' ');
    const statuses = Object.entries(index.versions).map(([v, e]) => `v${v}:${e.history.at(-1)?.status ?? '?'}`).join(' ');
    env.write(`${name}  ${index.latestVersion} version(s)  ${aliases}  ${statuses}`);
  }
  return EXIT.ok;
}

async function modelsShow(env: Env, args: string[]): Promise<number> {
  const [name, versionArg] = parseArgs({ args, allowPositionals: true }).positionals;
  if (!name) throw new UsageError(HELP['models show']);
  if (versionArg === undefined) {
    const index = await env.registry.index(name);
    for (const [version, entry] of Object.entries(index.versions)) {
      const last = entry.history.at(-1);
      const aliases = Object.entries(index.aliases).filter(([, v]) => String(v) === version).map(([a]) => a);
      env.write(`v${version}  ${last?.status ?? '?'}  ${last ? `${last.at} by ${last.by}` : ''}${aliases.length ? `  [${aliases.join(', ')}]` : ''}`);
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
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { html: { type: 'string' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1) throw new UsageError(HELP['models timeline']);
  const timeline = await loadModelTimeline({ store: env.store, buckets: env.config.buckets, client: env.client }, model);
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
  'models list': modelsList,
  'models show': modelsShow,
  'models timeline': modelsTimeline,
});
