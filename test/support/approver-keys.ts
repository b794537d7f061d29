import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import { ed25519PublicKeyHex } from '../../domain/approvals/approvers-registry.ts';

/** A fresh Ed25519 key pair, as `sluice approvers keygen` makes one: the private key and the raw public key in hex. */
export function approverKeyPair(): { privateKey: KeyObject; privatePem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey: ed25519PublicKeyHex(publicKey.export({ format: 'pem', type: 'spki' }).toString()) };
}
