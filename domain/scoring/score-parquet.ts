import { DuckDBDataChunk, type DuckDBConnection, DuckDBFloatType, DuckDBIntegerType } from '@duckdb/node-api';
import type { InferenceSession } from 'onnxruntime-node';
import { quoteString } from '../features/expression/expression-sql.ts';
import { scoreWithOnnx } from './score-onnx.ts';
import { loadFeatureMatrix } from '../training/load-feature-matrix.ts';

/**
 * Scores rows [offset, offset + rows) of a local Parquet file (by file row number, so the same chunk
 * is the same rows on every retry) and writes them, every input column kept, with `score`, `model`
 * and `model_version` to `outputPath`.
 */

const VECTOR = 2048;
const LABEL = '__sluice_label';

export async function scoreParquetRange(
  db: DuckDBConnection,
  session: InferenceSession,
  job: { inputPath: string; outputPath: string; offset: number; rows: number; numeric: readonly string[]; categorical: readonly string[]; model: string; version: number },
): Promise<number> {
  const source = `read_parquet(${quoteString(job.inputPath)}, file_row_number = true)`;
  await db.run(`CREATE OR REPLACE TEMP TABLE chunk AS SELECT * FROM ${source} WHERE file_row_number >= ${job.offset} AND file_row_number < ${job.offset + job.rows} ORDER BY file_row_number`);
  const matrix = await loadFeatureMatrix(db, `SELECT *, 0 AS ${LABEL} FROM chunk ORDER BY file_row_number`, { numeric: [...job.numeric], categorical: [...job.categorical], label: LABEL });
  const scores = await scoreWithOnnx(session, matrix);

  await db.run(`CREATE OR REPLACE TEMP TABLE chunk_scores (i INTEGER, score FLOAT)`);
  const appender = await db.createAppender('chunk_scores', 'main', 'temp');
  for (let from = 0; from < scores.length; from += VECTOR) {
    const n = Math.min(VECTOR, scores.length - from);
    const chunk = DuckDBDataChunk.create([DuckDBIntegerType.instance, DuckDBFloatType.instance], n);
    const ids = chunk.getColumnVector(0);
    const values = chunk.getColumnVector(1);
    for (let i = 0; i < n; i++) {
      ids.setItem(i, from + i);
      values.setItem(i, scores[from + i] as number);
    }
    ids.flush();
    values.flush();
    appender.appendDataChunk(chunk);
  }
  appender.flushSync();
  appender.closeSync();

  await db.run(`COPY (
    SELECT c.* EXCLUDE (file_row_number), s.score, ${quoteString(job.model)} AS model, ${Math.trunc(job.version)}::INTEGER AS model_version
    FROM chunk c JOIN chunk_scores s ON s.i = c.file_row_number - ${job.offset}
    ORDER BY c.file_row_number
  ) TO ${quoteString(job.outputPath)} (FORMAT parquet, COMPRESSION zstd)`);
  return matrix.rows;
}

/** Rows of a local Parquet file, from its footer. */
export async function parquetRows(db: DuckDBConnection, path: string): Promise<number> {
  const row = (await db.runAndReadAll(`SELECT sum(num_rows) AS n FROM parquet_file_metadata(${quoteString(path)})`)).getRowObjectsJS()[0];
  return Number(row?.n ?? 0);
}
