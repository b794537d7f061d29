import { readFileSync } from 'node:fs';
import type { Decision, DecisionInput } from '../shared/approval.ts';
import { ed25519PrivateKey, signDecision } from '../domain/approvals/sign-decision.ts';
import { type Env, UsageError } from './command.ts';

/**
 * A decision signed with the approver's key file for the run now under `workflowId` (its run id is
 * asked of Temporal, so the signature is good for that run only), stamped with this machine's time.
 */
export async function signedDecision(env: Env, workflowId: string, decision: Decision, input: { by: string; comment: string; keyFile: string }): Promise<DecisionInput> {
  let pem: Buffer;
  try {
    pem = readFileSync(input.keyFile);
  } catch (err) {
    throw new UsageError(`--key-file ${input.keyFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let key;
  try {
    key = ed25519PrivateKey(pem);
  } catch (err) {
    throw new UsageError(`--key-file ${input.keyFile}: not an Ed25519 private key in PEM (${(err as Error).message}); make one with: sluice approvers keygen --id ${input.by} --out FILE`);
  }
  const { runId } = await env.client.workflow.getHandle(workflowId).describe();
  const proof = signDecision(key, { workflowId, runId, decision, approver: input.by, comment: input.comment, signedAt: new Date().toISOString() });
  return { by: input.by, comment: input.comment, proof };
}
