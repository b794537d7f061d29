import { condition, defineQuery, defineSignal, defineUpdate, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { type ApprovalDecision, type ApprovalPolicy, type DecisionInput, approvalRefusal, approvalsSatisfy, decisionInputSchema } from '../shared/approval.ts';
import type { TrustedApprovers } from '../shared/approvers.ts';
import { type ProvenIdentity, checkDecisionProof } from '../shared/decision-proof.ts';
import { parseDurationMs } from '../shared/duration.ts';
import { describeIssues } from '../shared/parse-input.ts';

/**
 * Human approval inside a workflow. `approve` / `reject` exist both as Updates (the CLI and HTTP API
 * use them: a bad request is refused before it reaches history, and the caller learns why) and as
 * Signals (the Temporal UI and `temporal workflow signal` can send those; a signal cannot be
 * refused, so an invalid one is recorded as ignored with its reason, visible in the query).
 *
 * With `requireVerifiedIdentity` every decision must carry an Ed25519 proof by a key in the approvers
 * registry the gate was opened with; the check is deterministic, so it runs in the Update validator
 * (a forged decision is refused before history) and again, identically, when a Signal is applied.
 */

export interface ApprovalState {
  status: 'not-yet' | 'waiting' | 'escalated' | 'approved' | 'rejected';
  requiredApprovals: number;
  approvals: ApprovalDecision[];
  rejection?: ApprovalDecision;
  /** ISO time after which `onTimeout` applies, once waiting. */
  deadline?: string;
  ignoredSignals: { decision: 'approve' | 'reject'; input: unknown; reason: string; at: string }[];
  /** Present when the policy requires signed decisions: where the approvers came from and who or which roles must approve. */
  verification?: { approversRegistry: string; requiredApprovers: string[]; requiredRoles: string[] };
}

export const approveUpdate = defineUpdate<ApprovalState, [DecisionInput]>('approve');
export const rejectUpdate = defineUpdate<ApprovalState, [DecisionInput]>('reject');
export const approveSignal = defineSignal<[DecisionInput]>('approve');
export const rejectSignal = defineSignal<[DecisionInput]>('reject');
export const approvalStateQuery = defineQuery<ApprovalState>('approvalState');

export class ApprovalRefused extends Error {
  override readonly name: string = 'ApprovalRefused';
}

/** A decision without the signature the policy requires; its own failure type, so a caller that cannot sign (the API without a key) can say so. */
export class SignatureRequired extends ApprovalRefused {
  override readonly name = 'SignatureRequired';
}

export type ApprovalResult =
  | { outcome: 'approved'; approvals: ApprovalDecision[] }
  | { outcome: 'rejected'; rejection: ApprovalDecision; approvals: ApprovalDecision[] };

/** Registers the handlers at once (so early requests get a clear "not awaiting approval"), then waits on demand. */
export class ApprovalGate {
  readonly state: ApprovalState;
  /** Read once when the gate opens and kept, so every validator run judges against the same keys. */
  private trusted: TrustedApprovers | undefined;

  constructor(
    private readonly policy: ApprovalPolicy,
    private readonly requestedBy: string,
  ) {
    this.state = { status: 'not-yet', requiredApprovals: policy.requiredApprovals, approvals: [], ignoredSignals: [] };
    setHandler(approveUpdate, (input) => this.apply('approve', input, 'update'), { validator: (input) => this.check('approve', input) });
    setHandler(rejectUpdate, (input) => this.apply('reject', input, 'update'), { validator: (input) => this.check('reject', input) });
    setHandler(approveSignal, (input) => this.onSignal('approve', input));
    setHandler(rejectSignal, (input) => this.onSignal('reject', input));
    setHandler(approvalStateQuery, () => this.state);
  }

  /** Throws `ApprovalRefused` saying why this decision cannot be taken now. */
  private check(decision: 'approve' | 'reject', raw: unknown): { by: string; comment: string; verified?: ProvenIdentity } {
    if (this.state.status !== 'waiting' && this.state.status !== 'escalated') {
      throw new ApprovalRefused(`This run is not awaiting approval (approval status: ${this.state.status})`);
    }
    const parsed = decisionInputSchema.safeParse(raw);
    if (!parsed.success) throw new ApprovalRefused(describeIssues(parsed.error, 'input').join('; '));
    const { by, comment, proof } = parsed.data;
    const verified = this.verify(decision, by, comment, proof);
    const refusal = decision === 'approve' ? approvalRefusal(this.policy, this.requestedBy, this.state.approvals, by, verified) : undefined;
    if (refusal !== undefined) throw new ApprovalRefused(refusal);
    return { by, comment, ...(verified && { verified }) };
  }

  /** The verified identity behind a decision when the policy asks for one; refuses the decision when its proof fails. */
  private verify(decision: 'approve' | 'reject', by: string, comment: string, proof: DecisionInput['proof']): ProvenIdentity | undefined {
    if (!this.policy.requireVerifiedIdentity) return undefined;
    const trusted = this.trusted;
    if (!trusted) throw new ApprovalRefused('the approvers registry is not loaded yet; try again in a moment');
    const { workflowId, runId } = workflowInfo();
    const decided = [...this.state.approvals, ...(this.state.rejection ? [this.state.rejection] : [])];
    const used = new Set(decided.flatMap((d) => (d.verified ? [d.verified.signature] : [])));
    const verdict = checkDecisionProof({ by, comment, proof, expected: { workflowId, runId, decision }, now: Date.now(), trusted, used });
    if (!verdict.ok) throw verdict.unsigned ? new SignatureRequired(verdict.reason) : new ApprovalRefused(verdict.reason);
    return verdict.identity;
  }

  private apply(decision: 'approve' | 'reject', raw: DecisionInput, via: 'update' | 'signal'): ApprovalState {
    const input = this.check(decision, raw);
    const record: ApprovalDecision = { decision, by: input.by, comment: input.comment, at: new Date().toISOString(), via, ...(input.verified && { verified: input.verified }) };
    if (decision === 'reject') {
      this.state.rejection = record;
      this.state.status = 'rejected';
    } else {
      this.state.approvals.push(record);
      if (approvalsSatisfy(this.policy, this.state.approvals)) this.state.status = 'approved';
    }
    return this.state;
  }

  private onSignal(decision: 'approve' | 'reject', input: DecisionInput): void {
    try {
      this.apply(decision, input, 'signal');
    } catch (err) {
      if (!(err instanceof ApprovalRefused)) throw err;
      log.warn('ignored approval signal', { decision, reason: err.message });
      this.state.ignoredSignals.push({ decision, input, reason: err.message, at: new Date().toISOString() });
    }
  }

  /** Handlers change the state while `wait` awaits; a call reads it afresh where narrowing would not. */
  private currentStatus(): ApprovalState['status'] {
    return this.state.status;
  }

  /**
   * Opens the gate for decisions and waits. On timeout the policy either rejects at once or
   * escalates (calling `onEscalate`) and rejects after the escalation window. `trusted`: the approvers
   * registry, required when the policy requires verified identities.
   */
  async wait(onEscalate: (to: string | undefined) => Promise<void>, trusted?: TrustedApprovers): Promise<ApprovalResult> {
    if (this.policy.requireVerifiedIdentity) {
      if (!trusted) throw new Error('approval gate opened without the approvers registry its policy requires');
      this.trusted = trusted;
      this.state.verification = { approversRegistry: trusted.source, requiredApprovers: this.policy.requiredApprovers ?? [], requiredRoles: this.policy.requiredRoles ?? [] };
    }
    this.state.status = 'waiting';
    this.state.deadline = new Date(Date.now() + (parseDurationMs(this.policy.timeout) ?? 0)).toISOString();
    const settled = () => this.state.status === 'approved' || this.state.status === 'rejected';

    let decided = await condition(settled, this.policy.timeout, { summary: 'Approval deadline' });
    let reason = `no decision within ${this.policy.timeout}`;
    if (!decided && this.policy.onTimeout === 'escalate') {
      this.state.status = 'escalated';
      this.state.deadline = new Date(Date.now() + (parseDurationMs(this.policy.escalationTimeout) ?? 0)).toISOString();
      await onEscalate(this.policy.escalateTo);
      decided = await condition(settled, this.policy.escalationTimeout, { summary: 'Escalated approval deadline' });
      reason = `no decision within ${this.policy.timeout}, nor within ${this.policy.escalationTimeout} after escalation to ${this.policy.escalateTo ?? 'the escalation contact'}`;
    }
    if (!decided) {
      this.state.rejection = { decision: 'reject', by: 'sluice', comment: `auto-rejected: ${reason}`, at: new Date().toISOString(), via: 'timeout' };
      this.state.status = 'rejected';
    }
    if (this.currentStatus() === 'approved') return { outcome: 'approved', approvals: this.state.approvals };
    const rejection = this.state.rejection;
    if (!rejection) throw new Error('approval gate settled as rejected without a rejection record');
    return { outcome: 'rejected', rejection, approvals: this.state.approvals };
  }
}
