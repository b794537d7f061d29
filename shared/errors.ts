/**
 * Failure types carried by `ApplicationFailure`s. Every type here names a failure that retrying cannot
 * fix, so workflows list them all in `nonRetryableErrorTypes`; tests assert on them, so a type is part
 * of the contract: rename with care.
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
  /** A dataset source (local path, URL answering 404/410, s3 object) does not exist; details carry `{ source }`. */
  SourceNotFound: 'SourceNotFound',
  /** A dataset URL could not be fetched: connection refused, DNS failure, or an HTTP error status; details carry `{ source, status? }`. */
  SourceUnreachable: 'SourceUnreachable',
  /** A dataset is in a format sluice does not read (it reads Parquet and CSV); details carry `{ source, detected }`. */
  UnsupportedFormat: 'UnsupportedFormat',
  /** A dataset file cannot be read in its format (truncated Parquet, malformed CSV); details carry `{ source, format, reason }`. */
  CorruptFile: 'CorruptFile',
  /** A dataset has no bytes or no rows; details carry `{ source, sizeBytes, rowCount }`. */
  EmptyDataset: 'EmptyDataset',
  /** No manifest for a dataset version: it was never ingested; details carry `{ datasetVersion }`. */
  DatasetNotFound: 'DatasetNotFound',
  /** A dataset lacks a column a feature spec declares, or has it with another type; details carry `{ problems }`. */
  SchemaMismatch: 'SchemaMismatch',
  /** The model or version is not in the registry; details carry `{ model, version? }`. */
  ModelNotFound: 'ModelNotFound',
  /** The registry refuses a status change (e.g. rolling out a version that was never approved); details carry `{ from, to }`. */
  RegistryRefused: 'RegistryRefused',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];
