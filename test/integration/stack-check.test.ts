import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { stackCheck } from '../../workflows/stack-check.ts';
import { createPipelineWorker } from '../../workers/pipeline-worker.ts';
import { ErrorType } from '../../shared/errors.ts';
import { stackForSuite, stackConfig, testIds } from '../support/stack.ts';

/** The wiring slice against the real servers: worker ↔ Temporal dev server ↔ activity ↔ MinIO. */
describe('stackCheck workflow on the real stack', () => {
  const config = stackConfig();
  const stack = stackForSuite(config);


  async function runWithWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
    const worker = await createPipelineWorker({
      config: { ...config, taskQueues: { ...config.taskQueues, pipeline: taskQueue } },
      connection: stack.nativeConnection,
      store: stack.store,
    });
    return worker.runUntil(fn());
  }

  test('writes an object to every bucket and reads the same bytes back', async (t) => {
    const { taskQueue, workflowId } = testIds(t.name);
    const buckets = Object.values(config.buckets);
    const result = await runWithWorker(taskQueue, () =>
      stack.client.workflow.execute<typeof stackCheck>('stackCheck', { taskQueue, workflowId, args: [{ buckets, note: 'integration test' }] }),
    );

    assert.equal(result.workflowId, workflowId);
    assert.deepEqual(result.probes.map((p) => p.bucket).sort(), [...buckets].sort());
    for (const probe of result.probes) {
      // Read back independently of the workflow: the object is really in MinIO with those bytes.
      const body = await stack.store.get(probe.bucket, probe.key);
      assert.equal(createHash('sha256').update(body).digest('hex'), probe.sha256);
      assert.equal(body.length, probe.bytes);
      assert.deepEqual(JSON.parse(body.toString()), { workflowId, bucket: probe.bucket, note: 'integration test' });
    }

    // The run is recorded in Temporal's history, so the Temporal UI shows it.
    const description = await stack.client.workflow.getHandle(workflowId).describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(description.taskQueue, taskQueue);
  });

  test('bad input fails the run at once with a typed InvalidInput failure listing the problems', async (t) => {
    const { taskQueue, workflowId } = testIds(t.name);
    const err = await runWithWorker(taskQueue, () =>
      // @ts-expect-error -- deliberately wrong input types
      stack.client.workflow.execute<typeof stackCheck>('stackCheck', { taskQueue, workflowId, args: [{ buckets: [], note: 7 }] }).then(
        () => assert.fail('expected the workflow to fail'),
        (e: unknown) => e,
      ),
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, ErrorType.InvalidInput);
    assert.equal(err.cause.nonRetryable, true);
    const [details] = err.cause.details as [{ problems: string[] }];
    assert.equal(details.problems.length, 2);
    assert.ok(details.problems.some((p) => p.startsWith('buckets:')));
    assert.ok(details.problems.some((p) => p.startsWith('note:')));
  });
});
