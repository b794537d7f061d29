import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ArtifactStore } from '../object-store/artifact-store.ts';

export class SourceUnreadableError extends Error {
  override readonly name = 'SourceUnreadableError';
}

/** Opens a dataset source as a stream: a local path, an http(s) URL, or s3://bucket/key in our store. */
export async function openSource(source: string, store: ArtifactStore): Promise<Readable> {
  if (source.startsWith('s3://')) {
    const [bucket, ...rest] = source.slice('s3://'.length).split('/');
    if (!bucket || rest.length === 0) throw new SourceUnreadableError(`${source}: expected s3://bucket/key`);
    return store.getStream(bucket, rest.join('/'));
  }
  if (/^https?:\/\//.test(source)) {
    let res: Response;
    try {
      res = await fetch(source);
    } catch (err) {
      throw new SourceUnreadableError(`${source}: unreachable (${(err as Error).message})`, { cause: err });
    }
    if (!res.ok || !res.body) throw new SourceUnreadableError(`${source}: HTTP ${res.status}`);
    const { Readable } = await import('node:stream');
    return Readable.fromWeb(res.body as never);
  }
  const stream = createReadStream(source);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) => reject(new SourceUnreadableError(`${source}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : err.message}`, { cause: err })));
  });
  return stream;
}

/**
 * SHA-256 of a source's content, streamed: the dataset version a pipeline run is named after,
 * known before the run starts so the same data and spec always map to the same run.
 */
export async function fingerprintSource(source: string, store: ArtifactStore): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await openSource(source, store)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
