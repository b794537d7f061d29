import { z } from 'zod';
import { sha256Schema } from './sha256.ts';
import { parseTimestamp } from './timestamp.ts';

/**
 * A dataset contract: what a dataset must look like before anything is trained on it. Each check has a
 * severity (an `error` that fails stops the pipeline with DatasetInvalid; a `warning` is reported and
 * passed on) and a threshold; validation measures every check in DuckDB and writes a report of
 * { check, column, severity, threshold, observed, verdict } to the reports bucket.
 *
 * Rates are fractions of all rows (0.01 = 1%). NULLs never violate a range, allowed-values or
 * timestamp check: null_rate is the check for them.
 */

const severity = z.enum(['error', 'warning']).default('error');
const rate = z.number().min(0).max(1);
const columnName = z.string().min(1);
const timestamp = z.string().refine((s) => parseTimestamp(s) !== undefined, 'expected an ISO 8601 timestamp (no offset means UTC)');

/**
 * Column type families, so a contract survives harmless changes (INTEGER → BIGINT):
 * integer = any signed/unsigned integer type; number = integer, FLOAT, DOUBLE or DECIMAL;
 * string = VARCHAR; boolean = BOOLEAN; timestamp = TIMESTAMP (any precision, with or without time zone); date = DATE.
 */
export const COLUMN_TYPE_FAMILIES = ['integer', 'number', 'string', 'boolean', 'timestamp', 'date'] as const;
export type ColumnTypeFamily = (typeof COLUMN_TYPE_FAMILIES)[number];

export const contractCheckSchema = z.discriminatedUnion('check', [
  z.strictObject({
    check: z.literal('range'),
    column: columnName,
    min: z.number().optional(),
    max: z.number().optional(),
    /** Largest share of rows allowed outside [min, max]. */
    maxViolationRate: rate.default(0),
    severity,
  }),
  z.strictObject({
    check: z.literal('allowed_values'),
    column: columnName,
    values: z.array(z.union([z.string(), z.number()])).min(1),
    maxViolationRate: rate.default(0),
    severity,
  }),
  z.strictObject({ check: z.literal('null_rate'), column: columnName, max: rate, severity }),
  z.strictObject({
    check: z.literal('duplicates'),
    /** Columns that make two rows the same; all columns when left out. */
    columns: z.array(columnName).min(1).optional(),
    /** Largest share of rows that may repeat an earlier row. */
    maxRate: rate.default(0),
    severity,
  }),
  z.strictObject({
    check: z.literal('not_in_future'),
    column: columnName,
    /** Relative to the `now` validation is given, so a re-run judges the same way. */
    maxViolationRate: rate.default(0),
    severity,
  }),
  z.strictObject({
    check: z.literal('timestamp_range'),
    column: columnName,
    /** Inclusive. */
    from: timestamp.optional(),
    /** Exclusive. */
    until: timestamp.optional(),
    maxViolationRate: rate.default(0),
    severity,
  }),
  z.strictObject({
    check: z.literal('class_balance'),
    /** A boolean expression in the feature expression language, e.g. `delay > 15`; rows where it is NULL are not counted. */
    label: z.string().min(1),
    minPositiveRate: rate.default(0),
    maxPositiveRate: rate.default(1),
    severity,
  }),
  z.strictObject({ check: z.literal('min_rows'), min: z.number().int().positive(), severity }),
  z.strictObject({
    check: z.literal('row_count_change'),
    /** Largest |rows - previous rows| / previous rows against the previous version of the same dataset name. */
    maxRelativeChange: z.number().nonnegative(),
    severity,
  }),
  z.strictObject({
    /** Any column added, removed or retyped since the previous version of the same dataset name. */
    check: z.literal('schema_change'),
    severity,
  }),
]);
export type ContractCheck = z.output<typeof contractCheckSchema>;

export const datasetContractSchema = z.strictObject({
  name: z.string().min(1).max(200),
  /** Columns that must be present with a type of the family; each is a `column_type` check. */
  columns: z.array(z.strictObject({ name: columnName, type: z.enum(COLUMN_TYPE_FAMILIES), severity })).default([]),
  checks: z.array(contractCheckSchema).default([]),
});
export type DatasetContractInput = z.input<typeof datasetContractSchema>;
export type DatasetContract = z.output<typeof datasetContractSchema>;

export const VERDICTS = ['pass', 'warn', 'fail'] as const;
export type Verdict = (typeof VERDICTS)[number];

const figures = z.record(z.string(), z.json());

export const checkResultSchema = z.strictObject({
  check: z.string(),
  column: z.string().optional(),
  severity: z.enum(['error', 'warning']),
  threshold: figures,
  observed: figures,
  /** pass; or, when the threshold is not met, fail for an error and warn for a warning. */
  verdict: z.enum(VERDICTS),
  message: z.string(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;

export const validationReportSchema = z.strictObject({
  kind: z.literal('sluice.validation-report'),
  datasetName: z.string(),
  datasetVersion: sha256Schema,
  previousVersion: sha256Schema.nullable(),
  contractName: z.string(),
  contractHash: sha256Schema,
  /** The instant "future" was judged against. */
  now: z.iso.datetime(),
  rowCount: z.number().int(),
  verdict: z.enum(VERDICTS),
  checks: z.array(checkResultSchema),
});
export type ValidationReport = z.infer<typeof validationReportSchema>;

export const validateInputSchema = z.strictObject({
  /** Whose history holds the previous version; the name in the dataset's manifest when left out. */
  datasetName: z.string().min(1).optional(),
  datasetVersion: sha256Schema,
  contract: datasetContractSchema,
  /** The instant "future" is judged against (ISO 8601); the activity's scheduled time when left out, so retries agree. */
  now: z.iso.datetime({ offset: true }).optional(),
});
export type ValidateInput = z.input<typeof validateInputSchema>;

export interface ValidationResult {
  reportKey: string;
  /** 'pass', or 'warn' when a warning-level check did not meet its threshold (a failing error-level check throws instead). */
  verdict: 'pass' | 'warn';
  /** Messages of the checks that warned. */
  warnings: string[];
  checks: number;
}
