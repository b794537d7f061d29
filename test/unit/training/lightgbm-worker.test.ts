import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const python = `${root}.venv-lightgbm/bin/python`;

/**
 * The Python LightGBM worker's own tests (trainers/lightgbm/tests): every label kind's export scored
 * by onnxruntime against LightGBM, seed reproducibility, typed refusals. Its environment is built by
 * scripts/lightgbm-venv.sh, which .ci/run calls, so CI never skips this.
 */
test('the LightGBM worker passes its Python unit tests', { skip: existsSync(python) ? false : `no LightGBM environment at ${python}: run scripts/lightgbm-venv.sh` }, () => {
  const run = spawnSync(python, ['-m', 'unittest', 'discover', '-s', 'trainers/lightgbm/tests', '-t', 'trainers/lightgbm'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stderr, /Ran \d+ tests/);
});
