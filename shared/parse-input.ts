import type { z } from 'zod';
import { kindFailure } from './failure.ts';

/** One line per problem, naming the field (`root` where the whole value is at fault): what a person fixing a spec needs to see. */
export function describeIssues(error: z.ZodError, root = '(root)'): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : root}: ${issue.message}`);
}

/**
 * Parses a workflow's or activity's input; a mismatch is a non-retryable `InvalidInput` failure with
 * `{ problems }` as its details, so a bad input fails the run at once instead of the workflow task
 * retrying forever. Workflows call it too: it imports nothing beyond the sandbox's reach.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, message: (problems: string[]) => string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = describeIssues(parsed.error);
  throw kindFailure('InvalidInput', message(problems), { problems });
}
