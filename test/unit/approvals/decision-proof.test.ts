import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { trustApprovers } from '../../../domain/approvals/approvers-registry.ts';
import { signDecision } from '../../../domain/approvals/sign-decision.ts';
import { type ApprovalDecision, approvalPolicySchema, approvalRefusal, approvalsSatisfy } from '../../../shared/approval.ts';
import { approversRegistrySchema } from '../../../shared/approvers.ts';
import { type ProofCheck, type ProofVerdict, type SignedDecisionFields, checkDecisionProof } from '../../../shared/decision-proof.ts';
import { approverKeyPair } from '../../support/approver-keys.ts';

/**
 * The signed-decision check the approval gate runs in its validator, with real Ed25519 keys (node:crypto
 * signs, @noble/curves verifies): one valid decision, then each field forged in turn.
 */

const ana = approverKeyPair();
const bob = approverKeyPair();
const api = approverKeyPair();
const mallory = approverKeyPair();
const trusted = trustApprovers(
  approversRegistrySchema.parse({
    approvers: [
      { id: 'ana', publicKey: ana.publicKey, roles: ['ml-lead'] },
      { id: 'bob', publicKey: bob.publicKey, roles: ['risk'] },
      { id: 'carol@example.com', roles: ['risk'] },
    ],
    delegates: [{ id: 'sluice-api', publicKey: api.publicKey }],
  }),
  'sluice-models',
);

const NOW = Date.parse('2026-12-07T18:00:00.000Z');
const fields: SignedDecisionFields = { workflowId: 'train-flights-delay-abc', runId: 'run-1', decision: 'approve', approver: 'ana', comment: 'AUC up', signedAt: '2026-12-07T17:59:30.000Z' };
const expected = { workflowId: fields.workflowId, runId: fields.runId, decision: fields.decision };

function check(overrides: Partial<ProofCheck> = {}): ProofVerdict {
  const proof = signDecision(ana.privateKey, fields);
  return checkDecisionProof({ by: 'ana', comment: 'AUC up', proof, expected, now: NOW, trusted, used: new Set(), ...overrides });
}

function refused(verdict: ProofVerdict, pattern: RegExp): void {
  assert.equal(verdict.ok, false, 'the forged decision was accepted');
  if (!verdict.ok) assert.match(verdict.reason, pattern);
}

describe('signed approval decisions', () => {
  test("a decision signed with the approver's own key verifies, naming the key", () => {
    const verdict = check();
    assert.ok(verdict.ok, verdict.ok ? '' : verdict.reason);
    assert.equal(verdict.identity.approver, 'ana');
    assert.equal(verdict.identity.signer, 'ana');
    assert.deepEqual(verdict.identity.roles, ['ml-lead']);
    assert.match(verdict.identity.keyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  test('the API signs as a delegate for a registered key holder without a key of their own', () => {
    const proof = signDecision(api.privateKey, { ...fields, approver: 'carol@example.com' }, 'sluice-api');
    const verdict = check({ by: 'carol@example.com', proof });
    assert.ok(verdict.ok, verdict.ok ? '' : verdict.reason);
    assert.equal(verdict.identity.signer, 'sluice-api');
    assert.deepEqual(verdict.identity.roles, ['risk']);
  });

  test('no proof at all is refused, saying how to sign, and marked unsigned (a failed proof is not)', () => {
    const verdict = check({ proof: undefined });
    refused(verdict, /requires a signed decision \(approval\.requireVerifiedIdentity\).*--key-file.*sign-decision/);
    assert.equal(!verdict.ok && verdict.unsigned, true);
    const failed = check({ proof: { ...signDecision(ana.privateKey, fields), signature: '0'.repeat(128) } });
    assert.equal(!failed.ok && failed.unsigned, undefined);
  });

  test('forged workflow id, run id, decision', () => {
    refused(check({ expected: { ...expected, workflowId: 'train-other-model' } }), /^signed for workflow train-flights-delay-abc, this is workflow train-other-model$/);
    refused(check({ expected: { ...expected, runId: 'run-2' } }), /^signed for run run-1, this is run run-2 of train-flights-delay-abc$/);
    refused(check({ expected: { ...expected, decision: 'reject' } }), /^signed to approve, but sent as reject$/);
    // The proof's own fields edited to match the run: the signature no longer verifies.
    const proof = { ...signDecision(ana.privateKey, fields), runId: 'run-2' };
    refused(check({ proof, expected: { ...expected, runId: 'run-2' } }), /^signature does not verify for approver ana with key SHA256:/);
    const flipped = { ...signDecision(ana.privateKey, { ...fields, decision: 'reject' }), decision: 'approve' as const };
    refused(check({ proof: flipped }), /signature does not verify for approver ana/);
  });

  test('forged approver and comment', () => {
    // ana's valid signature presented as bob's decision: checked against bob's key.
    refused(check({ by: 'bob' }), /^signature does not verify for approver bob with key SHA256:/);
    refused(check({ comment: 'AUC up, ship it' }), /^signature does not verify for approver ana/);
  });

  test('forged time: too old, in the future, edited after signing', () => {
    refused(check({ now: NOW + 16 * 60_000 }), /^signed at 2026-12-07T17:59:30.000Z, 16 minutes before this run's time .*valid for 15 minutes: sign again$/);
    refused(check({ now: NOW - 3 * 60_000 }), /more than 2 minutes after this run's time .*check the signer's clock/);
    const proof = { ...signDecision(ana.privateKey, fields), signedAt: '2026-12-07T17:59:59.000Z' };
    refused(check({ proof }), /signature does not verify for approver ana/);
  });

  test('forged signature bytes', () => {
    const good = signDecision(ana.privateKey, fields);
    const flip = (hex: string, at: number) => hex.slice(0, at) + ((parseInt(hex[at] ?? '0', 16) ^ 1).toString(16)) + hex.slice(at + 1);
    refused(check({ proof: { ...good, signature: flip(good.signature, 5) } }), /signature does not verify for approver ana with key/);
    refused(check({ proof: { ...good, signature: flip(good.signature, 100) } }), /signature does not verify for approver ana with key/);
    refused(check({ proof: { ...good, signature: '0'.repeat(128) } }), /signature does not verify/);
  });

  test('unknown keys: an unregistered approver, an unknown signer, a key not registered for that approver', () => {
    refused(check({ by: 'mallory', proof: signDecision(mallory.privateKey, { ...fields, approver: 'mallory' }) }), /^mallory is not a registered approver \(sluice-models\/config\/approvers\.json lists ana, bob, carol@example\.com\)/);
    refused(check({ proof: signDecision(mallory.privateKey, fields, 'mallory-api') }), /^unknown signer mallory-api: not an approver or delegate/);
    refused(check({ proof: signDecision(mallory.privateKey, fields) }), /^signature does not verify for approver ana with key/);
    refused(check({ proof: signDecision(mallory.privateKey, fields, 'sluice-api') }), /^signature does not verify for delegate sluice-api acting for approver ana/);
    refused(check({ proof: signDecision(bob.privateKey, fields, 'bob') }), /^signed with bob's key for approver ana: an approver signs only their own decisions$/);
    refused(check({ by: 'carol@example.com', proof: signDecision(mallory.privateKey, { ...fields, approver: 'carol@example.com' }) }), /^approver carol@example\.com has no public key/);
  });

  test('a signature already used on this run is refused', () => {
    const proof = signDecision(ana.privateKey, fields);
    refused(check({ proof, used: new Set([proof.signature]) }), /^this signature was already used for a decision on this run/);
  });
});

describe('approval policy over verified identities', () => {
  const decision = (by: string, roles: string[]): ApprovalDecision => ({
    decision: 'approve',
    by,
    comment: '',
    at: '2026-12-07T18:00:00.000Z',
    via: 'update',
    verified: { approver: by, signer: by, keyFingerprint: 'SHA256:x', signedAt: '2026-12-07T18:00:00.000Z', roles, signature: by },
  });
  const identity = (by: string) => ({ approver: by, signer: by, keyFingerprint: 'SHA256:abc', signedAt: '2026-12-07T18:00:00.000Z', roles: [] });

  test('self-approval is refused against the verified identity, naming the key', () => {
    const policy = approvalPolicySchema.parse({ forbidSelfApproval: true, requireVerifiedIdentity: true });
    assert.match(approvalRefusal(policy, 'ana', [], 'ana', identity('ana')) ?? '', /^ana \(verified: signed with ana's key SHA256:abc\) requested this run and cannot approve it/);
    assert.equal(approvalRefusal(policy, 'ana', [], 'bob', identity('bob')), undefined);
    assert.match(approvalRefusal(policy, 'dana', [decision('bob', [])], 'bob', identity('bob')) ?? '', /bob has already approved/);
  });

  test('required approvers must each approve, besides the count', () => {
    const policy = approvalPolicySchema.parse({ requiredApprovals: 1, requireVerifiedIdentity: true, requiredApprovers: ['ana'] });
    assert.equal(approvalsSatisfy(policy, [decision('bob', ['risk'])]), false);
    assert.equal(approvalsSatisfy(policy, [decision('bob', ['risk']), decision('ana', [])]), true);
  });

  test('required roles need one verified holder each; an unverified record holds no role', () => {
    const policy = approvalPolicySchema.parse({ requiredApprovals: 1, requireVerifiedIdentity: true, requiredRoles: ['ml-lead', 'risk'] });
    assert.equal(approvalsSatisfy(policy, [decision('ana', ['ml-lead'])]), false);
    assert.equal(approvalsSatisfy(policy, [decision('ana', ['ml-lead']), decision('bob', ['risk'])]), true);
    const { verified: _, ...unverified } = decision('bob', ['risk']);
    assert.equal(approvalsSatisfy(policy, [decision('ana', ['ml-lead']), unverified]), false);
  });

  test('approver and role rules are refused at parse without requireVerifiedIdentity', () => {
    const parsed = approvalPolicySchema.safeParse({ requiredApprovers: ['ana'], requiredRoles: ['risk'] });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error?.issues.map((i) => i.path.join('.')), ['requiredApprovers', 'requiredRoles']);
    assert.match(parsed.error?.issues[0]?.message ?? '', /needs requireVerifiedIdentity: true/);
  });
});
