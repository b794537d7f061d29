import { readFileSync } from 'node:fs';
import { ConfigError } from './config.ts';

/** A PEM file a setting names (a CA, a certificate, a key), or a ConfigError naming the setting and what is wrong with the file. */
export function readPemFile(setting: string, path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new ConfigError([`${setting}=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  if (!pem.includes('-----BEGIN ')) throw new ConfigError([`${setting}=${path}: not a PEM file (no -----BEGIN line)`]);
  return pem;
}
