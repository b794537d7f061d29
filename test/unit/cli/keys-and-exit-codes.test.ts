import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KeyRing, hashApiKey, readKeysFile } from '../../../api/auth/key-ring.ts';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { exitCodeFor } from '../../../cli/command.ts';
import { EXIT, runCli } from '../../../cli/main.ts';

/** The CLI with nothing listening where the settings point: nothing here may need a server. */
async function cli(env: NodeJS.ProcessEnv, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { write: (line) => out.push(line), error: (line) => err.push(line), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const NOWHERE = { SLUICE_TEMPORAL_ADDRESS: '127.0.0.1:1', SLUICE_MINIO_ENDPOINT: 'http://127.0.0.1:1' };

describe('sluice keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-keys-'));
  const file = join(dir, 'api-keys.json');
  const env = { ...NOWHERE, SLUICE_API_KEYS_FILE: file };

  test('create makes the file, prints the key once and stores only its hash; the API key ring accepts it', async () => {
    const { code, out } = await cli(env, 'keys', 'create', '--id', 'ana@example.com', '--scopes', 'predict,feedback', '--json');
    assert.equal(code, EXIT.ok);
    const { key, id, scopes } = JSON.parse(out) as { key: string; id: string; scopes: string[] };
    assert.equal(id, 'ana@example.com');
    assert.deepEqual(scopes, ['predict', 'feedback']);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(key), 'the key itself was written to the file');
    const parsed = await readKeysFile(file);
    assert.deepEqual(parsed.keys, [{ id: 'ana@example.com', sha256: hashApiKey(key), scopes: ['predict', 'feedback'] }]);
    const ring = new KeyRing(parsed, { perSecond: 100, burst: 100 });
    const principal = ring.authorize({ headers: { authorization: `Bearer ${key}` } } as never, 'predict', 'flights-delay');
    assert.equal(principal.id, 'ana@example.com');
  });

  test('scopes may name a model or a pattern of models', async () => {
    const created = await cli(env, 'keys', 'create', '--id', 'app-east', '--scopes', 'predict:flights-*, feedback:flights-delay', '--json');
    assert.equal(created.code, EXIT.ok, created.err);
    assert.deepEqual((JSON.parse(created.out) as { scopes: string[] }).scopes, ['predict:flights-*', 'feedback:flights-delay']);
    assert.deepEqual((await readKeysFile(file)).keys.find((k) => k.id === 'app-east')?.scopes, ['predict:flights-*', 'feedback:flights-delay']);
    assert.equal((await cli(env, 'keys', 'revoke', '--id', 'app-east')).code, EXIT.ok);
  });

  test('a second key with its own rate limit is added beside the first; list shows both without the keys', async () => {
    const created = await cli(env, 'keys', 'create', '--id', 'batch-job', '--scopes', 'predict', '--rate', '5', '--burst', '10');
    assert.equal(created.code, EXIT.ok, created.err);
    const key = created.out.split('\n')[1] ?? '';
    assert.match(key, /^sk_[A-Za-z0-9_-]{32}$/);
    const listed = await cli(env, 'keys', 'list', '--json');
    const keys = JSON.parse(listed.out) as { id: string; rateLimit?: unknown }[];
    assert.deepEqual(keys.map((k) => k.id), ['ana@example.com', 'batch-job']);
    assert.deepEqual(keys[1]?.rateLimit, { perSecond: 5, burst: 10 });
    assert.ok(!listed.out.includes(key));
  });

  test('bad input is refused with the problem named and the file untouched', async () => {
    const before = readFileSync(file, 'utf8');
    const duplicate = await cli(env, 'keys', 'create', '--id', 'batch-job', '--scopes', 'predict');
    assert.equal(duplicate.code, EXIT.userError);
    assert.match(duplicate.err, /already has a key for "batch-job"/);
    const scope = await cli(env, 'keys', 'create', '--id', 'eve', '--scopes', 'predict,root');
    assert.equal(scope.code, EXIT.userError);
    assert.match(scope.err, /--scopes: "root" is not a scope: expected predict, feedback, admin \(every model\), or one of them followed by :MODEL or :PATTERN/);
    for (const [bad, problem] of [
      ['predict:Flights', /"predict:Flights" names no model: after "predict:" comes a model name/],
      ['admin:', /"admin:" names no model/],
      ['feedback:flights_*', /"feedback:flights_\*" names no model/],
      ['root:flights-delay', /"root:flights-delay" is not a scope/],
    ] as const) {
      const refused = await cli(env, 'keys', 'create', '--id', 'eve', '--scopes', `predict,${bad}`);
      assert.equal(refused.code, EXIT.userError, bad);
      assert.match(refused.err, problem);
    }
    const badId = await cli(env, 'keys', 'create', '--id', 'has space', '--scopes', 'predict');
    assert.equal(badId.code, EXIT.userError);
    assert.match(badId.err, /keys\.2\.id|expected an id/);
    const unknown = await cli(env, 'keys', 'revoke', '--id', 'nobody');
    assert.equal(unknown.code, EXIT.userError);
    assert.match(unknown.err, /no key for "nobody"; its ids are: ana@example.com, batch-job/);
    writeFileSync(`${file}.lock`, '');
    const locked = await cli(env, 'keys', 'revoke', '--id', 'batch-job');
    assert.equal(locked.code, EXIT.userError);
    assert.match(locked.err, /another edit of the keys file is under way/);
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  test('revoke removes the key: the key ring no longer accepts it', async () => {
    const { rmSync } = await import('node:fs');
    rmSync(`${file}.lock`);
    const revoked = await cli(env, 'keys', 'revoke', '--id', 'ana@example.com');
    assert.equal(revoked.code, EXIT.ok, revoked.err);
    assert.deepEqual((await readKeysFile(file)).keys.map((k) => k.id), ['batch-job']);
  });

  test('without a keys file setting, the commands say how to give one', async () => {
    const { code, err } = await cli(NOWHERE, 'keys', 'list');
    assert.equal(code, EXIT.userError);
    assert.match(err, /no keys file: pass --file PATH or set SLUICE_API_KEYS_FILE/);
  });
});

describe('unreachable infrastructure has its own exit code', () => {
  test('Temporal not answering: exit 5 naming SLUICE_TEMPORAL_ADDRESS', async () => {
    const { code, err } = await cli(NOWHERE, 'pipeline', 'list');
    assert.equal(code, EXIT.unavailable);
    assert.match(err, /Cannot reach Temporal at 127\.0\.0\.1:1 \(SLUICE_TEMPORAL_ADDRESS\)/);
  });

  test('a store-only command does not need Temporal, and an unreachable store is exit 5 naming SLUICE_MINIO_ENDPOINT', async () => {
    const { code, err } = await cli(NOWHERE, 'models', 'list');
    assert.equal(code, EXIT.unavailable);
    assert.match(err, /Cannot reach the object store at http:\/\/127\.0\.0\.1:1 \(SLUICE_MINIO_ENDPOINT\)/);
    assert.doesNotMatch(err, /Temporal/);
  });
});

describe('a run that ends failed', () => {
  test('is exit 4 with its chain of causes in one line, not a stack trace', () => {
    const timeout = new TimeoutFailure('activity Heartbeat timeout', undefined, TimeoutType.HEARTBEAT);
    const activity = new ActivityFailure('Activity task timed out', 'trainCandidate', '4', RetryState.TIMEOUT, 'worker-1', timeout);
    const lines: string[] = [];
    const code = exitCodeFor(new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE), (line) => lines.push(line));
    assert.equal(code, EXIT.runFailed);
    assert.deepEqual(lines, ['The run failed: activity trainCandidate: Activity task timed out: activity Heartbeat timeout. Its history in the Temporal UI has the details.']);
  });
});
