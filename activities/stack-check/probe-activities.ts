import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import type { ProbeResult } from '../../shared/stack-check.ts';
import { ErrorType } from '../../shared/errors.ts';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * Writes one object and reads it back. Deterministic content per (workflow, bucket) keeps a retried
 * attempt idempotent: it rewrites the same bytes at the same key.
 */
export const createProbeActivities = (deps: { store: ArtifactStore }) => ({
  async probeBucket(input: { workflowId: string; bucket: string; key: string; note: string }): Promise<ProbeResult> {
    const body = JSON.stringify({ workflowId: input.workflowId, bucket: input.bucket, note: input.note });
    const expected = sha256(body);

    const t0 = performance.now();
    const { etag } = await deps.store.put(input.bucket, input.key, body, { contentType: 'application/json' });
    const t1 = performance.now();
    const readBack = await deps.store.get(input.bucket, input.key);
    const t2 = performance.now();

    const actual = sha256(readBack);
    if (actual !== expected) {
      throw ApplicationFailure.nonRetryable(
        `Object s3://${input.bucket}/${input.key} read back with SHA-256 ${actual}, expected ${expected}: the object store returned different bytes than were written`,
        ErrorType.StorageCorrupted,
      );
    }
    return { bucket: input.bucket, key: input.key, bytes: readBack.length, sha256: actual, etag, writeMs: t1 - t0, readMs: t2 - t1 };
  },
});

export type ProbeActivities = ReturnType<typeof createProbeActivities>;
