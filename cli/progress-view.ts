import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, type WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { PipelineOutcome } from '../shared/pipeline.ts';
import { approveUpdate } from '../workflows/approval-gate.ts';
import { type PipelineStatus, pipelineStatusQuery } from '../workflows/training-pipeline.ts';
import { TrainingProgressView, trainingHeartbeat } from './training-progress.ts';

const FINAL_STAGES = new Set(['approved', 'rejected', 'validation-failed', 'gate-failed', 'slot-busy']);

const seconds = (fromIso: string, to: number) => `${((to - Date.parse(fromIso)) / 1000).toFixed(1)} s`;

export interface FollowOptions {
  client: Client;
  taskQueue: string;
  runUrl: string;
  write: (line: string) => void;
  /** On a terminal: redraws the training progress line in place; without it, progress is a plain line per tenth of the run. */
  live?: (line: string | undefined) => void;
  /** Approve on the user's behalf when the run reaches approval (the demo's --auto-approve). */
  autoApproveAs?: string;
  pollMs?: number;
}

async function workerIsPolling(client: Client, taskQueue: string): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (res.pollers ?? []).length > 0;
}

/** The ways to decide on a run awaiting approval, as lines to print; `signed`: its policy requires signed decisions. */
export function describeApprovalPaths(workflowId: string, runUrl: string, signed = false): string[] {
  if (signed) {
    // The run's policy requires signed decisions: only paths that sign are worth printing.
    return [
      'Approve or reject it with a signed decision (this model requires a verified identity), as any of:',
      `  CLI:  npx sluice pipeline approve ${workflowId} --by <you> --key-file <your key> --comment "<why>"   (or: reject)`,
      `  UI:   ${runUrl}  → "Send a Signal", name approve (or reject), input: the JSON printed by npx sluice pipeline sign-decision ${workflowId} approve --by <you> --key-file <your key>`,
      `  HTTP: curl -X POST <api>/v1/pipelines/${workflowId}/approve -H "Authorization: Bearer <admin key>" -H 'Content-Type: application/json' -d '{"comment":"<why>"}'   (an API with SLUICE_APPROVAL_SIGNING_KEY signs for you)`,
    ];
  }
  return [
    'Approve or reject it, as any of:',
    `  CLI:  npx sluice pipeline approve ${workflowId} --by <you> --comment "<why>"   (or: reject)`,
    `  UI:   ${runUrl}  → "Send a Signal", name approve (or reject), input {"by":"<you>","comment":"<why>"}`,
    `  temporal CLI: temporal workflow update execute --workflow-id ${workflowId} --name approve --input '{"by":"<you>"}'`,
    `  HTTP: curl -X POST <api>/v1/pipelines/${workflowId}/approve -H "Authorization: Bearer <admin key>" -H 'Content-Type: application/json' -d '{"comment":"<why>"}'   (with the API running: npm run api)`,
  ];
}

function printEvaluation(status: PipelineStatus, write: (l: string) => void) {
  const ev = status.evaluation;
  if (!ev) return;
  const overall = Object.entries(ev.summary.overall).map(([k, v]) => `${k} ${Number(v).toPrecision(4)}`).join(', ');
  write(`  metrics: ${overall}`);
  if (ev.summary.champion) write(`  champion v${ev.summary.champion.version}: ${Object.entries(ev.summary.champion.overall).map(([k, v]) => `${k} ${Number(v).toPrecision(4)}`).join(', ')}`);
  for (const c of ev.gate.checks) {
    write(`  gate ${c.verdict.padEnd(7)} ${c.scope} ${c.metric} ${c.value === null ? 'n/a' : c.value.toPrecision(4)} ${c.comparator} ${c.threshold === null ? 'n/a' : c.threshold.toPrecision(4)}${c.note ? ` (${c.note})` : ''}`);
  }
}

/**
 * The live, stage-by-stage view of a run: each stage as it starts and how long it took, the
 * evaluation and gates when known, how to approve when the run waits, and the outcome.
 */
export async function followPipeline(handle: WorkflowHandle, opts: FollowOptions): Promise<PipelineOutcome> {
  const { write } = opts;
  const pollMs = opts.pollMs ?? 500;
  let printed = 0;
  let approvalShown = false;
  let lastProgressAt = Date.now();
  let warnedNoWorker = false;
  const training = new TrainingProgressView();

  const printNewStages = (status: PipelineStatus) => {
    while (printed < status.stages.length) {
      const stage = status.stages[printed];
      const previous = status.stages[printed - 1];
      if (previous && stage) write(`✔ ${previous.stage.padEnd(18)} ${seconds(previous.startedAt, Date.parse(stage.startedAt))}`);
      if (stage) write(`${FINAL_STAGES.has(stage.stage) ? '■' : '▶'} ${stage.stage}: ${stage.detail}`);
      printed++;
      lastProgressAt = Date.now();
    }
  };
  const queryStatus = async () => {
    try {
      return await handle.query(pipelineStatusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw err;
      return undefined;
    }
  };

  for (;;) {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') {
      // The last stages may have happened between two polls; a closed run still answers queries.
      const last = await queryStatus();
      if (last) printNewStages(last);
      break;
    }
    const status = await queryStatus();
    if (status) {
      printNewStages(status);
      const beat = status.stage === 'training' ? trainingHeartbeat(description) : undefined;
      if (beat && opts.live) opts.live(training.line(beat));
      else if (beat) {
        const plain = training.plainLine(beat);
        if (plain !== undefined) write(plain);
      }
      if (status.stage === 'awaiting-approval' && !approvalShown) {
        approvalShown = true;
        write(`  ${status.modelName} v${status.modelVersion ?? '?'} passed its gates and waits for approval.`);
        printEvaluation(status, write);
        if (opts.autoApproveAs) {
          write(`  --auto-approve: approving as ${opts.autoApproveAs}`);
          await handle.executeUpdate(approveUpdate, { args: [{ by: opts.autoApproveAs, comment: 'approved by --auto-approve' }] });
        } else {
          for (const line of describeApprovalPaths(handle.workflowId, opts.runUrl, status.approval.verification !== undefined)) write(`  ${line}`);
        }
      }
      if (FINAL_STAGES.has(status.stage)) break;
    }
    if (!warnedNoWorker && Date.now() - lastProgressAt > 10_000 && !(await workerIsPolling(opts.client, opts.taskQueue))) {
      warnedNoWorker = true;
      write(`  (no worker is polling task queue ${opts.taskQueue}: start one with \`npm run worker\`; the run waits until one does)`);
    }
    await sleep(pollMs);
  }
  return (await handle.result()) as PipelineOutcome;
}

/** One line per outcome, in plain words. */
export function describeOutcome(outcome: PipelineOutcome): string[] {
  switch (outcome.status) {
    case 'approved':
      return [`approved: ${outcome.modelName} v${outcome.version} (by ${outcome.decisions.map((d) => d.by).join(', ')})`, `evaluation report: ${outcome.evaluationReportKey}`];
    case 'rejected':
      return [`rejected: ${outcome.modelName} v${outcome.version}: ${outcome.reason}`, `evaluation report: ${outcome.evaluationReportKey}`];
    case 'validation-failed':
      return [`validation failed: ${outcome.failedChecks.join(', ')}`, `validation report: ${outcome.reportKey} (reports bucket)`];
    case 'gate-failed':
      return [`gates failed, nothing registered: ${outcome.gate.failed.join('; ')}`, `evaluation report: ${outcome.evaluationReportKey}`];
    case 'slot-busy':
      return [outcome.message];
  }
}
