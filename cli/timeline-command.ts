import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { loadModelTimeline } from '../control/load-timeline.ts';
import { renderTimelineHtml } from '../domain/timeline/timeline-html.ts';
import { type Env, EXIT, UsageError } from './command.ts';

export const TIMELINE_HELP = {
  'models timeline': `Usage: sluice models timeline <model> [--html out.html]

Prints the model's life in order: versions with the trigger that made them (manual, schedule, drift
monitor) and who approved or rejected them, champion changes, rollouts with their steps' health
verdicts, and the drift monitor's judged windows and retrainings.
  --html FILE   also write it as one self-contained HTML page (no scripts, nothing fetched)`,
} as const;

export async function modelsTimeline(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { html: { type: 'string' } } });
  const [model] = positionals;
  if (!model || positionals.length > 1) throw new UsageError(TIMELINE_HELP['models timeline']);
  const timeline = await loadModelTimeline({ store: MinioArtifactStore.fromConfig(env.config.minio), buckets: env.config.buckets, client: env.client }, model);
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
