import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ArtifactStore } from '../../../domain/object-store/artifact-store.ts';
import type { Config } from '../../../shared/config.ts';
export { storeFlightsFeatures } from '../../unit/api/support/flights-model.ts';
import { testConfig } from '../../unit/api/support/test-api.ts';

/**
 * A config on the test stack's MinIO with serving and predictions buckets of its own, so test files
 * running side by side never read each other's serving config or prediction log.
 */
export async function isolatedConfig(store: ArtifactStore, env: Record<string, string> = {}): Promise<Config> {
  const suffix = randomBytes(4).toString('hex');
  const config = testConfig({ SLUICE_BUCKET_SERVING: `sluice-serving-${suffix}`, SLUICE_BUCKET_PREDICTIONS: `sluice-predictions-${suffix}`, ...env });
  await store.ensureBucket(config.buckets.serving);
  await store.ensureBucket(config.buckets.predictions);
  await store.ensureBucket(config.buckets.models);
  await store.ensureBucket(config.buckets.features);
  return config;
}


/** Downloads every object under `prefix` and runs `sql` over them in DuckDB; `{files}` in the SQL is the local glob. */
export async function queryObjects(store: ArtifactStore, bucket: string, prefix: string, sql: (files: string) => string): Promise<Record<string, unknown>[]> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-api-test-'));
  try {
    const objects = await store.list(bucket, prefix);
    for (const object of objects) {
      await mkdir(dirname(join(dir, object.key)), { recursive: true });
      await store.getFile(bucket, object.key, join(dir, object.key));
    }
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      return (await connection.runAndReadAll(sql(dir))).getRowObjectsJS();
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
