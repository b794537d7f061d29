import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Config } from '../../shared/config.ts';

/**
 * The two servers sluice runs on. Neither is packaged for npm or Debian, so they are built from their
 * Go modules at pinned versions (the cache file name carries the version, so a bump rebuilds), or
 * downloaded where the internet is reachable.
 */
export interface BinarySpec {
  name: 'temporal' | 'minio';
  goModule: string;
  version: string;
  envVar: 'SLUICE_TEMPORAL_BIN' | 'SLUICE_MINIO_BIN';
  /** Official release for linux/amd64, used only when the Go build fails and downloads are allowed. */
  download: { url: string; archiveMember?: string };
}

export const BINARIES: Record<BinarySpec['name'], BinarySpec> = {
  // v1.6+ carries a `replace` directive in its go.mod and cannot be `go install`ed.
  temporal: {
    name: 'temporal',
    goModule: 'github.com/temporalio/cli/cmd/temporal',
    version: 'v1.5.1',
    envVar: 'SLUICE_TEMPORAL_BIN',
    download: { url: 'https://temporal.download/cli/archive/v1.5.1?platform=linux&arch=amd64', archiveMember: 'temporal' },
  },
  // MinIO tags releases as RELEASE.<date>, not semver, so Go addresses them by pseudo-version.
  minio: {
    name: 'minio',
    goModule: 'github.com/minio/minio',
    version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
    envVar: 'SLUICE_MINIO_BIN',
    download: { url: 'https://dl.min.io/server/minio/release/linux-amd64/minio' },
  },
};

export class BinaryUnavailableError extends Error {
  override readonly name = 'BinaryUnavailableError';
}

export interface Reporter {
  (line: string): void;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export const cachedPath = (spec: BinarySpec, binDir: string) => join(binDir, `${spec.name}-${spec.version}`);

/** Where a binary is now, without building anything. */
export function locateBinary(spec: BinarySpec, config: Config, env: NodeJS.ProcessEnv = process.env): { path: string; source: string } | undefined {
  const explicit = spec.name === 'temporal' ? config.binaries.temporal : config.binaries.minio;
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new BinaryUnavailableError(`${spec.envVar}=${explicit}: no executable file there. Point it at a ${spec.name} binary or unset it.`);
    }
    return { path: explicit, source: spec.envVar };
  }
  const cached = cachedPath(spec, config.binDir);
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  const found = onPath(spec.name, env);
  if (found) return { path: found, source: 'PATH' };
  return undefined;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, report: Reporter): Promise<{ code: number; tail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const collect = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const heartbeat = setInterval(() => report(`  ... still running: ${cmd} ${args.join(' ')}`), 60_000);
    child.on('error', (err) => {
      clearInterval(heartbeat);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(heartbeat);
      resolve({ code: code ?? 1, tail });
    });
  });
}

async function goInstall(spec: BinarySpec, binDir: string, report: Reporter, env: NodeJS.ProcessEnv): Promise<string | string[]> {
  const go = onPath('go', env);
  if (!go) return 'go is not on PATH';
  // Build into a private directory and rename, so an interrupted build never leaves a broken binary
  // where the next run would trust it.
  const staging = join(binDir, `.build-${spec.name}-${process.pid}`);
  mkdirSync(staging, { recursive: true });
  try {
    const target = `${spec.goModule}@${spec.version}`;
    report(`building ${spec.name} with: go install ${target} (first time only; takes minutes)`);
    const { code, tail } = await run(go, ['install', target], { ...env, GOBIN: staging, CGO_ENABLED: '0' }, report);
    if (code !== 0) return [`go install ${target} exited with ${code}:`, ...tail.trim().split('\n').slice(-15)];
    const built = join(staging, spec.name);
    if (!existsSync(built)) return `go install ${target} succeeded but produced no ${spec.name} binary in ${staging}`;
    const dest = cachedPath(spec, binDir);
    renameSync(built, dest);
    return dest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function download(spec: BinarySpec, binDir: string, report: Reporter): Promise<string | string[]> {
  report(`downloading ${spec.name} from ${spec.download.url}`);
  let res: Response;
  try {
    res = await fetch(spec.download.url, { signal: AbortSignal.timeout(120_000) });
  } catch (err) {
    return `download from ${spec.download.url} failed: ${(err as Error).message}`;
  }
  if (!res.ok || !res.body) return `download from ${spec.download.url} answered HTTP ${res.status}`;
  const staging = join(binDir, `.download-${spec.name}-${process.pid}`);
  mkdirSync(staging, { recursive: true });
  try {
    const file = join(staging, spec.download.archiveMember ? 'archive.tar.gz' : spec.name);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    if (spec.download.archiveMember) {
      const { code, tail } = await run('tar', ['-xzf', file, '-C', staging, spec.download.archiveMember], process.env, report);
      if (code !== 0) return `could not unpack ${spec.download.url}: ${tail.trim()}`;
    }
    const unpacked = join(staging, spec.download.archiveMember ?? spec.name);
    chmodSync(unpacked, 0o755);
    const dest = cachedPath(spec, binDir);
    renameSync(unpacked, dest);
    return dest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Finds or provides a binary; throws `BinaryUnavailableError` saying what was tried and how to fix it. */
export async function ensureBinary(spec: BinarySpec, config: Config, report: Reporter, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const located = locateBinary(spec, config, env);
  if (located) {
    report(`${spec.name}: ${located.path} (${located.source})`);
    return located.path;
  }
  mkdirSync(config.binDir, { recursive: true });
  const started = performance.now();
  const tried: string[] = [];

  const built = await goInstall(spec, config.binDir, report, env);
  if (typeof built === 'string' && isExecutable(built)) {
    report(`${spec.name}: built ${built} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return built;
  }
  tried.push(...(Array.isArray(built) ? built : [built]));

  if (config.allowDownload) {
    const downloaded = await download(spec, config.binDir, report);
    if (typeof downloaded === 'string' && isExecutable(downloaded)) {
      report(`${spec.name}: downloaded ${downloaded} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
      return downloaded;
    }
    tried.push(...(Array.isArray(downloaded) ? downloaded : [downloaded]));
  } else {
    tried.push('download skipped: SLUICE_ALLOW_DOWNLOAD=false');
  }

  throw new BinaryUnavailableError(
    [
      `${spec.name} ${spec.version} is not available. Tried:`,
      ...tried.map((t) => `  ${t}`),
      `Fix: install Go (https://go.dev/dl) so \`go install ${spec.goModule}@${spec.version}\` can run,`,
      `  or set ${spec.envVar} to the path of an existing ${spec.name} binary.`,
    ].join('\n'),
  );
}

export async function ensureBinaries(config: Config, report: Reporter): Promise<{ temporal: string; minio: string }> {
  // Sequential on purpose: two Go builds at once on a 2-core machine take longer than one after the other.
  const temporal = await ensureBinary(BINARIES.temporal, config, report);
  const minio = await ensureBinary(BINARIES.minio, config, report);
  return { temporal, minio };
}
