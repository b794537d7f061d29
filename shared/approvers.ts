import { z } from 'zod';

/**
 * The approvers registry: who may decide on a model whose policy asks for a verified identity
 * (`approval.requireVerifiedIdentity`), with the Ed25519 public keys their decisions are checked
 * against. It lives in the registry (models) bucket at `approverKeys.registry`; `sluice approvers`
 * edits it and the training pipeline reads it through an activity when its approval gate opens.
 */

/** A raw Ed25519 public key (32 bytes) as 64 hex digits: one spelling, so the workflow needs no PEM or base64 parser. */
export const ed25519PublicKeyHex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected an Ed25519 public key as 64 lowercase hex digits (sluice approvers add converts a PEM file)');

const approverId = z.string().trim().min(1, 'expected an approver id').max(200);

export const approverSchema = z.strictObject({
  /** The name decisions are recorded under: the same as `by` in a decision, and an API key holder's id for decisions made through the API. */
  id: approverId,
  /** Absent: this approver decides only through a delegate (the API, as an authenticated key holder). */
  publicKey: ed25519PublicKeyHex.optional(),
  /** What `approval.requiredRoles` is checked against. */
  roles: z.array(z.string().trim().min(1)).default([]),
});
export type Approver = z.output<typeof approverSchema>;

/**
 * A key that signs on behalf of registered approvers after authenticating them itself: the prediction
 * API's signing key (SLUICE_APPROVAL_SIGNING_KEY), which signs for the holder of the API key that asked.
 */
export const delegateSchema = z.strictObject({
  id: approverId,
  publicKey: ed25519PublicKeyHex,
});
export type Delegate = z.output<typeof delegateSchema>;

export const approversRegistrySchema = z
  .strictObject({
    approvers: z.array(approverSchema).default([]),
    delegates: z.array(delegateSchema).default([]),
  })
  .superRefine((registry, ctx) => {
    // A signer is looked up by id among approvers and delegates together, so an id names one key.
    const seen = new Set<string>();
    for (const [i, entry] of [...registry.approvers, ...registry.delegates].entries()) {
      if (seen.has(entry.id)) ctx.addIssue({ code: 'custom', path: i < registry.approvers.length ? ['approvers', i, 'id'] : ['delegates', i - registry.approvers.length, 'id'], message: `"${entry.id}" is listed twice; an id names one approver or delegate` });
      seen.add(entry.id);
    }
  });
export type ApproversRegistry = z.output<typeof approversRegistrySchema>;

/** The registry as the workflow keeps it: each key with its fingerprint, computed by the activity that read it (the workflow has no hash of its own). */
export interface TrustedApprovers {
  approvers: (Approver & { keyFingerprint?: string })[];
  delegates: (Delegate & { keyFingerprint: string })[];
  /** Where it was read from, for messages. */
  source: string;
}

/** Keys in the models bucket for approval configuration. */
export const approverKeys = {
  registry: 'config/approvers.json',
} as const;
