import { type BucketItem, Client, S3Error } from 'minio';
import type { Readable } from 'node:stream';
import type { Config } from '../../shared/config.ts';
import { readPemFile } from '../../shared/pem-file.ts';
import { idleTimeoutAgent } from './idle-timeout-agent.ts';
import {
  type ArtifactStore,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
  ObjectNotFoundError,
  PreconditionFailedError,
} from './artifact-store.ts';

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);

function isNotFound(err: unknown): boolean {
  return err instanceof S3Error && NOT_FOUND_CODES.has(String(err.code));
}

function isPreconditionFailed(err: unknown): boolean {
  return err instanceof S3Error && err.code === 'PreconditionFailed';
}

function conditionalHeaders(options: PutOptions | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options?.contentType) headers['Content-Type'] = options.contentType;
  for (const [k, v] of Object.entries(options?.metadata ?? {})) headers[k] = v;
  const onlyIf = options?.onlyIf;
  if (onlyIf && 'absent' in onlyIf) headers['If-None-Match'] = '*';
  else if (onlyIf) headers['If-Match'] = onlyIf.etag;
  return headers;
}

export class MinioArtifactStore implements ArtifactStore {
  constructor(private readonly client: Client) {}

  static fromConfig(minio: Config['minio']): MinioArtifactStore {
    const url = new URL(minio.endpoint);
    const useSSL = url.protocol === 'https:';
    return new MinioArtifactStore(
      new Client({
        endPoint: url.hostname,
        port: url.port ? Number(url.port) : useSSL ? 443 : 80,
        useSSL,
        accessKey: minio.accessKey,
        secretKey: minio.secretKey,
        region: minio.region,
        pathStyle: true,
        transportAgent: idleTimeoutAgent(minio.endpoint, minio.idleTimeoutMs, minio.caFile === undefined ? undefined : readPemFile('SLUICE_MINIO_CA', minio.caFile)),
      }),
    );
  }

  async put(bucket: string, key: string, body: Buffer | string | Readable, options?: PutOptions): Promise<PutResult> {
    try {
      const size = typeof body === 'string' ? Buffer.byteLength(body) : Buffer.isBuffer(body) ? body.length : undefined;
      const info = await this.client.putObject(bucket, key, body, size, conditionalHeaders(options));
      return { etag: info.etag };
    } catch (err) {
      if (isPreconditionFailed(err)) throw new PreconditionFailedError(bucket, key, { cause: err });
      throw err;
    }
  }

  async putFile(bucket: string, key: string, path: string, options?: PutOptions): Promise<PutResult> {
    try {
      const info = await this.client.fPutObject(bucket, key, path, conditionalHeaders(options));
      return { etag: info.etag };
    } catch (err) {
      if (isPreconditionFailed(err)) throw new PreconditionFailedError(bucket, key, { cause: err });
      throw err;
    }
  }

  async get(bucket: string, key: string): Promise<Buffer> {
    const stream = await this.getStream(bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    try {
      return await this.client.getObject(bucket, key);
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(bucket, key, { cause: err });
      throw err;
    }
  }

  async getFile(bucket: string, key: string, path: string): Promise<void> {
    try {
      await this.client.fGetObject(bucket, key, path);
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(bucket, key, { cause: err });
      throw err;
    }
  }

  async stat(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await this.client.statObject(bucket, key);
      return { key, size: s.size, etag: s.etag, lastModified: s.lastModified, metadata: stringRecord(s.metaData) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const item of this.client.listObjectsV2(bucket, prefix, true) as AsyncIterable<BucketItem>) {
      if (!item.name) continue;
      out.push({ key: item.name, size: item.size, etag: item.etag ?? '', lastModified: item.lastModified ?? new Date(0), metadata: {} });
    }
    return out;
  }

  async remove(bucket: string, key: string): Promise<void> {
    await this.client.removeObject(bucket, key);
  }

  async ensureBucket(bucket: string): Promise<void> {
    if (await this.client.bucketExists(bucket)) return;
    try {
      await this.client.makeBucket(bucket);
    } catch (err) {
      // Another process may have created it between the check and the call: that is success.
      if (err instanceof S3Error && (err.code === 'BucketAlreadyOwnedByYou' || err.code === 'BucketAlreadyExists')) return;
      throw err;
    }
  }
}

function stringRecord(meta: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}
