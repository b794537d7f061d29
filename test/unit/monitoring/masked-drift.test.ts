import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { LogBatchBuilder, logMasking } from '../../../api/prediction-log/log-batch.ts';
import { predictionLogFile } from '../../../api/prediction-log/log-file.ts';
import { computeReferenceStats } from '../../../domain/features/reference-stats.ts';
import { buildDriftReport } from '../../../domain/monitoring/drift-report.ts';
import { maskedReference } from '../../../domain/monitoring/masked-reference.ts';
import { countWindow } from '../../../domain/monitoring/window-counts.ts';
import type { LogMask } from '../../../shared/data/feature-spec.ts';
import type { ReferenceStats } from '../../../shared/data/feature-tables.ts';
import { driftThresholdsSchema } from '../../../shared/monitoring.ts';

// The same served rows logged unmasked and masked (c hashed, x dropped), judged against the same
// reference: the hashed feature's statistics are those of its values; the dropped one is not judged.

const dir = mkdtempSync(join(tmpdir(), 'sluice-masked-drift-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = await (await DuckDBInstance.create(':memory:')).connect();
await db.run(`SET TimeZone = 'UTC'`);
const KEY = 'drift-hash-key-0123456789';
const FEATURES = { numeric: ['x', 'y'], categorical: ['c'] };
const HOUR = '2026-11-23T15';
const AT = Date.parse(`${HOUR}:10:00Z`);
const WINDOW = { version: 1, from: `${HOUR}:00:00.000Z`, until: '2026-11-23T16:00:00.000Z' };

async function logFile(name: string, masks: Map<string, LogMask>): Promise<string> {
  const builder = new LogBatchBuilder({ model: 'm', version: 1, hour: HOUR, threshold: 0.5, featureNames: FEATURES, masking: logMasking(FEATURES, masks, KEY) }, AT);
  let s = 7;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < 1200; i++) {
    // Served traffic leans towards k3, against a uniform reference.
    const c = next() < 0.4 ? 'k3' : `k${Math.floor(next() * 5)}`;
    builder.add({ requestId: `r${i}`, routingKey: undefined, at: AT, route: 'primary', latencyMs: 1, features: { rows: 1, numeric: Float32Array.of(next() * 100, next()), categorical: [c] }, scores: Float32Array.of(next()) });
  }
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat(predictionLogFile(builder.seal())));
  return path;
}

test('drift on a hashed categorical feature equals drift on its values; a dropped feature is left out', async () => {
  const referencePath = join(dir, 'reference.parquet');
  await db.run(`COPY (SELECT random() * 100 AS x, random() AS y, 'k' || (i % 5) AS c, i % 2 = 0 AS label FROM range(5000) t(i)) TO '${referencePath}' (FORMAT parquet)`);
  const stats = await computeReferenceStats(db, referencePath, { features: [{ name: 'x', kind: 'numeric' }, { name: 'y', kind: 'numeric' }, { name: 'c', kind: 'categorical' }], label: 'label' }, { bins: 10, topCategories: 10 });
  const reference: ReferenceStats = { kind: 'sluice.reference-stats', featureSpecHash: 'a'.repeat(64), datasetVersion: 'b'.repeat(64), split: 'train', ...stats };
  const names = ['x', 'y', 'c'];
  const thresholds = driftThresholdsSchema.parse({});
  const judge = async (path: string, ref: ReferenceStats, featureNames: string[]) =>
    buildDriftReport({ model: 'm', version: 1, window: WINDOW, reference: ref, featureNames, counts: await countWindow(db, [path], WINDOW, ref, featureNames), thresholds, seconds: 0 });

  const plain = await judge(await logFile('plain.parquet', new Map()), reference, names);
  const masks = new Map<string, LogMask>([['c', 'hash'], ['x', 'drop']]);
  const masked = maskedReference(reference, names, masks, KEY);
  const hashed = await judge(await logFile('masked.parquet', masks), masked.reference, masked.featureNames);

  const c = (r: typeof plain) => r.features.find((f) => f.name === 'c');
  assert.ok(c(plain)?.statistics.psi !== undefined && (c(plain)?.statistics.psi ?? 0) > 0.1, 'the lean towards k3 shows as drift');
  assert.deepEqual(c(hashed)?.statistics, c(plain)?.statistics, 'the same PSI, Jensen–Shannon and chi-square on hashed values');
  assert.equal(c(hashed)?.verdict, c(plain)?.verdict);
  assert.deepEqual(hashed.features.map((f) => f.name).sort(), ['c', 'y'], 'the dropped feature is not judged');
  assert.deepEqual(maskedReference(reference, names, new Map([['c', 'hash']]), undefined).featureNames, ['x', 'y'], 'without the key a hashed feature is logged NULL and not judged');
});
