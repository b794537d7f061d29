import { type ActivityOptions, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ProbeActivities } from '../activities/stack-check/probe-activities.ts';
import { ErrorType } from '../shared/errors.ts';
import { parseInput } from '../shared/parse-input.ts';
import { type StackCheckInput, type StackCheckResult, stackCheckInputSchema } from '../shared/stack-check.ts';
import { storageKeys } from '../shared/storage-keys.ts';

const shortIo = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [ErrorType.StorageCorrupted] },
} satisfies ActivityOptions;

const { probeBucket } = proxyActivities<ProbeActivities>(shortIo);

/**
 * Proves the wiring end to end: the worker reaches Temporal, its activity reaches MinIO, and every
 * configured bucket stores and returns the same bytes.
 */
export async function stackCheck(rawInput: StackCheckInput): Promise<StackCheckResult> {
  const input = parseInput(stackCheckInputSchema, rawInput, (problems) => `Invalid stackCheck input: ${problems.join('; ')}`);
  const { workflowId } = workflowInfo();
  const probes = await Promise.all(
    input.buckets.map((bucket) =>
      probeBucket({ workflowId, bucket, key: storageKeys.stackProbe(workflowId, bucket), note: input.note }),
    ),
  );
  return { workflowId, probes };
}
