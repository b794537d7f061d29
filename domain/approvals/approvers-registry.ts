import { createHash, createPublicKey } from 'node:crypto';
import type { ArtifactStore } from '../object-store/artifact-store.ts';
import { type ApproversRegistry, type TrustedApprovers, approverKeys, approversRegistrySchema } from '../../shared/approvers.ts';
import { approversRegistrySource } from '../../shared/decision-proof.ts';
import { parseInput } from '../../shared/parse-input.ts';

/** Reads the approvers registry from the models bucket; absent means nobody is registered yet. */
export async function readApproversRegistry(store: ArtifactStore, bucket: string): Promise<ApproversRegistry> {
  if (!(await store.stat(bucket, approverKeys.registry))) return { approvers: [], delegates: [] };
  const raw = JSON.parse((await store.get(bucket, approverKeys.registry)).toString()) as unknown;
  return parseInput(approversRegistrySchema, raw, (problems) => `Invalid approvers registry (${approversRegistrySource(bucket)}): ${problems.join('; ')}`);
}

export async function writeApproversRegistry(store: ArtifactStore, bucket: string, registry: ApproversRegistry): Promise<void> {
  await store.put(bucket, approverKeys.registry, JSON.stringify(registry, null, 2), { contentType: 'application/json' });
}

/** How a key is named in messages and records: SHA-256 of the raw key, as OpenSSH prints fingerprints. */
export function keyFingerprint(publicKeyHex: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(publicKeyHex, 'hex')).digest('base64').replace(/=+$/, '')}`;
}

/** The registry as the approval gate keeps it, each key with its fingerprint. */
export function trustApprovers(registry: ApproversRegistry, bucket: string): TrustedApprovers {
  return {
    approvers: registry.approvers.map((a) => (a.publicKey === undefined ? a : { ...a, keyFingerprint: keyFingerprint(a.publicKey) })),
    delegates: registry.delegates.map((d) => ({ ...d, keyFingerprint: keyFingerprint(d.publicKey) })),
    source: approversRegistrySource(bucket),
  };
}

/** A raw Ed25519 public key as hex, from a PEM (SPKI) public key, a PEM private key, or hex already; throws saying which it is not. */
export function ed25519PublicKeyHex(text: string): string {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return trimmed.toLowerCase();
  const key = createPublicKey(trimmed);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'an unknown key type'}`);
  const x = key.export({ format: 'jwk' }).x;
  if (x === undefined) throw new Error('the key has no public part');
  return Buffer.from(x, 'base64url').toString('hex');
}
