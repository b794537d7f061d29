import { execFileSync } from 'node:child_process';

/**
 * The git commit of the code that will train, for the manifest's lineage; `-dirty` when the working
 * tree has uncommitted changes (the commit alone would not reproduce the model), `unknown` outside git.
 */
export function currentCodeVersion(cwd: string = process.cwd()): string {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return 'unknown';
  }
}
