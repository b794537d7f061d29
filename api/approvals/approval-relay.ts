import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { approveUpdate, rejectUpdate, type ApprovalState } from '../../workflows/approval-gate.ts';
import type { Logger } from '../../shared/logger.ts';
import { ApiError } from '../errors.ts';
import type { TemporalLink } from '../temporal/temporal-link.ts';

export type Decision = 'approve' | 'reject';

/** Relays approval decisions to a pipeline run's `approve` / `reject` Update. */
export class ApprovalRelay {
  constructor(
    private readonly temporal: TemporalLink,
    private readonly log: Logger,
  ) {}

  async decide(workflowId: string, decision: Decision, input: { by: string; comment: string }): Promise<ApprovalState> {
    try {
      return await this.temporal.run((client) => client.workflow.getHandle(workflowId).executeUpdate(decision === 'approve' ? approveUpdate : rejectUpdate, { args: [input] }));
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (err instanceof WorkflowNotFoundError) throw new ApiError('PipelineNotFound', `no pipeline run with id "${workflowId}"`, { field: 'path.id' });
      if (err instanceof WorkflowUpdateFailedError) {
        throw new ApiError('ApprovalRefused', `refused: ${err.cause instanceof Error ? err.cause.message : err.message}`, { cause: err });
      }
      this.log.warn('approval relay failed', { workflowId, decision, error: (err as Error).message });
      throw new ApiError('TemporalUnavailable', `Temporal did not take the decision: ${(err as Error).message}`, { retryAfterSeconds: 5, cause: err });
    }
  }
}
