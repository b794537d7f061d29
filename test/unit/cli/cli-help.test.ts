import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT, runCli } from '../../../cli/main.ts';

/** Runs the CLI with no stack: help and usage mistakes are answered before anything is connected. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { write: (line) => out.push(line), error: (line) => err.push(line), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test("'sluice <noun> --help' lists that noun's commands with their help", async () => {
  const { code, out } = await cli('deploy', '--help');
  assert.equal(code, EXIT.ok);
  for (const verb of ['start', 'status', 'promote', 'pause', 'resume', 'rollback']) assert.match(out, new RegExp(`Usage: sluice deploy ${verb} `), verb);
  assert.doesNotMatch(out, /sluice pipeline/);
});

test('an unknown verb of a known noun names the noun and its commands; an unknown noun gets the main help', async () => {
  const wrongVerb = await cli('features', 'refesh', 'flights-delay');
  assert.equal(wrongVerb.code, EXIT.userError);
  assert.match(wrongVerb.err, /'sluice features refesh flights-delay' is not a command\. The features commands:/);
  assert.match(wrongVerb.err, /Usage: sluice features refresh /);
  const wrongNoun = await cli('deplyo', '--help');
  assert.equal(wrongNoun.code, EXIT.userError);
  assert.match(wrongNoun.err, /^unknown command 'deplyo --help'/);
  assert.match(wrongNoun.err, /Usage:\n {2}sluice pipeline start/);
});

test("a command's own --help is its help alone", async () => {
  const { code, out } = await cli('retrain', 'schedule', '--help');
  assert.equal(code, EXIT.ok);
  assert.match(out, /^Usage: sluice retrain schedule /);
});

test("'sluice --version' says the package version and the code's commit", async () => {
  const { code, out } = await cli('--version');
  assert.equal(code, EXIT.ok);
  assert.match(out, /^sluice \d+\.\d+\.\d+ \(code ([0-9a-f]{40}(-dirty)?|unknown)\)$/);
});
