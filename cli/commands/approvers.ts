import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ed25519PublicKeyHex, keyFingerprint, readApproversRegistry, writeApproversRegistry } from '../../domain/approvals/approvers-registry.ts';
import { type ApproversRegistry, approverKeys, approversRegistrySchema } from '../../shared/approvers.ts';
import { describeIssues } from '../../shared/parse-input.ts';
import { EXIT, type StoreEnv, UsageError, subcommands, withoutTemporal } from '../command.ts';

const WHERE = `The registry lives in the models bucket (${approverKeys.registry}); a run whose policy has requireVerifiedIdentity reads it when its approval gate opens, so a change applies to runs that reach approval afterwards.`;

const HELP = {
  'approvers keygen': `Usage: sluice approvers keygen --id NAME --out FILE

Makes an Ed25519 key pair: the private key goes to FILE (PEM, readable by you only; keep it secret),
the public key to FILE.pub. Prints the public key and the command that registers it. Refuses to
overwrite an existing file. Needs neither Temporal nor the object store.`,
  'approvers add': `Usage: sluice approvers add --id NAME [--public-key FILE|HEX] [--roles LIST] [--delegate]

Registers an approver (or replaces the entry of the same id, e.g. to rotate a key). ${WHERE}
  --public-key K  a PEM public (or private) key file, or 64 hex digits: the key NAME signs decisions with;
                  an approver without one decides only through the API (as the holder of an API key NAME)
  --roles LIST    comma-separated roles, for approval.requiredRoles
  --delegate      NAME is a signer acting for registered approvers after authenticating them itself: the
                  API's SLUICE_APPROVAL_SIGNING_KEY, under its SLUICE_APPROVAL_SIGNER_ID (default sluice-api)`,
  'approvers list': `Usage: sluice approvers list [--json]

Lists the approvers and delegates with their roles and key fingerprints. ${WHERE}
  --json   {approvers: [{id, roles, publicKey?, keyFingerprint?}], delegates: [{id, publicKey, keyFingerprint}]}`,
  'approvers remove': `Usage: sluice approvers remove --id NAME

Removes an approver or delegate; runs already awaiting approval keep the registry they read.`,
} as const;

async function edit(env: StoreEnv, change: (registry: ApproversRegistry) => ApproversRegistry): Promise<void> {
  const next = approversRegistrySchema.safeParse(change(await readApproversRegistry(env.store, env.config.buckets.models)));
  if (!next.success) throw new UsageError(describeIssues(next.error, 'approvers').join('\n'));
  await writeApproversRegistry(env.store, env.config.buckets.models, next.data);
}

async function approversKeygen(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { id: { type: 'string' }, out: { type: 'string' } } });
  if (values.id === undefined || values.out === undefined) throw new UsageError(HELP['approvers keygen']);
  const out = values.out;
  for (const path of [out, `${out}.pub`]) if (existsSync(path)) throw new UsageError(`${path} exists already; pick another --out (a key is never overwritten)`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  writeFileSync(out, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  writeFileSync(`${out}.pub`, publicPem, { flag: 'wx' });
  const hex = ed25519PublicKeyHex(publicPem);
  env.write(`private key: ${out} (keep it secret)\npublic key: ${out}.pub  ${hex}  ${keyFingerprint(hex)}`);
  env.write(`register it: sluice approvers add --id ${values.id} --public-key ${out}.pub [--roles LIST]`);
  return EXIT.ok;
}

function publicKeyOf(value: string): string {
  try {
    return ed25519PublicKeyHex(existsSync(value) ? readFileSync(value, 'utf8') : value);
  } catch (err) {
    throw new UsageError(`--public-key ${value}: not an Ed25519 key file or 64 hex digits (${(err as Error).message})`);
  }
}

async function approversAdd(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { id: { type: 'string' }, 'public-key': { type: 'string' }, roles: { type: 'string' }, delegate: { type: 'boolean' } } });
  const id = values.id;
  if (id === undefined) throw new UsageError(HELP['approvers add']);
  const publicKey = values['public-key'] === undefined ? undefined : publicKeyOf(values['public-key']);
  const roles = values.roles?.split(',').map((r) => r.trim()).filter(Boolean) ?? [];
  if (values.delegate && (publicKey === undefined || roles.length > 0)) throw new UsageError('--delegate needs --public-key (the key it signs with) and takes no --roles (a delegate approves nothing itself)');
  let replaced = false;
  await edit(env, (registry) => {
    replaced = [...registry.approvers, ...registry.delegates].some((e) => e.id === id);
    const approvers = registry.approvers.filter((a) => a.id !== id);
    const delegates = registry.delegates.filter((d) => d.id !== id);
    if (values.delegate && publicKey !== undefined) return { approvers, delegates: [...delegates, { id, publicKey }] };
    return { approvers: [...approvers, { id, roles, ...(publicKey !== undefined && { publicKey }) }], delegates };
  });
  const key = publicKey === undefined ? 'no key: decides through the API only' : `key ${keyFingerprint(publicKey)}`;
  env.write(`${replaced ? 'replaced' : 'added'} ${values.delegate ? 'delegate' : 'approver'} ${id} (${key}${roles.length ? `; roles ${roles.join(', ')}` : ''})`);
  return EXIT.ok;
}

async function approversList(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const registry = await readApproversRegistry(env.store, env.config.buckets.models);
  const approvers = registry.approvers.map((a) => ({ ...a, ...(a.publicKey !== undefined && { keyFingerprint: keyFingerprint(a.publicKey) }) }));
  const delegates = registry.delegates.map((d) => ({ ...d, keyFingerprint: keyFingerprint(d.publicKey) }));
  if (values.json) {
    env.write(JSON.stringify({ approvers, delegates }, null, 2));
    return EXIT.ok;
  }
  if (approvers.length + delegates.length === 0) env.write('no approvers (add one with: sluice approvers add --id NAME --public-key FILE)');
  for (const a of approvers) env.write(`${a.id}  ${a.keyFingerprint ?? '(no key: API only)'}  roles ${a.roles.join(',') || '-'}`);
  for (const d of delegates) env.write(`${d.id}  ${d.keyFingerprint}  delegate`);
  return EXIT.ok;
}

async function approversRemove(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { id: { type: 'string' } } });
  const id = values.id;
  if (id === undefined) throw new UsageError(HELP['approvers remove']);
  await edit(env, (registry) => {
    const next = { approvers: registry.approvers.filter((a) => a.id !== id), delegates: registry.delegates.filter((d) => d.id !== id) };
    if (next.approvers.length + next.delegates.length === registry.approvers.length + registry.delegates.length) {
      throw new UsageError(`no approver or delegate "${id}"; registered: ${[...registry.approvers, ...registry.delegates].map((e) => e.id).join(', ') || '(none)'}`);
    }
    return next;
  });
  env.write(`removed ${id}`);
  return EXIT.ok;
}

export const APPROVERS_COMMANDS = subcommands(HELP, {
  'approvers keygen': withoutTemporal(approversKeygen),
  'approvers add': withoutTemporal(approversAdd),
  'approvers list': withoutTemporal(approversList),
  'approvers remove': withoutTemporal(approversRemove),
});
