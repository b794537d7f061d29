import type { DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import { FeatureMatrixError, MISSING_CODE, type FeatureMatrix } from './feature-matrix.ts';

/**
 * Builds a FeatureMatrix from any DuckDB query (typically over the feature Parquet the data layer
 * writes). Rows are streamed chunk by chunk (~2k rows each) straight into growing typed arrays: no
 * row objects, and the query result is never materialised as JS values.
 */

const columnName = z.string().min(1);

export const featureColumnsSchema = z.strictObject({
  numeric: z.array(columnName),
  categorical: z.array(columnName),
  /** Binary: a boolean or 0/1 column; regression: a number; multiclass: a string naming a class. */
  label: columnName,
});
export type FeatureColumns = z.infer<typeof featureColumnsSchema>;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

class GrowingFloat64 {
  data = new Float64Array(1 << 16);
  ensure(capacity: number): void {
    if (capacity <= this.data.length) return;
    const grown = new Float64Array(Math.max(capacity, this.data.length * 2));
    grown.set(this.data);
    this.data = grown;
  }
}

class GrowingInt32 {
  data = new Int32Array(1 << 16);
  ensure(capacity: number): void {
    if (capacity <= this.data.length) return;
    const grown = new Int32Array(Math.max(capacity, this.data.length * 2));
    grown.set(this.data);
    this.data = grown;
  }
}

export async function loadFeatureMatrix(
  connection: DuckDBConnection,
  sql: string,
  columns: FeatureColumns,
  task: LabelTask = { kind: 'binary' },
): Promise<FeatureMatrix> {
  const spec = featureColumnsSchema.parse(columns);
  // Casting in SQL fixes every vector's type, so the loops below read one representation each.
  const select = [
    ...spec.numeric.map((name) => `CAST(${quote(name)} AS DOUBLE)`),
    ...spec.categorical.map((name) => `CAST(${quote(name)} AS VARCHAR)`),
    `CAST(${quote(spec.label)} AS ${task.kind === 'multiclass' ? 'VARCHAR' : 'DOUBLE'})`,
  ].join(', ');
  const classIndex = task.kind === 'multiclass' ? new Map(task.classes.map((name, i) => [name, i])) : undefined;
  const result = await connection.stream(`SELECT ${select} FROM (${sql}) AS feature_source`);

  const numeric = spec.numeric.map(() => new GrowingFloat64());
  const categorical = spec.categorical.map(() => ({ codes: new GrowingInt32(), index: new Map<string, number>() }));
  const label = new GrowingFloat64();
  const labelColumn = spec.numeric.length + spec.categorical.length;
  let rows = 0;

  for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const n = chunk.rowCount;
    const end = rows + n;
    numeric.forEach((column, j) => {
      column.ensure(end);
      const vector = chunk.getColumnVector(j);
      const out = column.data;
      for (let i = 0; i < n; i++) out[rows + i] = (vector.getItem(i) as number | null) ?? NaN;
    });
    categorical.forEach((column, j) => {
      column.codes.ensure(end);
      const vector = chunk.getColumnVector(spec.numeric.length + j);
      const out = column.codes.data;
      const index = column.index;
      for (let i = 0; i < n; i++) {
        const value = vector.getItem(i) as string | null;
        if (value === null || value === '') {
          out[rows + i] = MISSING_CODE;
          continue;
        }
        let code = index.get(value);
        if (code === undefined) {
          code = index.size;
          index.set(value, code);
        }
        out[rows + i] = code;
      }
    });
    label.ensure(end);
    const labelVector = chunk.getColumnVector(labelColumn);
    if (classIndex) {
      for (let i = 0; i < n; i++) {
        const value = labelVector.getItem(i) as string | null;
        const index = value === null ? undefined : classIndex.get(value);
        if (index === undefined) throw new FeatureMatrixError(`label "${spec.label}" is ${JSON.stringify(value)} at row ${rows + i}; expected one of the classes ${[...classIndex.keys()].join(', ')}`);
        label.data[rows + i] = index;
      }
    } else if (task.kind === 'regression') {
      for (let i = 0; i < n; i++) {
        const value = labelVector.getItem(i) as number | null;
        if (value === null || !Number.isFinite(value)) throw new FeatureMatrixError(`label "${spec.label}" is ${value} at row ${rows + i}; expected a finite number`);
        label.data[rows + i] = value;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const value = labelVector.getItem(i) as number | null;
        if (value !== 0 && value !== 1) {
          throw new FeatureMatrixError(`label "${spec.label}" is ${value} at row ${rows + i}; expected 0/1 or a boolean`);
        }
        label.data[rows + i] = value;
      }
    }
    rows = end;
  }

  return {
    rows,
    numeric: { names: [...spec.numeric], columns: numeric.map((column) => column.data.slice(0, rows)) },
    categorical: {
      names: [...spec.categorical],
      columns: categorical.map((column) => ({ dictionary: [...column.index.keys()], codes: column.codes.data.slice(0, rows) })),
    },
    ...(task.kind === 'regression'
      ? { label: new Uint8Array(rows), task: { kind: 'regression' as const, values: label.data.slice(0, rows), ...(task.transform ? { transform: task.transform } : {}) } }
      : { label: Uint8Array.from(label.data.subarray(0, rows)), ...(task.kind === 'multiclass' ? { task: { kind: 'multiclass' as const, classes: [...task.classes] } } : {}) }),
  };
}
