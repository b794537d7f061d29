import { DuckDBDataChunk, type DuckDBConnection, DuckDBFloatType, DuckDBIntegerType, type DuckDBType } from '@duckdb/node-api';
import type { InferenceSession } from 'onnxruntime-node';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import { quoteIdentifier, quoteString } from '../features/expression/expression-sql.ts';
import { scoreWithOnnx } from './score-onnx.ts';
import { loadFeatureMatrix } from '../training/load-feature-matrix.ts';

/**
 * Scores rows [offset, offset + rows) of a local Parquet file (by file row number, so the same chunk
 * is the same rows on every retry) and writes them, every input column kept, with the columns of the
 * model's label kind (named as in the prediction log: `score` always, the headline number; regression
 * `value`; multiclass `class` and a `probabilities` struct with a field per class in the model's
 * class order), `model` and `model_version` to `outputPath`.
 */

const VECTOR = 2048;
const LABEL = '__sluice_label';

export async function scoreParquetRange(
  db: DuckDBConnection,
  session: InferenceSession,
  job: { inputPath: string; outputPath: string; offset: number; rows: number; numeric: readonly string[]; categorical: readonly string[]; model: string; version: number; task: LabelTask },
): Promise<number> {
  const source = `read_parquet(${quoteString(job.inputPath)}, file_row_number = true)`;
  await db.run(`CREATE OR REPLACE TEMP TABLE chunk AS SELECT * FROM ${source} WHERE file_row_number >= ${job.offset} AND file_row_number < ${job.offset + job.rows} ORDER BY file_row_number`);
  const matrix = await loadFeatureMatrix(db, `SELECT *, 0 AS ${LABEL} FROM chunk ORDER BY file_row_number`, { numeric: [...job.numeric], categorical: [...job.categorical], label: LABEL });
  const output = await scoreWithOnnx(session, matrix, job.task);
  const { columns, select } = kindColumns(output, matrix.rows, job.task);

  await db.run(`CREATE OR REPLACE TEMP TABLE chunk_scores (i INTEGER, ${columns.map((c) => `${c.name} ${c.type.toString()}`).join(', ')})`);
  const appender = await db.createAppender('chunk_scores', 'main', 'temp');
  for (let from = 0; from < matrix.rows; from += VECTOR) {
    const n = Math.min(VECTOR, matrix.rows - from);
    const chunk = DuckDBDataChunk.create([DuckDBIntegerType.instance, ...columns.map((c) => c.type)], n);
    const ids = chunk.getColumnVector(0);
    for (let i = 0; i < n; i++) ids.setItem(i, from + i);
    ids.flush();
    columns.forEach((column, c) => {
      const vector = chunk.getColumnVector(c + 1);
      for (let i = 0; i < n; i++) vector.setItem(i, column.values[from + i] as number);
      vector.flush();
    });
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();

  await db.run(`COPY (
    SELECT c.* EXCLUDE (file_row_number), ${select}, ${quoteString(job.model)} AS model, ${Math.trunc(job.version)}::INTEGER AS model_version
    FROM chunk c JOIN chunk_scores s ON s.i = c.file_row_number - ${job.offset}
    ORDER BY c.file_row_number
  ) TO ${quoteString(job.outputPath)} (FORMAT parquet, COMPRESSION zstd)`);
  return matrix.rows;
}

interface ScoreColumn {
  name: string;
  type: DuckDBType;
  values: ArrayLike<number>;
}

/**
 * The numbers appended per row and the SQL that turns them into the kind's output columns. A
 * multiclass row's class is its argmax (the first on ties), appended as an index and named in SQL.
 */
function kindColumns(output: Float32Array, rows: number, task: LabelTask): { columns: ScoreColumn[]; select: string } {
  const float = DuckDBFloatType.instance;
  switch (task.kind) {
    case 'binary':
      return { columns: [{ name: 'score', type: float, values: output }], select: 's.score' };
    case 'regression':
      return { columns: [{ name: 'score', type: float, values: output }], select: 's.score, s.score AS value' };
    case 'multiclass': {
      const k = task.classes.length;
      const best = new Int32Array(rows);
      const score = new Float32Array(rows);
      for (let i = 0; i < rows; i++) {
        let top = 0;
        for (let c = 1; c < k; c++) if ((output[i * k + c] as number) > (output[i * k + top] as number)) top = c;
        best[i] = top;
        score[i] = output[i * k + top] as number;
      }
      const probabilities = task.classes.map((_, c) => ({ name: `p_${c}`, type: float, values: Float32Array.from({ length: rows }, (_, i) => output[i * k + c] as number) }));
      const classList = `[${task.classes.map(quoteString).join(', ')}]`;
      const struct = `{${task.classes.map((name, c) => `${quoteString(name)}: s.p_${c}`).join(', ')}}`;
      return {
        columns: [{ name: 'score', type: float, values: score }, { name: 'class_index', type: DuckDBIntegerType.instance, values: best }, ...probabilities],
        select: `s.score, ${classList}[s.class_index + 1] AS ${quoteIdentifier('class')}, ${struct} AS probabilities`,
      };
    }
  }
}

/** Rows of a local Parquet file, from its footer. */
export async function parquetRows(db: DuckDBConnection, path: string): Promise<number> {
  const row = (await db.runAndReadAll(`SELECT sum(num_rows) AS n FROM parquet_file_metadata(${quoteString(path)})`)).getRowObjectsJS()[0];
  return Number(row?.n ?? 0);
}
