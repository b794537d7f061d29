import { condition, defineQuery, defineSignal, defineUpdate, log, setHandler } from '@temporalio/workflow';
import { type ApprovalDecision, type ApprovalPolicy, type DecisionInput, decisionInputSchema } from '../shared/approval.ts';
import { parseDurationMs } from '../shared/duration.ts';
import { describeIssues } from '../shared/parse-input.ts';

/**
 * Human approval inside a workflow. `approve` / `reject` exist both as Updates (the CLI and HTTP API
 * use them: a bad request is refused before it reaches history, and the caller learns why) and as
 * Signals (the Temporal UI and `temporal workflow signal` can send those; a signal cannot be
 * refused, so an invalid one is recorded as ignored with its reason, visible in the query).
 */

export interface ApprovalState {
  status: 'not-yet' | 'waiting' | 'escalated' | 'approved' | 'rejected';
  requiredApprovals: number;
  approvals: ApprovalDecision[];
  rejection?: ApprovalDecision;
  /** ISO time after which `onTimeout` applies, once waiting. */
  deadline?: string;
  ignoredSignals: { decision: 'approve' | 'reject'; input: unknown; reason: string; at: string }[];
}

export const approveUpdate = defineUpdate<ApprovalState, [DecisionInput]>('approve');
export const rejectUpdate = defineUpdate<ApprovalState, [DecisionInput]>('reject');
export const approveSignal = defineSignal<[DecisionInput]>('approve');
export const rejectSignal = defineSignal<[DecisionInput]>('reject');
export const approvalStateQuery = defineQuery<ApprovalState>('approvalState');

export class ApprovalRefused extends Error {
  override readonly name = 'ApprovalRefused';
}

export type ApprovalResult =
  | { outcome: 'approved'; approvals: ApprovalDecision[] }
  | { outcome: 'rejected'; rejection: ApprovalDecision; approvals: ApprovalDecision[] };

/** Registers the handlers at once (so early requests get a clear "not awaiting approval"), then waits on demand. */
export class ApprovalGate {
  readonly state: ApprovalState;

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
  private check(decision: 'approve' | 'reject', raw: unknown): DecisionInput & { comment: string } {
    if (this.state.status !== 'waiting' && this.state.status !== 'escalated') {
      throw new ApprovalRefused(`This run is not awaiting approval (approval status: ${this.state.status})`);
    }
    const parsed = decisionInputSchema.safeParse(raw);
    if (!parsed.success) throw new ApprovalRefused(describeIssues(parsed.error, 'input').join('; '));
    const { by } = parsed.data;
    if (decision === 'approve') {
      if (this.policy.forbidSelfApproval && by === this.requestedBy) {
        throw new ApprovalRefused(`${by} requested this run and cannot approve it (policy forbidSelfApproval); ask someone else`);
      }
      if (this.state.approvals.some((a) => a.by === by)) {
        throw new ApprovalRefused(`${by} has already approved; ${this.policy.requiredApprovals} distinct approvers are required`);
      }
    }
    return parsed.data;
  }

  private apply(decision: 'approve' | 'reject', raw: DecisionInput, via: 'update' | 'signal'): ApprovalState {
    const input = this.check(decision, raw);
    const record: ApprovalDecision = { decision, by: input.by, comment: input.comment, at: new Date().toISOString(), via };
    if (decision === 'reject') {
      this.state.rejection = record;
      this.state.status = 'rejected';
    } else {
      this.state.approvals.push(record);
      if (this.state.approvals.length >= this.policy.requiredApprovals) this.state.status = 'approved';
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
   * escalates (calling `onEscalate`) and rejects after the escalation window.
   */
  async wait(onEscalate: (to: string | undefined) => Promise<void>): Promise<ApprovalResult> {
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
