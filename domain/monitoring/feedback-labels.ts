import type { LabelKind, LabelTask } from '../../shared/data/feature-spec.ts';
import { quoteString } from '../features/expression/expression-sql.ts';

/**
 * Feedback labels as the judges read them. The feedback JSONL stores `label` as JSON (true/false,
 * a number, or a class name), so it is read as JSON and cast by the model's kind. The cast is
 * guarded by the JSON type: DuckDB would turn 12.5 into BOOLEAN true and true into DOUBLE 1, and a
 * label of another kind is not a label of this model (it is NULL, so it never joins as one).
 */

export type FeedbackLabel = boolean | number | string;

/** SQL of the label of `kind` from a JSON column, NULL when the JSON is of another type. */
export function labelSql(kind: LabelKind, column: string): string {
  switch (kind) {
    case 'binary':
      return `CASE WHEN json_type(${column}) = 'BOOLEAN' THEN ${column}::BOOLEAN END`;
    case 'regression':
      return `CASE WHEN json_type(${column}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN ${column}::DOUBLE END`;
    case 'multiclass':
      return `CASE WHEN json_type(${column}) = 'VARCHAR' THEN json_extract_string(${column}, '$') END`;
  }
}

/**
 * The labels of the feedback files as a relation (request_id, event_index, label, received_at VARCHAR),
 * `label` cast for `kind`. Lines that name another model (the per-model feedback route records it) are
 * left out; lines without a model (the shared route, and files written before) count.
 */
export function feedbackLabelsSql(paths: readonly string[], kind: LabelKind, model: string): string {
  const files = `[${paths.map(quoteString).join(', ')}]`;
  return `(SELECT request_id, event_index, label, received_at FROM (
    SELECT request_id, event_index, ${labelSql(kind, 'label')} AS label, received_at
    FROM read_json(${files}, format = 'newline_delimited',
      columns = {request_id: 'VARCHAR', event_index: 'INTEGER', label: 'JSON', received_at: 'VARCHAR', model: 'VARCHAR'})
    WHERE model IS NULL OR model = ${quoteString(model)}) WHERE label IS NOT NULL)`;
}

/** The number a label stands for in the figures: 1/0 for binary, the value for regression, the class's index for multiclass (null: not one of its classes). */
export function labelNumber(task: LabelTask, label: FeedbackLabel): number | null {
  switch (task.kind) {
    case 'binary':
      return label === true ? 1 : 0;
    case 'regression':
      return Number(label);
    case 'multiclass': {
      const index = task.classes.indexOf(String(label));
      return index < 0 ? null : index;
    }
  }
}
