import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { startErasure } from '../../control/request-erasure.ts';
import { type EraseLoggedRowsInput, erasureMatchSchema } from '../../shared/prediction-log-erasure.ts';
import { describeIssues } from '../../shared/parse-input.ts';
import { erasureKeys } from '../../shared/storage-keys.ts';
import { type Env, EXIT, UsageError, subcommands } from '../command.ts';

const HELP = {
  erase: `Usage: sluice erase --model NAME (--request-id ID ... | --routing-key KEY ...) [--by NAME] [--reason TEXT] [--wait] [--skip-open-hours]

Erases a subject's rows from the model's prediction log (every row of the requests named, and every
row logged with the routing keys named; both options repeat) and the feedback labels of the same
requests, as a Temporal workflow (erase-<model>-<id>). Closed hours are rewritten at once; the hours
the API may still be writing are erased once they have closed (at most an hour and closed-after
later), so rows still in flight are erased too. The record (what matched, rows per file, who, when,
why; the identifiers only as SHA-256 digests) is written to the reports bucket under
erasures/model=<model>/.
  --by NAME            who asks (default: your login)
  --reason TEXT        why (recorded)
  --wait               wait for the erasure to finish and print what it did
  --skip-open-hours    erase the closed hours only; the record lists the open ones as not erased
--json with --wait prints the record: erasureId, model, requestedBy, reason, requestedAt, completedAt,
predictionLog {hoursVisited, rowsErased, requests, files}, feedback {filesVisited, rowsErased, files}, openHoursNotErased.`,
} as const;

async function erase(env: Env, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      'request-id': { type: 'string', multiple: true },
      'routing-key': { type: 'string', multiple: true },
      by: { type: 'string' },
      reason: { type: 'string' },
      wait: { type: 'boolean' },
      'skip-open-hours': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (!values.model || positionals.length > 0) throw new UsageError(HELP.erase);
  const match = erasureMatchSchema.safeParse({ requestIds: values['request-id'] ?? [], routingKeys: values['routing-key'] ?? [] });
  if (!match.success) throw new UsageError(`${describeIssues(match.error).join('; ')}\n\n${HELP.erase}`);
  if (!(await env.registry.models()).includes(values.model)) throw new UsageError(`No model '${values.model}' in the registry. List models with: sluice models list`);
  const input: EraseLoggedRowsInput = {
    model: values.model,
    match: match.data,
    requestedBy: values.by ?? userInfo().username,
    reason: values.reason ?? '',
    waitForOpenHours: !values['skip-open-hours'],
  };
  const handle = await startErasure(env, input);
  const { workflowId } = handle;
  if (!values.wait) {
    env.write(`started ${workflowId}: closed hours are erased now, the open ones once they have closed`);
    env.write(`Temporal UI: ${env.uiRunUrl(workflowId)}`);
    env.write(`record: s3://${env.config.buckets.reports}/${erasureKeys.record(values.model, workflowId)} (when it finishes)`);
    return EXIT.ok;
  }
  const record = await handle.result();
  if (values.json) {
    env.write(JSON.stringify(record, null, 2));
    return EXIT.ok;
  }
  env.write(`${workflowId}: erased ${record.predictionLog.rowsErased} prediction rows of ${record.predictionLog.requests} requests in ${record.predictionLog.files.length} files (${record.predictionLog.hoursVisited} hours read), ${record.feedback.rowsErased} feedback labels in ${record.feedback.files.length} files`);
  if (record.openHoursNotErased.length > 0) env.write(`not erased (still open): ${record.openHoursNotErased.join(', ')}; run it again once they have closed`);
  env.write(`record: s3://${env.config.buckets.reports}/${erasureKeys.record(values.model, workflowId)}`);
  return EXIT.ok;
}

export const ERASE_COMMANDS = subcommands(HELP, { erase });
