import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { ErrorType } from '../../shared/errors.ts';
import { describeIssues } from '../../shared/parse-input.ts';

/** Parses an activity's input; a mismatch is a non-retryable InvalidInput failure listing every problem. */
export function parseActivityInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = describeIssues(parsed.error);
  throw ApplicationFailure.nonRetryable(`invalid ${what}: ${problems.join('; ')}`, ErrorType.InvalidInput, { problems });
}
