import { join } from 'node:path';
import { type Config, loadConfig, loadConfigOrExit } from '../shared/config.ts';
import { ensureBinaries } from '../scripts/infra/binaries.ts';
import { freePort } from '../scripts/infra/ports.ts';

/**
 * The settings of a benchmark's own stack: data under `dir`, every port free, the binaries the
 * project provisions. A benchmark never shares a stack with `npm run infra:up` or a test run.
 */
export async function benchStackConfig(dir: string, report: (line: string) => void): Promise<{ config: Config; binaries: Awaited<ReturnType<typeof ensureBinaries>> }> {
  const binaries = await ensureBinaries(loadConfigOrExit(), report);
  const config = loadConfig({
    ...process.env,
    SLUICE_DATA_DIR: join(dir, 'stack'),
    SLUICE_TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    SLUICE_TEMPORAL_UI_PORT: String(await freePort()),
    SLUICE_MINIO_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    SLUICE_MINIO_CONSOLE_PORT: String(await freePort()),
    SLUICE_TEMPORAL_BIN: binaries.temporal,
    SLUICE_MINIO_BIN: binaries.minio,
  });
  return { config, binaries };
}
