import { stat } from 'node:fs/promises';
import type { Logger } from '../../shared/logger.ts';
import { type KeyRing, readKeysFile } from './key-ring.ts';

/**
 * Re-reads the API keys file when it changes (size or modification time, checked every `intervalMs`)
 * or on SIGHUP, so keys are added, rotated and revoked without a restart. A file that cannot be read
 * or is invalid is logged and the keys in use stay: a bad edit never locks every client out.
 */
export class KeysFileWatcher {
  private readonly timer: NodeJS.Timeout;
  private seen: string | undefined;
  private checking: Promise<void> | undefined;
  private readonly onHangup = () => void this.check(true);

  constructor(
    private readonly path: string,
    private readonly keys: KeyRing,
    intervalMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.check(false), intervalMs);
    this.timer.unref();
    process.on('SIGHUP', this.onHangup);
    void this.fingerprint().then((print) => (this.seen ??= print));
  }

  private async fingerprint(): Promise<string | undefined> {
    try {
      const s = await stat(this.path);
      return `${s.size}:${s.mtimeMs}`;
    } catch {
      return undefined;
    }
  }

  /** Reloads when the file changed (or always, when `force`); resolves when done. */
  check(force: boolean): Promise<void> {
    this.checking ??= this.reload(force).finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async reload(force: boolean): Promise<void> {
    const print = await this.fingerprint();
    if (!force && print === this.seen) return;
    this.seen = print;
    try {
      const file = await readKeysFile(this.path);
      this.keys.replace(file);
      this.log.info('API keys reloaded', { file: this.path, keys: file.keys.length });
    } catch (err) {
      this.log.error('API keys file changed but cannot be used; keeping the keys in use', { file: this.path, error: (err as Error).message });
    }
  }

  close(): void {
    clearInterval(this.timer);
    process.off('SIGHUP', this.onHangup);
  }
}
