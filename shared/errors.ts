import type { ApiErrorCode } from './api/errors.ts';

/**
 * What each kind of error means at every edge: activities and workflows (`shared/failure.ts`), the
 * HTTP API (`api/errors.ts`) and the CLI (`cli/command.ts`) read this one table, so the same fact
 * fails the same way wherever it surfaces.
 */
export interface KindRule {
  /** The `ApplicationFailure` type it fails with in Temporal; tests and saved histories assert on these strings. */
  readonly failure?: string;
  /** Whether retrying can help: a kind that cannot is listed in workflows' `nonRetryableErrorTypes`. */
  readonly retryable: boolean;
  /** The API's code, and through `HTTP_STATUS` (api/errors.ts) its HTTP status; without one the API answers 500 `Internal`. */
  readonly api?: ApiErrorCode;
  /** The CLI prints the message and exits with this code (`EXIT` in `cli/command.ts`); without one it is a crash. */
  readonly exit?: 'userError' | 'config' | 'unavailable';
}

export const ERROR_KINDS = {
  /** Input did not match its schema (a workflow's input, a spec, CLI arguments); the details list every problem. */
  InvalidInput: { failure: 'InvalidInput', retryable: false, api: 'InvalidRequest', exit: 'userError' },
  /** Bytes read back from the object store differ from what was written. */
  StorageCorrupted: { failure: 'StorageCorrupted', retryable: false, exit: 'userError' },
  /** An error-level validation check failed; details carry `{ reportKey, failedChecks }`. */
  DatasetInvalid: { failure: 'DatasetInvalid', retryable: false, exit: 'userError' },
  /** The source's content no longer hashes to the dataset version the run was started for, or a partition changed size while it was read. */
  DatasetChanged: { failure: 'DatasetChanged', retryable: false, exit: 'userError' },
  /** The exported ONNX model scores differently from the trainer; the export is not trusted. */
  OnnxParityMismatch: { failure: 'OnnxParityMismatch', retryable: false, exit: 'userError' },
  /** The feature tables cannot be trained on (no rows, a single class...). */
  TrainingDataInvalid: { failure: 'TrainingDataInvalid', retryable: false, exit: 'userError' },
  /** A dataset source (local path, URL answering 404/410, s3 object, partition folder) does not exist, or a partition glob matches nothing; details carry `{ source, glob?, partition? }`. */
  SourceNotFound: { failure: 'SourceNotFound', retryable: false, exit: 'userError' },
  /** A dataset URL could not be fetched: connection refused, DNS failure, or an HTTP error status; details carry `{ source, status? }`. */
  SourceUnreachable: { failure: 'SourceUnreachable', retryable: false, exit: 'userError' },
  /** A dataset is in a format sluice does not read (it reads Parquet and CSV); details carry `{ source, detected }`. */
  UnsupportedFormat: { failure: 'UnsupportedFormat', retryable: false, exit: 'userError' },
  /** A dataset file cannot be read in its format (truncated Parquet, malformed CSV); details carry `{ source, format, reason, partition? }`. */
  CorruptFile: { failure: 'CorruptFile', retryable: false, exit: 'userError' },
  /** A dataset (or one partition of it) has no bytes or no rows; details carry `{ source, sizeBytes, rowCount, partition? }`. */
  EmptyDataset: { failure: 'EmptyDataset', retryable: false, exit: 'userError' },
  /** No manifest for a dataset version: it was never ingested; details carry `{ datasetVersion }`. */
  DatasetNotFound: { failure: 'DatasetNotFound', retryable: false, exit: 'userError' },
  /** A dataset lacks a column a feature spec declares, or has it with another type, or a new partition's columns differ from its dataset's; details carry `{ problems, partition? }`. */
  SchemaMismatch: { failure: 'SchemaMismatch', retryable: false, exit: 'userError' },
  /** The model or version is not in the registry; details carry `{ model, version? }`. */
  ModelNotFound: { failure: 'ModelNotFound', retryable: false, api: 'UnknownModel', exit: 'userError' },
  /** The registry refuses a status change (e.g. rolling out a version that was never approved); details carry `{ from, to }`. */
  RegistryRefused: { failure: 'RegistryRefused', retryable: false, exit: 'userError' },
  /** The worker has no Temporal client to start a training pipeline with. */
  RetrainingUnavailable: { failure: 'RetrainingUnavailable', retryable: false },
  /** A retraining cannot be started as asked (e.g. no spec recorded for the model's current version). */
  RetrainingRefused: { retryable: false, api: 'RetrainingRefused', exit: 'userError' },
  /** A webhook receiver refused a notification (a 4xx other than 408/429): resending the same body cannot help, so it is dead-lettered. */
  WebhookRefused: { failure: 'WebhookRefused', retryable: false },
  /** The process's own configuration (SLUICE_* settings, the API keys file) is invalid. */
  ConfigInvalid: { retryable: false, exit: 'config' },
  /** Temporal or the object store cannot be reached: nothing is wrong with the input, so it is worth retrying once they are up. */
  InfrastructureUnavailable: { retryable: true, exit: 'unavailable' },
  /** A broken invariant or a failing dependency: not the caller's doing, so Temporal retries it and the API answers 500. */
  Internal: { retryable: true },
} as const satisfies Record<string, KindRule>;

export type ErrorKind = keyof typeof ERROR_KINDS;

/** The rule for `kind`, widened so callers can read optional fields of any kind. */
export const ruleOf = (kind: ErrorKind): KindRule => ERROR_KINDS[kind];

type FailureTypeOf<K extends ErrorKind> = (typeof ERROR_KINDS)[K] extends { failure: infer F extends string } ? F : never;
/** The kinds that fail Temporal activities and workflows with a typed `ApplicationFailure`. */
export type FailureKind = { [K in ErrorKind]: FailureTypeOf<K> extends never ? never : K }[ErrorKind];
export type ErrorType = { [K in ErrorKind]: FailureTypeOf<K> }[ErrorKind];

/** The Temporal failure types by name (`ErrorType.InvalidInput`), as `ApplicationFailure`s carry them. */
export const ErrorType = Object.fromEntries(
  Object.values(ERROR_KINDS).flatMap((rule: KindRule) => (rule.failure === undefined ? [] : [[rule.failure, rule.failure]])),
) as { readonly [K in FailureKind as FailureTypeOf<K>]: FailureTypeOf<K> };

/**
 * The one base of sluice's errors: its `kind` decides how it fails in Temporal, which HTTP answer and
 * which CLI exit code it becomes. Subclasses keep their own `name` (Temporal names an untyped
 * failure after it), set their `kind`, and put what a caller may act on in `details`.
 */
export abstract class SluiceError extends Error {
  abstract readonly kind: ErrorKind;
  readonly details: unknown;

  constructor(message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
  }
}
