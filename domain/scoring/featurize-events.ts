import type { DuckDBConnection } from '@duckdb/node-api';
import type { FeatureSpec } from '../../shared/data/feature-spec.ts';
import { SluiceError } from '../../shared/errors.ts';
import { quoteIdentifier, quoteString } from '../features/expression/expression-sql.ts';
import { OnlineBatchEventError, compileOnlineFeatures } from '../features/online-features.ts';
import type { OnlineFeatureStore } from '../features/online-store.ts';

/** Events read and featurized at a time: bounds memory, not the result. */
const BATCH_ROWS = 50_000;

/** A raw-events input the model's features cannot be computed from: the problem, the row and field named. */
export class BatchEventsError extends SluiceError {
  override readonly name = 'BatchEventsError';
  readonly kind = 'InvalidInput';
}

const SQL_TYPE = { timestamp: 'TIMESTAMP', number: 'DOUBLE', boolean: 'BOOLEAN', string: 'VARCHAR' } as const;
const EXPECTED = { timestamp: 'a timestamp', number: 'a number', boolean: 'a boolean', string: 'text' } as const;

/** How each event field is read from the Parquet file, as the online path takes it (timestamps as epoch ms). */
function fieldSql(name: string, type: FeatureSpec['columns'][string]): string {
  const column = quoteIdentifier(name);
  const value = `TRY_CAST(${column} AS ${SQL_TYPE[type]})`;
  return `${type === 'timestamp' ? `epoch_ms(${value})` : value} AS ${column}`;
}

/** The first row whose field is present but not of its type, named, rather than read as missing. */
async function checkFieldTypes(db: DuckDBConnection, source: string, fields: readonly string[], spec: FeatureSpec): Promise<void> {
  for (const field of fields) {
    const type = spec.columns[field] as FeatureSpec['columns'][string];
    const column = quoteIdentifier(field);
    const bad = (await db.runAndReadAll(`SELECT file_row_number, CAST(${column} AS VARCHAR) FROM ${source} WHERE ${column} IS NOT NULL AND TRY_CAST(${column} AS ${SQL_TYPE[type]}) IS NULL ORDER BY file_row_number LIMIT 1`)).getRows()[0];
    if (bad) throw new BatchEventsError(`row ${String(bad[0])}: field ${JSON.stringify(field)}: expected ${EXPECTED[type]}, got ${JSON.stringify(bad[1])}`);
  }
}

/**
 * Raw events (a local Parquet file of the fields a predict request carries) to the model's feature
 * columns, through the shared online definitions the API serves with: each event gets the features a
 * predict request would have got from the same snapshot. Writes `outputPath` with the input's columns
 * (a feature of the same name replaces one) followed by every feature column, in input order.
 */
export async function featurizeEvents(
  db: DuckDBConnection,
  job: { inputPath: string; outputPath: string; spec: FeatureSpec; store: OnlineFeatureStore; features: { numeric: readonly string[]; categorical: readonly string[] }; onBatch?: (rowsDone: number) => void },
): Promise<{ rows: number }> {
  const online = compileOnlineFeatures(job.spec);
  const source = `read_parquet(${quoteString(job.inputPath)}, file_row_number = true)`;
  const present = new Set((await db.runAndReadAll(`SELECT column_name FROM (DESCRIBE SELECT * FROM ${source})`)).getRows().map(([name]) => String(name)));
  const missing = online.requiredFields.filter((f) => !present.has(f));
  if (missing.length > 0) {
    throw new BatchEventsError(`the input has no column ${missing.map((m) => JSON.stringify(m)).join(', ')}; raw events need ${online.requiredFields.map((f) => JSON.stringify(f)).join(', ')} (or score feature columns with --feature-columns)`);
  }
  await checkFieldTypes(db, source, online.requiredFields, job.spec);
  const wanted = [...job.features.numeric.map((name) => ({ name, type: 'DOUBLE' })), ...job.features.categorical.map((name) => ({ name, type: 'VARCHAR' }))];
  const at = wanted.map(({ name }) => online.featureNames.indexOf(name));

  await db.run(`CREATE OR REPLACE TEMP TABLE __features (__row BIGINT, ${wanted.map((w) => `${quoteIdentifier(w.name)} ${w.type}`).join(', ')})`);
  const appender = await db.createAppender('__features', 'main', 'temp');
  const select = online.requiredFields.map((f) => fieldSql(f, job.spec.columns[f] as FeatureSpec['columns'][string])).join(', ');
  let rows = 0;
  for (;;) {
    const batch = (await db.runAndReadAll(`SELECT file_row_number, ${select} FROM ${source} WHERE file_row_number >= ${rows} AND file_row_number < ${rows + BATCH_ROWS} ORDER BY file_row_number`)).getRowObjectsJS();
    if (batch.length === 0) break;
    const events = batch.map((row) => {
      const event: Record<string, unknown> = {};
      for (const field of online.requiredFields) {
        const value = row[field];
        event[field] = typeof value === 'bigint' ? Number(value) : value;
      }
      return event;
    });
    let table;
    try {
      table = await online.table(events, job.store);
    } catch (err) {
      if (err instanceof OnlineBatchEventError) throw new BatchEventsError(`row ${rows + err.index}: field ${JSON.stringify(err.field)}: ${err.problem}`);
      throw err;
    }
    const width = online.featureNames.length;
    for (let i = 0; i < table.rows; i++) {
      appender.appendBigInt(BigInt(rows + i));
      wanted.forEach((w, k) => {
        const value = table.values[i * width + (at[k] as number)];
        if (value === null || value === undefined) appender.appendNull();
        else if (w.type === 'DOUBLE') appender.appendDouble(Number(value));
        else appender.appendVarchar(String(value));
      });
      appender.endRow();
    }
    rows += batch.length;
    job.onBatch?.(rows);
  }
  appender.closeSync();
  const replaced = [...present].filter((name) => wanted.some((w) => w.name === name));
  await db.run(
    `COPY (SELECT i.* EXCLUDE (file_row_number${replaced.map((n) => `, ${quoteIdentifier(n)}`).join('')}), f.* EXCLUDE (__row) FROM ${source} i JOIN __features f ON f.__row = i.file_row_number ORDER BY i.file_row_number) TO ${quoteString(job.outputPath)} (FORMAT parquet)`,
  );
  return { rows };
}
