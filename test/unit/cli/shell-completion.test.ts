import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EXIT, runCli } from '../../../cli/main.ts';

/** The script as `sluice completion <shell>` prints it. */
async function script(shell: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['completion', shell], { write: (line) => out.push(line), error: (line) => err.push(line), env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-completion-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** What real bash completes for the command line `words` (the cursor on the last word), with the generated script sourced. */
function complete(file: string, words: string[]): string[] {
  const array = words.map((w) => `'${w}'`).join(' ');
  const probe = `source '${file}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _sluice; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['--norc', '--noprofile', '-c', probe], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

test('bash completes nouns, verbs, a command\'s own options and files, from the command table', async () => {
  const { code, out } = await script('bash');
  assert.equal(code, EXIT.ok);
  const file = join(dir, 'sluice.bash');
  writeFileSync(file, out);
  writeFileSync(join(dir, 'plan.json'), '{}');

  assert.deepEqual(complete(file, ['sluice', 'de']), ['deploy']);
  assert.deepEqual(complete(file, ['sluice', '--v']), ['--version']);
  assert.deepEqual(complete(file, ['sluice', 'deploy', '']), ['pause', 'promote', 'resume', 'rollback', 'start', 'status']);
  assert.deepEqual(complete(file, ['sluice', 'deploy', 'start', 'flights', '1', '--']), ['--by', '--help', '--plan', '--reason']);
  assert.deepEqual(complete(file, ['sluice', 'monitor', 'schedule', 'm', '--max-r']), ['--max-rmse-increase']);
  // One-word commands whose next word is a model: their options still complete.
  assert.deepEqual(complete(file, ['sluice', 'score', 'flights', 'events.parquet', '--ve']), ['--version']);
  assert.deepEqual(complete(file, ['sluice', 'retrain', 'flights', '--re']), ['--reason', '--requested-by']);
  assert.deepEqual(complete(file, ['sluice', 'deploy', 'start', 'flights', '1', '--plan', 'pl']), ['plan.json']);
  assert.deepEqual(complete(file, ['sluice', 'completion', '']), ['bash', 'zsh']);
});

test('the zsh script loads bash completion first; an unknown shell is a usage error', async () => {
  const zsh = await script('zsh');
  assert.equal(zsh.code, EXIT.ok);
  assert.match(zsh.out, /^autoload -U \+X bashcompinit && bashcompinit$/m);
  assert.match(zsh.out, /^complete -o filenames -F _sluice sluice$/m);
  const help = await script('--help');
  assert.equal(help.code, EXIT.ok);
  assert.match(help.out, /^Usage: sluice completion bash\|zsh\n/);
  const fish = await script('fish');
  assert.equal(fish.code, EXIT.userError);
  assert.match(fish.err, /^Usage: sluice completion bash\|zsh {3}\(got 'fish'\)$/);
});
