import type { KeyObject } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { approveUpdate, rejectUpdate, type ApprovalState } from '../../workflows/approval-gate.ts';
import { ed25519PrivateKey, signDecision } from '../../domain/approvals/sign-decision.ts';
import { ConfigError } from '../../shared/config.ts';
import type { Decision } from '../../shared/approval.ts';
import type { Logger } from '../../shared/logger.ts';
import { readPemFile } from '../../shared/pem-file.ts';
import { ApiError } from '../errors.ts';
import type { TemporalLink } from '../temporal/temporal-link.ts';

export type { Decision } from '../../shared/approval.ts';

/** The API's delegate key: it signs for the key holder the API authenticated. */
export interface ApprovalSigner {
  signerId: string;
  key: KeyObject;
}

/** SLUICE_APPROVAL_SIGNING_KEY read at start-up, so a wrong file stops the API instead of failing the first approval. */
export function loadApprovalSigner(setting: { keyFile: string; signerId: string } | undefined): ApprovalSigner | undefined {
  if (setting === undefined) return undefined;
  const pem = readPemFile('SLUICE_APPROVAL_SIGNING_KEY', setting.keyFile);
  try {
    return { signerId: setting.signerId, key: ed25519PrivateKey(pem) };
  } catch (err) {
    throw new ConfigError([`SLUICE_APPROVAL_SIGNING_KEY=${setting.keyFile}: ${(err as Error).message} (make one with: sluice approvers keygen --id ${setting.signerId} --out FILE)`]);
  }
}

/**
 * Relays approval decisions to a pipeline run's `approve` / `reject` Update. With a signer, each
 * decision carries a proof signed for this run (its run id is read first, and the Update is sent to
 * that run), so a policy requiring verified identities accepts the key holder's decision.
 */
export class ApprovalRelay {
  constructor(
    private readonly temporal: TemporalLink,
    private readonly log: Logger,
    private readonly signer?: ApprovalSigner,
  ) {}

  async decide(workflowId: string, decision: Decision, input: { by: string; comment: string }): Promise<ApprovalState> {
    try {
      return await this.temporal.run(async (client) => {
        const { runId } = await client.workflow.getHandle(workflowId).describe();
        const signer = this.signer;
        const proof = signer && signDecision(signer.key, { workflowId, runId, decision, approver: input.by, comment: input.comment, signedAt: new Date().toISOString() }, signer.signerId);
        return client.workflow.getHandle(workflowId, runId).executeUpdate(decision === 'approve' ? approveUpdate : rejectUpdate, { args: [{ ...input, ...(proof && { proof }) }] });
      });
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (err instanceof WorkflowNotFoundError) throw new ApiError('PipelineNotFound', `no pipeline run with id "${workflowId}"`, { field: 'path.id' });
      if (err instanceof WorkflowUpdateFailedError) {
        const reason = err.cause instanceof Error ? err.cause.message : err.message;
        // Without a key this API cannot vouch for anyone; say so rather than leave the caller guessing.
        const unsigned = err.cause instanceof ApplicationFailure && err.cause.type === 'SignatureRequired';
        const hint = unsigned && !this.signer ? ' (this API signs no decisions: SLUICE_APPROVAL_SIGNING_KEY is unset)' : '';
        throw new ApiError('ApprovalRefused', `refused: ${reason}${hint}`, { cause: err });
      }
      this.log.warn('approval relay failed', { workflowId, decision, error: (err as Error).message });
      throw new ApiError('TemporalUnavailable', `Temporal did not take the decision: ${(err as Error).message}`, { retryAfterSeconds: 5, cause: err });
    }
  }
}
