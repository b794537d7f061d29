import type { Readable } from 'node:stream';
import { SluiceError } from '../../shared/errors.ts';

/**
 * The object store every artifact lives in. MinIO (or any S3) is the backend the platform runs on;
 * the interface exists so activities and the API depend on what they need, and so a second backend
 * can be added without touching them.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  /** User metadata stored beside the object (keys are lower-cased by S3). */
  metadata?: Record<string, string>;
  /**
   * Conditional write: `{ absent: true }` succeeds only if no object exists at the key; `{ etag }`
   * only if the current object still has that etag. A lost race throws `PreconditionFailedError`.
   */
  onlyIf?: { absent: true } | { etag: string };
}

export interface PutResult {
  etag: string;
}

export interface ArtifactStore {
  put(bucket: string, key: string, body: Buffer | string | Readable, options?: PutOptions): Promise<PutResult>;
  putFile(bucket: string, key: string, path: string, options?: PutOptions): Promise<PutResult>;
  /** The whole object in memory: for manifests, reports and configs, not datasets. */
  get(bucket: string, key: string): Promise<Buffer>;
  getStream(bucket: string, key: string): Promise<Readable>;
  /** Downloads to a local file (DuckDB reads staged local files; it cannot reach S3 here). */
  getFile(bucket: string, key: string, path: string): Promise<void>;
  /** `undefined` when there is no object at the key. */
  stat(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  list(bucket: string, prefix: string): Promise<ObjectInfo[]>;
  remove(bucket: string, key: string): Promise<void>;
  ensureBucket(bucket: string): Promise<void>;
}

export class ObjectNotFoundError extends SluiceError {
  override readonly name = 'ObjectNotFoundError';
  readonly kind = 'Internal';
  constructor(
    readonly bucket: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`No object s3://${bucket}/${key}`, options);
  }
}

export class PreconditionFailedError extends SluiceError {
  override readonly name = 'PreconditionFailedError';
  readonly kind = 'Internal';
  constructor(
    readonly bucket: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`Conditional write to s3://${bucket}/${key} lost: the object changed since it was read`, options);
  }
}
