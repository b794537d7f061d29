import { register } from 'node:module';

/**
 * Loaded with `--import` after tsx, in a process whose modules a test wants to see: appends the URL of
 * every module the process (and each worker thread it starts, which inherits `--import`) resolves to
 * the file named by MODULE_RECORDER_LOG. The hooks run off the main thread, so they write the file
 * themselves.
 */
const HOOKS = `
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(file, resolved.url + '\\n');
  return resolved;
}`;

const file = process.env.MODULE_RECORDER_LOG;
if (file) register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, { data: { file } });
