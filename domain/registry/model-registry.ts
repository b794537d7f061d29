import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ALLOWED_TRANSITIONS,
  type Alias,
  type ModelIndex,
  type ModelManifest,
  type ModelStatus,
  type ModelVersionView,
  type NewModelManifest,
  type StatusTransition,
  modelIndexSchema,
  modelManifestSchema,
} from '../../shared/registry.ts';
import { registryKeys } from '../../shared/storage-keys.ts';
import type { VerifiedIdentity } from '../../shared/approval.ts';
import { type ArtifactStore, ObjectNotFoundError, PreconditionFailedError } from '../object-store/artifact-store.ts';
import { SluiceError } from '../../shared/errors.ts';

export class ModelNotFoundError extends SluiceError {
  override readonly name = 'ModelNotFoundError';
  readonly kind = 'ModelNotFound';
  constructor(readonly model: string, readonly version?: number) {
    super(version === undefined ? `No model named '${model}' in the registry` : `Model '${model}' has no version ${version}`, { details: { model, version } });
  }
}

export class InvalidTransitionError extends SluiceError {
  override readonly name = 'InvalidTransitionError';
  readonly kind = 'RegistryRefused';
  constructor(readonly model: string, readonly version: number, readonly from: ModelStatus, readonly to: ModelStatus) {
    const allowed = ALLOWED_TRANSITIONS[from];
    super(
      `Model '${model}' version ${version} is ${from}; it cannot become ${to}` +
        (allowed.length ? ` (from ${from} it can become: ${allowed.join(', ')})` : ` (${from} is final)`),
      { details: { from, to } },
    );
  }
}

export class RegistryContentionError extends SluiceError {
  override readonly name = 'RegistryContentionError';
  readonly kind = 'Internal';
}

/** A change to one model's index; returns what the caller wants back. Runs again if it loses a race. */
type IndexChange<T> = (index: ModelIndex) => T;

const MAX_ATTEMPTS = 20;

/**
 * The model registry in the object store. Manifests and ONNX files are immutable and written once;
 * each model's mutable state lives in one index object updated by compare-and-swap on its etag, so
 * concurrent writers (two pipelines, a pipeline and a rollout) never lose each other's changes.
 */
export class ModelRegistry {
  constructor(
    private readonly store: ArtifactStore,
    private readonly bucket: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private async readIndex(model: string): Promise<{ index: ModelIndex; etag: string | undefined }> {
    let body: Buffer;
    try {
      body = await this.store.get(this.bucket, registryKeys.index(model));
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
      return { index: { name: model, latestVersion: 0, registrations: {}, versions: {}, aliases: {}, aliasHistory: [] }, etag: undefined };
    }
    // A single-part object's S3 etag is the MD5 of its bytes. Deriving it from the bytes we parsed ties
    // the conditional write to exactly this state; a separate stat could see a newer object.
    return { index: modelIndexSchema.parse(JSON.parse(body.toString())), etag: createHash('md5').update(body).digest('hex') };
  }

  /** Applies `change` to the current index and writes it back only if nobody wrote in between. */
  private async updateIndex<T>(model: string, change: IndexChange<T>): Promise<T> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { index, etag } = await this.readIndex(model);
      const result = change(index);
      try {
        await this.store.put(this.bucket, registryKeys.index(model), JSON.stringify(index, null, 2), {
          contentType: 'application/json',
          onlyIf: etag === undefined ? { absent: true } : { etag },
        });
        return result;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        await sleep(Math.random() * 20 * attempt);
      }
    }
    throw new RegistryContentionError(`Gave up updating the registry index of '${model}' after ${MAX_ATTEMPTS} conflicting writes`);
  }

  private now(): string {
    return this.clock().toISOString();
  }

  /**
   * Registers a new version. `registrationKey` identifies the request (e.g. the pipeline's workflow
   * id): registering again with the same key returns the same version, so an activity retry after a
   * crash completes the first registration instead of creating a second one.
   */
  async register(input: {
    manifest: NewModelManifest;
    /** The model file, or a function given the assigned version (to stamp it into the file). */
    onnx: Uint8Array | ((version: number) => Uint8Array);
    registrationKey: string;
    by: string;
  }): Promise<ModelManifest> {
    const model = input.manifest.name;
    const at = this.now();
    const version = await this.updateIndex(model, (index) => {
      const existing = index.registrations[input.registrationKey];
      if (existing !== undefined) return existing;
      const next = index.latestVersion + 1;
      index.latestVersion = next;
      index.registrations[input.registrationKey] = next;
      index.versions[String(next)] = { history: [{ status: 'candidate', at, by: input.by, reason: 'registered' }] };
      return next;
    });

    const onnxKey = registryKeys.onnx(model, version);
    const onnx = typeof input.onnx === 'function' ? input.onnx(version) : input.onnx;
    const sha256 = createHash('sha256').update(onnx).digest('hex');
    const manifest = modelManifestSchema.parse({
      ...input.manifest,
      version,
      createdAt: at,
      onnx: { key: onnxKey, sha256, bytes: onnx.byteLength },
    });
    const existingManifest = await this.store.stat(this.bucket, registryKeys.manifest(model, version));
    if (existingManifest) return this.manifest(model, version);

    await this.store.put(this.bucket, onnxKey, Buffer.from(onnx), { contentType: 'application/octet-stream' });
    try {
      await this.store.put(this.bucket, registryKeys.manifest(model, version), JSON.stringify(manifest, null, 2), {
        contentType: 'application/json',
        onlyIf: { absent: true },
      });
    } catch (err) {
      // A concurrent retry of the same registration wrote it first; theirs is the record.
      if (!(err instanceof PreconditionFailedError)) throw err;
      return this.manifest(model, version);
    }
    return manifest;
  }

  async manifest(model: string, version: number): Promise<ModelManifest> {
    const info = await this.store.stat(this.bucket, registryKeys.manifest(model, version));
    if (!info) throw new ModelNotFoundError(model, version);
    return modelManifestSchema.parse(JSON.parse((await this.store.get(this.bucket, registryKeys.manifest(model, version))).toString()));
  }

  async onnx(model: string, version: number): Promise<Buffer> {
    return this.store.get(this.bucket, registryKeys.onnx(model, version));
  }

  /** Moves a version to a new status, recording who, when and why. */
  async transition(model: string, version: number, to: ModelStatus, who: { by: string; reason?: string; verified?: VerifiedIdentity[] }): Promise<StatusTransition[]> {
    await this.requireIndex(model);
    return this.updateIndex(model, (index) =>
      applyTransition(index, version, to, { status: to, at: this.now(), by: who.by, reason: who.reason ?? '', ...(who.verified && { verified: who.verified }) }),
    );
  }

  /** Points an alias at a version (or removes it with `null`), keeping the alias history. */
  async setAlias(model: string, alias: Alias, version: number | null, who: { by: string; reason?: string }): Promise<void> {
    await this.requireIndex(model);
    await this.updateIndex(model, (index) => {
      if (version !== null && !index.versions[String(version)]) throw new ModelNotFoundError(model, version);
      moveAlias(index, alias, version, { at: this.now(), by: who.by, reason: who.reason ?? '' });
    });
  }

  /**
   * Makes `version` the champion in production and archives the previous champion, as one write:
   * no reader ever sees two production versions or none. A rollback to an earlier champion passes
   * `demoteTo: 'rolled-back'`, so the champion it replaces is marked rolled back (with the reason)
   * rather than archived.
   */
  async promote(model: string, version: number, who: { by: string; reason?: string; demoteTo?: 'archived' | 'rolled-back' }): Promise<{ previousChampion: number | undefined }> {
    await this.requireIndex(model);
    return this.updateIndex(model, (index) => {
      const at = this.now();
      const reason = who.reason ?? '';
      const previous = index.aliases.champion;
      if (previous !== undefined && previous !== version) {
        const demoteTo = who.demoteTo ?? 'archived';
        applyTransition(index, previous, demoteTo, { status: demoteTo, at, by: who.by, reason: demoteTo === 'archived' ? `replaced by version ${version}` : reason });
      }
      applyTransition(index, version, 'production', { status: 'production', at, by: who.by, reason });
      moveAlias(index, 'champion', version, { at, by: who.by, reason });
      if (index.aliases.challenger === version) moveAlias(index, 'challenger', null, { at, by: who.by, reason: 'promoted to champion' });
      return { previousChampion: previous === version ? undefined : previous };
    });
  }

  async view(model: string, version: number): Promise<ModelVersionView> {
    const { index } = await this.requireIndex(model);
    const entry = index.versions[String(version)];
    if (!entry) throw new ModelNotFoundError(model, version);
    const manifest = await this.manifest(model, version);
    const history = entry.history;
    const aliases = (Object.entries(index.aliases) as [Alias, number][]).filter(([, v]) => v === version).map(([a]) => a);
    return { manifest, status: currentStatus(history), history, aliases };
  }

  async index(model: string): Promise<ModelIndex> {
    return (await this.requireIndex(model)).index;
  }

  /** Names of every registered model. */
  async models(): Promise<string[]> {
    const objects = await this.store.list(this.bucket, '');
    return objects.filter((o) => o.key.endsWith('/index.json') && o.key.split('/').length === 2).map((o) => o.key.split('/')[0] ?? '').sort();
  }

  /** The version that was champion (serving production) at `time`, or undefined if none was. */
  async championAt(model: string, time: Date): Promise<number | undefined> {
    const { index } = await this.requireIndex(model);
    let champion: number | undefined;
    for (const change of index.aliasHistory) {
      if (change.alias !== 'champion') continue;
      if (new Date(change.at) > time) break;
      champion = change.version ?? undefined;
    }
    return champion;
  }

  private async requireIndex(model: string) {
    const found = await this.readIndex(model);
    if (found.etag === undefined) throw new ModelNotFoundError(model);
    return found;
  }
}

export function currentStatus(history: StatusTransition[]): ModelStatus {
  const last = history[history.length - 1];
  if (!last) throw new Error('status history is empty');
  return last.status;
}

function applyTransition(index: ModelIndex, version: number, to: ModelStatus, transition: StatusTransition): StatusTransition[] {
  const entry = index.versions[String(version)];
  if (!entry) throw new ModelNotFoundError(index.name, version);
  const from = currentStatus(entry.history);
  if (!ALLOWED_TRANSITIONS[from].includes(to)) throw new InvalidTransitionError(index.name, version, from, to);
  entry.history.push(transition);
  return entry.history;
}

function moveAlias(index: ModelIndex, alias: Alias, version: number | null, change: { at: string; by: string; reason: string }): void {
  if (version === null) delete index.aliases[alias];
  else index.aliases[alias] = version;
  index.aliasHistory.push({ alias, version, ...change });
}
