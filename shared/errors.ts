/**
 * Failure types carried by `ApplicationFailure`s. Workflows list them in `nonRetryableErrorTypes` and
 * tests assert on them, so a type is part of the contract: rename with care.
 */
export const ErrorType = {
  /** The workflow's input did not match its schema; the details list every problem. */
  InvalidInput: 'InvalidInput',
  /** Bytes read back from the object store differ from what was written. */
  StorageCorrupted: 'StorageCorrupted',
  /** An error-level validation check failed; details carry `{ reportKey, failedChecks }`. */
  DatasetInvalid: 'DatasetInvalid',
  /** The source's content no longer hashes to the dataset version the run was started for. */
  DatasetChanged: 'DatasetChanged',
  /** The exported ONNX model scores differently from the trainer; the export is not trusted. */
  OnnxParityMismatch: 'OnnxParityMismatch',
  /** The feature tables cannot be trained on (no rows, a single class...). */
  TrainingDataInvalid: 'TrainingDataInvalid',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];
