import { ApplicationFailure } from '@temporalio/common';
import { ERROR_KINDS, type ErrorKind, type ErrorType, SluiceError, ruleOf } from './errors.ts';

/**
 * Every failure type retrying cannot fix, from `ERROR_KINDS`: what workflows list in their activities'
 * `nonRetryableErrorTypes`.
 */
export const NON_RETRYABLE_FAILURE_TYPES: ErrorType[] = Object.values(ERROR_KINDS).flatMap((rule) => ('failure' in rule && !rule.retryable ? [rule.failure] : []));

/** The typed `ApplicationFailure` of `kind`, retryable as its rule says; `details` travel as its one detail. */
export function kindFailure(kind: ErrorKind, message: string, details?: unknown): ApplicationFailure {
  const rule = ruleOf(kind);
  return ApplicationFailure.create({ message, type: rule.failure ?? kind, nonRetryable: !rule.retryable, details: details === undefined ? [] : [details] });
}

/** A SluiceError as the `ApplicationFailure` of its kind. */
export function toApplicationFailure(err: SluiceError): ApplicationFailure {
  return kindFailure(err.kind, err.message, err.details);
}

/**
 * What an activity rethrows: a SluiceError of a kind with a failure type becomes that typed failure;
 * anything else goes on as it is, and Temporal retries it under the error's name.
 */
export function asFailure(err: unknown): unknown {
  return err instanceof SluiceError && ruleOf(err.kind).failure !== undefined ? toApplicationFailure(err) : err;
}

/** The innermost message of a failure's cause chain: what went wrong (a receiver's answer, a bad row), not "Activity task failed". */
export function innermostMessage(err: unknown): string {
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}
