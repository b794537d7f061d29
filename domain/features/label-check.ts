import type { DuckDBConnection } from '@duckdb/node-api';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import { quoteIdentifier, quoteString } from './expression/expression-sql.ts';

/**
 * Label values a model of the spec's kind cannot learn from, counted over a feature table: a
 * regression label that is NaN or ±Infinity (DuckDB doubles carry both), or one log1p cannot take;
 * a multiclass label outside the declared classes, each unknown class named with its count. Binary
 * labels are booleans by type, so there is nothing to count. NULL labels never reach the tables.
 */
export interface LabelProblem {
  message: string;
  rows: number;
  /** Multiclass: the unknown classes with their row counts, most frequent first (at most 20). */
  unknownClasses?: { value: string; rows: number }[];
}

const SHOWN_UNKNOWN = 20;

export async function labelProblems(db: DuckDBConnection, relation: string, labelColumn: string, task: LabelTask): Promise<LabelProblem[]> {
  const label = quoteIdentifier(labelColumn);
  switch (task.kind) {
    case 'binary':
      return [];
    case 'regression': {
      const clipMin = task.transform?.clip?.min;
      // Clipping happens before log1p, so a value clipped up to a valid minimum is fine.
      const belowLog = task.transform?.log1p && clipMin === undefined ? `count(*) FILTER (WHERE ${label} <= -1)` : '0';
      const row = (
        await db.runAndReadAll(
          `SELECT count(*) FILTER (WHERE isnan(${label})), count(*) FILTER (WHERE isinf(${label})), ${belowLog}, count(*) FROM ${relation}`,
        )
      ).getRows()[0] ?? [0, 0, 0, 0];
      const [nan, inf, below, total] = row.map(Number) as [number, number, number, number];
      const problems: LabelProblem[] = [];
      if (nan > 0) problems.push({ rows: nan, message: `regression label "${labelColumn}" is NaN in ${nan} of ${total} rows` });
      if (inf > 0) problems.push({ rows: inf, message: `regression label "${labelColumn}" is ±Infinity in ${inf} of ${total} rows` });
      if (below > 0) problems.push({ rows: below, message: `regression label "${labelColumn}" is ≤ -1 in ${below} of ${total} rows, where log1p is undefined (clip it with transform.clip.min)` });
      return problems;
    }
    case 'multiclass': {
      const declared = task.classes.map(quoteString).join(', ');
      const rows = (
        await db.runAndReadAll(
          `SELECT ${label} AS value, count(*) AS n FROM ${relation} WHERE ${label} NOT IN (${declared}) GROUP BY 1 ORDER BY n DESC, value`,
        )
      ).getRows();
      if (rows.length === 0) return [];
      const unknown = rows.map(([value, n]) => ({ value: String(value), rows: Number(n) }));
      const total = unknown.reduce((sum, u) => sum + u.rows, 0);
      const shown = unknown.slice(0, SHOWN_UNKNOWN);
      const list = shown.map((u) => `${JSON.stringify(u.value)} (${u.rows})`).join(', ');
      return [
        {
          rows: total,
          unknownClasses: shown,
          message: `multiclass label "${labelColumn}" has ${total} rows outside the declared classes [${task.classes.join(', ')}]: ${list}${unknown.length > SHOWN_UNKNOWN ? `, and ${unknown.length - SHOWN_UNKNOWN} more` : ''}`,
        },
      ];
    }
  }
}
