import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SluiceError } from '../shared/errors.ts';

export class SpecFileError extends SluiceError {
  override readonly name = 'SpecFileError';
  readonly kind = 'InvalidInput';
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SpecFileError(`Cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SpecFileError(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Reads a pipeline spec file. `contract` and `features` may be given inline or as paths relative to
 * the spec file (so one feature definition can serve several pipelines); so may a relative
 * `dataset.source`. The result is one self-contained object: a workflow input must not depend on
 * files only this machine has.
 */
export function loadSpecFile(path: string): unknown {
  const specPath = resolve(path);
  const spec = readJson(specPath, 'spec file');
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new SpecFileError(`spec file ${specPath} must hold a JSON object`);
  const base = dirname(specPath);
  const out = { ...(spec as Record<string, unknown>) };
  for (const part of ['contract', 'features'] as const) {
    const value = out[part];
    if (typeof value === 'string') out[part] = readJson(resolve(base, value), `${part} file`);
  }
  const dataset = out.dataset as { source?: unknown } | undefined;
  if (dataset && typeof dataset.source === 'string' && !/^(s3|https?):\/\//.test(dataset.source)) {
    out.dataset = { ...dataset, source: resolve(base, dataset.source) };
  }
  return out;
}
