import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  type ArtifactStore,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
  ObjectNotFoundError,
  PreconditionFailedError,
} from '../../../../domain/object-store/artifact-store.ts';

/**
 * An in-memory ArtifactStore with S3's etag semantics (MD5 of the bytes, conditional writes), for unit
 * tests and the benchmark, where a MinIO server would add nothing to what is measured. `down` makes
 * every call fail as an unreachable store would.
 */
export class MemoryStore implements ArtifactStore {
  objects = new Map<string, { body: Buffer; info: ObjectInfo }>();
  down = false;

  private reach(): void {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:9 (memory store is down)');
  }

  async put(bucket: string, key: string, body: Buffer | string | Readable, options?: PutOptions): Promise<PutResult> {
    this.reach();
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.isBuffer(body) ? body : Buffer.concat(await body.toArray());
    const id = `${bucket}/${key}`;
    const existing = this.objects.get(id);
    const onlyIf = options?.onlyIf;
    if (onlyIf && 'absent' in onlyIf && existing) throw new PreconditionFailedError(bucket, key);
    if (onlyIf && 'etag' in onlyIf && existing?.info.etag !== onlyIf.etag) throw new PreconditionFailedError(bucket, key);
    const etag = createHash('md5').update(bytes).digest('hex');
    this.objects.set(id, { body: bytes, info: { key, size: bytes.length, etag, lastModified: new Date(), metadata: options?.metadata ?? {} } });
    return { etag };
  }

  async putFile(bucket: string, key: string, path: string, options?: PutOptions): Promise<PutResult> {
    return this.put(bucket, key, await readFile(path), options);
  }

  async get(bucket: string, key: string): Promise<Buffer> {
    this.reach();
    const found = this.objects.get(`${bucket}/${key}`);
    if (!found) throw new ObjectNotFoundError(bucket, key);
    return found.body;
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    return Readable.from([await this.get(bucket, key)]);
  }

  async getFile(bucket: string, key: string, path: string): Promise<void> {
    await writeFile(path, await this.get(bucket, key));
  }

  async stat(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    this.reach();
    return this.objects.get(`${bucket}/${key}`)?.info;
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    this.reach();
    return [...this.objects.entries()].filter(([id]) => id.startsWith(`${bucket}/${prefix}`)).map(([, o]) => o.info);
  }

  async remove(bucket: string, key: string): Promise<void> {
    this.reach();
    this.objects.delete(`${bucket}/${key}`);
  }

  async ensureBucket(): Promise<void> {
    this.reach();
  }
}
