import type { z } from 'zod';

/** One line per problem, naming the field: what a person fixing a spec needs to see. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}
