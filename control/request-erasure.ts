import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../shared/config.ts';
import { type EraseLoggedRowsInput, eraseWorkflowId } from '../shared/prediction-log-erasure.ts';
import type { eraseLoggedRows } from '../workflows/erase-logged-rows.ts';

/** Starts an erasure (`eraseLoggedRows`) on the pipeline task queue under a fresh id: each request is its own run and record. */
export async function startErasure(deps: { client: Client; config: Config }, input: EraseLoggedRowsInput): Promise<WorkflowHandle<typeof eraseLoggedRows>> {
  return deps.client.workflow.start<typeof eraseLoggedRows>('eraseLoggedRows', { taskQueue: deps.config.taskQueues.pipeline, workflowId: eraseWorkflowId(input.model, randomUUID()), args: [input] });
}
