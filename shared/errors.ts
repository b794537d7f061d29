/**
 * Failure types carried by `ApplicationFailure`s. Workflows list them in `nonRetryableErrorTypes` and
 * tests assert on them, so a type is part of the contract: rename with care.
 */
export const ErrorType = {
  /** The workflow's input did not match its schema; the details list every problem. */
  InvalidInput: 'InvalidInput',
  /** Bytes read back from the object store differ from what was written. */
  StorageCorrupted: 'StorageCorrupted',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];
