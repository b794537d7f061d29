import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { ObjectNotFoundError, PreconditionFailedError } from '../../domain/object-store/artifact-store.ts';
import { MinioArtifactStore } from '../../domain/object-store/minio-store.ts';
import { stackConfig, testIds } from '../support/stack.ts';

/** The artifact-store contract, against a real MinIO. */
describe('MinioArtifactStore', () => {
  const config = stackConfig();
  const store = MinioArtifactStore.fromConfig(config.minio);
  const bucket = config.buckets.reports;

  test('put, stat, get, list and remove round-trip bytes and metadata', async (t) => {
    const prefix = `${testIds(t.name).workflowId}/`;
    const { etag } = await store.put(bucket, `${prefix}a.json`, '{"a":1}', { contentType: 'application/json', metadata: { 'sluice-kind': 'report' } });
    await store.put(bucket, `${prefix}b.bin`, Readable.from([Buffer.from([1, 2]), Buffer.from([3])]));

    const info = await store.stat(bucket, `${prefix}a.json`);
    assert.ok(info);
    assert.equal(info.size, 7);
    assert.equal(info.etag, etag);
    assert.equal(info.metadata['sluice-kind'], 'report');
    assert.equal((await store.get(bucket, `${prefix}a.json`)).toString(), '{"a":1}');
    assert.deepEqual([...(await store.get(bucket, `${prefix}b.bin`))], [1, 2, 3]);
    assert.deepEqual((await store.list(bucket, prefix)).map((o) => o.key), [`${prefix}a.json`, `${prefix}b.bin`]);

    await store.remove(bucket, `${prefix}a.json`);
    assert.equal(await store.stat(bucket, `${prefix}a.json`), undefined);
  });

  test('files go up and come down unchanged', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    writeFileSync(join(dir, 'in.bin'), payload);
    const key = `${testIds(t.name).workflowId}/blob.bin`;
    await store.putFile(bucket, key, join(dir, 'in.bin'));
    await store.getFile(bucket, key, join(dir, 'out.bin'));
    assert.ok(readFileSync(join(dir, 'out.bin')).equals(payload));
  });

  test('a missing object is ObjectNotFoundError on read and undefined on stat', async () => {
    await assert.rejects(store.get(bucket, 'no/such/object'), ObjectNotFoundError);
    await assert.rejects(store.getFile(bucket, 'no/such/object', join(tmpdir(), 'never')), ObjectNotFoundError);
    assert.equal(await store.stat(bucket, 'no/such/object'), undefined);
  });

  test('conditional writes: create-if-absent and compare-and-swap lose races loudly and keep the winner', async (t) => {
    const key = `${testIds(t.name).workflowId}/registry.json`;
    const first = await store.put(bucket, key, 'v1', { onlyIf: { absent: true } });
    await assert.rejects(store.put(bucket, key, 'v1-again', { onlyIf: { absent: true } }), PreconditionFailedError);
    assert.equal((await store.get(bucket, key)).toString(), 'v1');

    await store.put(bucket, key, 'v2', { onlyIf: { etag: first.etag } });
    await assert.rejects(store.put(bucket, key, 'v2-stale', { onlyIf: { etag: first.etag } }), PreconditionFailedError);
    assert.equal((await store.get(bucket, key)).toString(), 'v2');
  });

  test('ensureBucket is idempotent', async () => {
    await store.ensureBucket(bucket);
    await store.ensureBucket(bucket);
  });
});
