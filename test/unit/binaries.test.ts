import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../shared/config.ts';
import { BINARIES, BinaryUnavailableError, cachedPath, ensureBinary, locateBinary } from '../../scripts/infra/binaries.ts';

const emptyDir = () => mkdtempSync(join(tmpdir(), 'sluice-bin-'));

describe('binary provisioning', () => {
  test('a binary in the cache directory is used without building', async () => {
    const binDir = emptyDir();
    const cached = cachedPath(BINARIES.temporal, binDir);
    writeFileSync(cached, '#!/bin/sh\n');
    chmodSync(cached, 0o755);
    const config = loadConfig({ SLUICE_BIN_DIR: binDir });
    const lines: string[] = [];
    const path = await ensureBinary(BINARIES.temporal, config, (l) => lines.push(l), { PATH: '' });
    assert.equal(path, cached);
    assert.deepEqual(lines, [`temporal: ${cached} (cache)`]);
  });

  test('the cache file name carries the pinned version, so a version bump rebuilds', () => {
    assert.equal(cachedPath(BINARIES.temporal, '/c'), '/c/temporal-v1.5.1');
    assert.match(cachedPath(BINARIES.minio, '/c'), /^\/c\/minio-v0\.0\.0-\d{14}-[0-9a-f]{12}$/);
  });

  test('a binary on PATH is found when nothing is cached', () => {
    const pathDir = emptyDir();
    writeFileSync(join(pathDir, 'minio'), '#!/bin/sh\n');
    chmodSync(join(pathDir, 'minio'), 0o755);
    const config = loadConfig({ SLUICE_BIN_DIR: emptyDir() });
    assert.deepEqual(locateBinary(BINARIES.minio, config, { PATH: pathDir }), { path: join(pathDir, 'minio'), source: 'PATH' });
  });

  test('an explicit path that is not an executable is an error naming the variable', () => {
    const config = loadConfig({ SLUICE_MINIO_BIN: '/nowhere/minio' });
    assert.throws(() => locateBinary(BINARIES.minio, config, { PATH: '' }), (err: Error) => {
      assert.ok(err instanceof BinaryUnavailableError);
      assert.match(err.message, /^SLUICE_MINIO_BIN=\/nowhere\/minio: no executable file there/);
      return true;
    });
  });

  test('with no Go and downloads off, the error says what was tried and how to fix it', async () => {
    const config = loadConfig({ SLUICE_BIN_DIR: emptyDir(), SLUICE_ALLOW_DOWNLOAD: 'false' });
    await assert.rejects(ensureBinary(BINARIES.temporal, config, () => {}, { PATH: '' }), (err: Error) => {
      assert.ok(err instanceof BinaryUnavailableError);
      assert.match(err.message, /temporal v1\.5\.1 is not available/);
      assert.match(err.message, /go is not on PATH/);
      assert.match(err.message, /download skipped: SLUICE_ALLOW_DOWNLOAD=false/);
      assert.match(err.message, /go install github\.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1/);
      assert.match(err.message, /set SLUICE_TEMPORAL_BIN to the path of an existing temporal binary/);
      return true;
    });
  });
});
