import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PORT_ATTEMPTS, startOnFreshPorts } from '../../scripts/infra/fresh-ports.ts';
import { StackStartError } from '../../scripts/infra/stack.ts';

/** The test runner's stack start: a port lost to another process between choosing and binding it is retried on new ports, nothing else is. */
describe('startOnFreshPorts', () => {
  const taken = () => new StackStartError('minio server exited with code 1 while starting. Last lines: FATAL Unable to initialize console server: Specified port is already in use');

  function steps(failures: Error[]) {
    const log: string[] = [];
    let chosen = 0;
    return {
      log,
      steps: {
        settings: async () => ({ SLUICE_MINIO_CONSOLE_PORT: String(40000 + ++chosen) }),
        start: async (settings: Record<string, string | undefined>) => {
          log.push(`start ${settings.SLUICE_MINIO_CONSOLE_PORT}`);
          const failure = failures.shift();
          if (failure) throw failure;
        },
        discard: async () => {
          log.push('discard');
        },
        report: (line: string) => log.push(line),
      },
    };
  }

  test('a port taken while starting: the stack is discarded and started again on other ports', async () => {
    const { log, steps: s } = steps([taken()]);
    assert.deepEqual(await startOnFreshPorts(s), { SLUICE_MINIO_CONSOLE_PORT: '40002' });
    assert.deepEqual(log, ['start 40001', `a port was taken while the stack started (attempt 1 of ${PORT_ATTEMPTS}); starting again on other ports`, 'discard', 'start 40002']);
  });

  test('gives up after the last attempt, and never retries another kind of failure', async () => {
    await assert.rejects(startOnFreshPorts(steps(Array.from({ length: PORT_ATTEMPTS }, taken)).steps), /already in use/);
    const other = steps([new StackStartError('temporal server exited with code 2 while starting: bad flag')]);
    await assert.rejects(startOnFreshPorts(other.steps), /bad flag/);
    assert.deepEqual(other.log, ['start 40001']);
    const notStack = steps([new Error('address already in use, but not from a server start')]);
    await assert.rejects(startOnFreshPorts(notStack.steps), /not from a server start/);
  });
});
