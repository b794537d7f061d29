import { parseArgs } from 'node:util';
import { scoreBatch } from '../../control/batch-scoring-commands.ts';
import type { BatchScoringProgress } from '../../workflows/batch-scoring.ts';
import { type Env, EXIT, UsageError, positiveInt, subcommands } from '../command.ts';
import { progressBar } from '../training-progress.ts';

const HELP = {
  score: `Usage: sluice score <model> <input> [--version N] [--out PREFIX] [--feature-columns] [--json]

Scores a Parquet file of raw events (the fields a predict request carries; GET /v1/models/<model>
lists them) with the model's champion, or --version N, through the batchScoring workflow on the
scoring worker (npm run worker:scoring): the workflow computes each event's features with the same
shared definitions and newest online snapshot the API serves with, then scores them in chunks.
Waits, then prints where the scored parts are. Asking again for the same model, version and input
attaches to the same job, which skips the parts it has written.
  <input>            a local Parquet file (uploaded to the predictions bucket) or s3://bucket/key
  --version N        the model version (default: the champion)
  --out PREFIX       output prefix in the predictions bucket (default: batch/<job id>/)
  --feature-columns  the input holds the model's feature columns already (no feature computation)
  --json             the job's result: {jobId, model, version, rows, output: {bucket, prefix, keys},
                     providers, manifestKey, featurized?: {key, rows, snapshotKey, asOf}, chunks}

Each output row keeps the input's columns (a feature of the same name replaces one), the features,
and the model's columns as the prediction log names them: score, and value (regression) or class and
probabilities (multiclass), with model and model_version.`,
} as const;

/** The job's progress: a redrawn line on a terminal; otherwise a line per stage and per quarter of the chunks. */
export function progressReporter(env: Pick<Env, 'live' | 'write'>): (progress: BatchScoringProgress) => void {
  let lastPlain = '';
  return (p) => {
    const line =
      p.stage === 'scoring' && p.chunks
        ? `scoring ${progressBar(p.chunksDone / p.chunks)} ${p.chunksDone}/${p.chunks} chunks of ${p.rows ?? '?'} rows`
        : ({ featurizing: 'computing the events\' features from the online snapshot', planning: 'planning chunks', scoring: 'scoring', done: 'writing the manifest' } as const)[p.stage];
    if (env.live) return env.live(line);
    const plain = p.stage === 'scoring' && p.chunks ? `scoring: ${Math.floor((4 * p.chunksDone) / p.chunks) * 25}% of ${p.chunks} chunks` : line;
    if (plain !== lastPlain) env.write((lastPlain = plain));
  };
}

async function score(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { version: { type: 'string' }, out: { type: 'string' }, 'feature-columns': { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const [model, input] = positionals;
  if (!model || !input || positionals.length > 2) throw new UsageError(HELP.score);
  const version = values.version === undefined ? undefined : positiveInt('version', values.version, 1);
  if (!values.json) env.write(`scoring ${input} with ${model}${version === undefined ? ' (champion)' : ` v${version}`} on task queue ${env.config.taskQueues.scoring}...`);
  const { workflowId, result } = await scoreBatch(
    { client: env.client, config: env.config, store: env.store, ...(values.json ? {} : { onProgress: progressReporter(env) }) },
    { model, input, inputKind: values['feature-columns'] ? 'features' : 'events', ...(version !== undefined ? { version } : {}), ...(values.out !== undefined ? { out: values.out } : {}) },
  );
  env.live?.(undefined);
  if (values.json) {
    env.write(JSON.stringify(result, null, 2));
    return EXIT.ok;
  }
  if (result.featurized) env.write(`features of ${result.featurized.rows} events from online snapshot ${result.featurized.snapshotKey ?? '(none: no windowed aggregates)'} as of ${result.featurized.asOf}`);
  const skipped = result.chunks.filter((c) => c.skipped).length;
  env.write(`scored ${result.rows} rows with ${result.model} v${result.version} in ${result.chunks.length} part(s)${skipped ? ` (${skipped} already written)` : ''} on ${result.providers.join(', ') || 'no new work'}`);
  env.write(`  s3://${result.output.bucket}/${result.output.prefix} (manifest ${result.manifestKey})`);
  env.write(`Temporal UI: ${env.uiRunUrl(workflowId)}`);
  return EXIT.ok;
}

export const SCORE_COMMANDS = subcommands(HELP, { score });
