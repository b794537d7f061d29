import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { settingsTable } from '../../scripts/settings-table.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('the README settings table is the one generated from the config schema', () => {
  assert.ok(readme.includes(settingsTable()), 'README settings table is stale: paste the output of `npx tsx scripts/settings-table.ts`');
});

test('the README names the two commands, and .ci/run calls the test one', () => {
  assert.match(readme, /npm run demo/);
  assert.match(readme, /npm test/);
  const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
  assert.match(ci, /^npm test$/m);
  assert.match(ci, /^npm ci$/m);
});
