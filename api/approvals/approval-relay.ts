import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { approveUpdate, rejectUpdate, type ApprovalState } from '../../workflows/approval-gate.ts';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { ApiError } from '../errors.ts';

export type Decision = 'approve' | 'reject';

/**
 * Relays approval decisions to a pipeline run's `approve` / `reject` Update: the only part of the API
 * that talks to Temporal. It connects on first use, not at start-up, so the API starts and serves
 * predictions while Temporal is down; a failed connection is dropped and tried afresh next time.
 */
export class ApprovalRelay {
  private client: Promise<{ connection: Connection; client: Client }> | undefined;

  constructor(
    private readonly temporal: Config['temporal'],
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  private connect(): Promise<{ connection: Connection; client: Client }> {
    // Within the request's deadline, so the caller learns "Temporal unreachable" rather than a bare timeout.
    this.client ??= Connection.connect({ address: this.temporal.address, connectTimeout: Math.min(this.timeoutMs / 2, 5000) }).then(
      (connection) => ({ connection, client: new Client({ connection, namespace: this.temporal.namespace }) }),
      (err: unknown) => {
        this.client = undefined;
        throw new ApiError('TemporalUnavailable', `cannot reach Temporal at ${this.temporal.address}: ${(err as Error).message}; predictions are unaffected`, { retryAfterSeconds: 5, cause: err });
      },
    );
    return this.client;
  }

  async decide(workflowId: string, decision: Decision, input: { by: string; comment: string }): Promise<ApprovalState> {
    const deadline = Date.now() + this.timeoutMs * 0.9;
    const { connection, client } = await this.connect();
    try {
      return await connection.withDeadline(deadline, () =>
        client.workflow.getHandle(workflowId).executeUpdate(decision === 'approve' ? approveUpdate : rejectUpdate, { args: [input] }),
      );
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ApiError('PipelineNotFound', `no pipeline run with id "${workflowId}"`, { field: 'path.id' });
      if (err instanceof WorkflowUpdateFailedError) {
        throw new ApiError('ApprovalRefused', `refused: ${err.cause instanceof Error ? err.cause.message : err.message}`, { cause: err });
      }
      this.log.warn('approval relay failed', { workflowId, decision, error: (err as Error).message });
      throw new ApiError('TemporalUnavailable', `Temporal did not take the decision: ${(err as Error).message}`, { retryAfterSeconds: 5, cause: err });
    }
  }

  async close(): Promise<void> {
    const pending = this.client;
    this.client = undefined;
    const connected = await pending?.catch(() => undefined);
    await connected?.connection.close();
  }
}
