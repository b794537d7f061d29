import { ed25519 } from '@noble/curves/ed25519.js';
import { hexToBytes } from '@noble/curves/utils.js';
import type { DecisionProof, VerifiedIdentity } from './approval.ts';
import type { TrustedApprovers } from './approvers.ts';
import { approverKeys } from './approvers.ts';
import { canonicalJson } from './data/canonical-json.ts';

/**
 * Signed approval decisions. The signer and the checker agree on one message: a version tag, then the
 * canonical JSON (sorted keys) of the six fields that make a decision, so a signature says who decided
 * what, on which run, with which comment, and when. The check is pure (no clock, no I/O, no
 * node:crypto: @noble/curves' Ed25519 is plain JS), so the approval gate runs it in its Update
 * validator and a forged decision never reaches the workflow's history.
 */

/** Bumped if the signed fields ever change, so an old signature can never be read as a new kind. */
const MESSAGE_TAG = 'sluice-approval-decision-v1\n';

export interface SignedDecisionFields {
  workflowId: string;
  runId: string;
  decision: 'approve' | 'reject';
  approver: string;
  comment: string;
  signedAt: string;
}

export function signedDecisionMessage(fields: SignedDecisionFields): Uint8Array {
  const { workflowId, runId, decision, approver, comment, signedAt } = fields;
  return new TextEncoder().encode(MESSAGE_TAG + canonicalJson({ workflowId, runId, decision, approver, comment, signedAt }));
}

/** How far ahead of workflow time a signature may be dated (clocks differ), and how old it may be (a leaked payload soon expires). */
export const PROOF_CLOCK_SKEW_MS = 2 * 60_000;
export const PROOF_MAX_AGE_MS = 15 * 60_000;

export interface ProofCheck {
  /** The decision as sent: `by` is the approver the signature must be for. */
  by: string;
  comment: string;
  proof: DecisionProof | undefined;
  /** What the receiving run is: its ids from `workflowInfo()` and the handler the decision came to. */
  expected: { workflowId: string; runId: string; decision: 'approve' | 'reject' };
  /** Workflow time, ms. */
  now: number;
  trusted: TrustedApprovers;
  /** Signatures of decisions this run already took. */
  used: ReadonlySet<string>;
}

/** A verified decision's identity, with the signature that proved it (kept so it cannot be used twice). */
export type ProvenIdentity = VerifiedIdentity & { signature: string };

/** `unsigned`: the decision carried no proof at all (a caller that cannot sign can say so), as opposed to a proof that failed. */
export type ProofVerdict = { ok: true; identity: ProvenIdentity } | { ok: false; reason: string; unsigned?: true };

const refuse = (reason: string): ProofVerdict => ({ ok: false, reason });

export function checkDecisionProof(check: ProofCheck): ProofVerdict {
  const { by, comment, proof, expected, trusted } = check;
  if (!proof) {
    return {
      ok: false,
      unsigned: true,
      reason:
        `this model's policy requires a signed decision (approval.requireVerifiedIdentity) and this one carries no proof: ` +
        `use sluice pipeline ${expected.decision} ${expected.workflowId} --by ${by} --key-file YOUR_KEY, the API (POST /v1/pipelines/{id}/${expected.decision}), ` +
        `or for the Temporal UI paste the JSON printed by sluice pipeline sign-decision ${expected.workflowId} ${expected.decision} --by ${by} --key-file YOUR_KEY`,
    };
  }
  if (proof.workflowId !== expected.workflowId) return refuse(`signed for workflow ${proof.workflowId}, this is workflow ${expected.workflowId}`);
  if (proof.runId !== expected.runId) return refuse(`signed for run ${proof.runId}, this is run ${expected.runId} of ${expected.workflowId}`);
  if (proof.decision !== expected.decision) return refuse(`signed to ${proof.decision}, but sent as ${expected.decision}`);

  const signedAt = Date.parse(proof.signedAt);
  const nowIso = new Date(check.now).toISOString();
  if (signedAt - check.now > PROOF_CLOCK_SKEW_MS) {
    return refuse(`signed at ${proof.signedAt}, more than ${PROOF_CLOCK_SKEW_MS / 60_000} minutes after this run's time ${nowIso}: check the signer's clock`);
  }
  if (check.now - signedAt > PROOF_MAX_AGE_MS) {
    return refuse(`signed at ${proof.signedAt}, ${Math.floor((check.now - signedAt) / 60_000)} minutes before this run's time ${nowIso}; a signature is valid for ${PROOF_MAX_AGE_MS / 60_000} minutes: sign again`);
  }

  const approver = trusted.approvers.find((a) => a.id === by);
  if (!approver) return refuse(`${by} is not a registered approver (${trusted.source} lists ${trusted.approvers.map((a) => a.id).join(', ') || 'none'}); add one with sluice approvers add`);

  const signerId = proof.signer ?? by;
  const delegate = trusted.delegates.find((d) => d.id === signerId);
  const key = delegate ?? (signerId === by ? approver : undefined);
  if (!key) {
    const other = trusted.approvers.some((a) => a.id === signerId);
    return refuse(other ? `signed with ${signerId}'s key for approver ${by}: an approver signs only their own decisions` : `unknown signer ${signerId}: not an approver or delegate in ${trusted.source}`);
  }
  if (key.publicKey === undefined || key.keyFingerprint === undefined) {
    return refuse(`approver ${by} has no public key in ${trusted.source}, so cannot sign; register one with sluice approvers add --id ${by} --public-key FILE, or decide through the API`);
  }

  const message = signedDecisionMessage({ workflowId: proof.workflowId, runId: proof.runId, decision: proof.decision, approver: by, comment, signedAt: proof.signedAt });
  let valid: boolean;
  try {
    valid = ed25519.verify(hexToBytes(proof.signature), message, hexToBytes(key.publicKey));
  } catch {
    // A malformed point in the signature or key throws instead of answering false.
    valid = false;
  }
  const whose = delegate ? `delegate ${delegate.id} acting for approver ${by}` : `approver ${by}`;
  if (!valid) return refuse(`signature does not verify for ${whose} with key ${key.keyFingerprint}: the decision, approver, comment or time differ from what was signed, or another key signed it`);
  if (check.used.has(proof.signature)) return refuse(`this signature was already used for a decision on this run; each decision is signed afresh`);

  return { ok: true, identity: { approver: by, signer: signerId, keyFingerprint: key.keyFingerprint, signedAt: proof.signedAt, roles: approver.roles, signature: proof.signature } };
}

/** Where the registry is read from, as messages name it. */
export const approversRegistrySource = (bucket: string) => `${bucket}/${approverKeys.registry}`;
