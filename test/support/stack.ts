import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { MinioArtifactStore } from '../../domain/object-store/minio-store.ts';
import { type Config, loadConfig } from '../../shared/config.ts';

// Worker state changes at INFO drown the test report; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

/**
 * Integration tests talk to the stack `scripts/run-tests.ts integration` started (its addresses come
 * in SLUICE_* variables), or to the developer's own `npm run infra:up` stack when run directly.
 */
export function stackConfig(): Config {
  return loadConfig(process.env);
}

/** Task queue and workflow id derived from the test's name, unique per run, so tests never share work. */
export function testIds(testName: string) {
  const slug = testName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
  const suffix = randomBytes(4).toString('hex');
  return { taskQueue: `test-${slug}-${suffix}`, workflowId: `test-${slug}-${suffix}` };
}

export interface TemporalHandles {
  client: Client;
  nativeConnection: NativeConnection;
  store: MinioArtifactStore;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Clients for one test file; `await using` closes them whatever the outcome. */
export async function connectToStack(config: Config): Promise<TemporalHandles> {
  const connection = await Connection.connect({ address: config.temporal.address });
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  return {
    client: new Client({ connection, namespace: config.temporal.namespace }),
    nativeConnection,
    store: MinioArtifactStore.fromConfig(config.minio),
    async [Symbol.asyncDispose]() {
      await nativeConnection.close();
      await connection.close();
    },
  };
}

/** The stack's clients as a suite sees them: `stackForSuite` connects and closes them. */
export type SuiteStack = Pick<TemporalHandles, 'client' | 'nativeConnection' | 'store'>;

/**
 * The stack's clients for the enclosing `describe`: connected in a `before` hook registered here (call
 * it before the suite's own hooks, which may then use them) and closed in an `after` hook. After hooks
 * run in the order they are registered, so a suite whose own cleanup still needs the stack (stopping
 * a worker, terminating workflows) uses `connectToStack` and closes it last itself.
 */
export function stackForSuite(config: Config): SuiteStack {
  let handles: TemporalHandles | undefined;
  before(async () => {
    handles = await connectToStack(config);
  });
  after(async () => {
    await handles?.[Symbol.asyncDispose]();
  });
  const connected = () => handles ?? assert.fail('the stack is connected in the suite\'s before hook');
  return {
    get client() {
      return connected().client;
    },
    get nativeConnection() {
      return connected().nativeConnection;
    },
    get store() {
      return connected().store;
    },
  };
}
