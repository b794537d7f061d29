import { createHash } from 'node:crypto';
import { openSource } from './source-fetch.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';

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
