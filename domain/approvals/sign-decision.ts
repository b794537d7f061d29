import { type KeyObject, createPrivateKey, sign } from 'node:crypto';
import type { DecisionProof } from '../../shared/approval.ts';
import { type SignedDecisionFields, signedDecisionMessage } from '../../shared/decision-proof.ts';

/**
 * Signs an approval decision with an Ed25519 private key (node:crypto; the workflow checks it with
 * @noble/curves, the same algorithm): what the CLI does with an approver's key file and the API with
 * its delegate key. `signer` is set only when the key is a delegate's, acting for `approver`.
 */
export function signDecision(privateKey: KeyObject, fields: SignedDecisionFields, signer?: string): DecisionProof {
  const signature = sign(null, signedDecisionMessage(fields), privateKey).toString('hex');
  return { workflowId: fields.workflowId, runId: fields.runId, decision: fields.decision, signedAt: fields.signedAt, ...(signer !== undefined && { signer }), signature };
}

/** An Ed25519 private key from PEM text; throws naming what it is instead. */
export function ed25519PrivateKey(pem: string | Buffer): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 private key, got ${key.asymmetricKeyType ?? 'an unknown key type'}`);
  return key;
}
