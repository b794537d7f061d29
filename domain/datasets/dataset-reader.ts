import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ApplicationFailure } from '@temporalio/common';
import type { CsvDialect, DatasetColumn, DatasetFormat } from '../../shared/data/dataset.ts';
import { ErrorType } from '../../shared/errors.ts';
import { quoteIdentifier, quoteString } from '../features/expression/expression-sql.ts';

/**
 * How sluice reads a dataset file: what format it is, whether DuckDB can read every value of it, and
 * the exact reader SQL that later stages use. A CSV's dialect and column types are detected once, over
 * the whole file, and written into the manifest, so validation and features read the same types.
 */

const PARQUET_MAGIC = 'PAR1';
const CSV_EXTENSIONS = new Set(['.csv', '.tsv', '.txt']);
const PARQUET_EXTENSIONS = new Set(['.parquet', '.pq']);

/** What the first bytes say a file is, for an error message that helps. */
function describeMagic(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip data';
  if (head.toString('latin1', 0, 2) === 'PK') return 'a zip archive (e.g. xlsx)';
  if (head.toString('latin1', 0, 3) === 'Obj') return 'Avro data';
  if (head.toString('latin1', 0, 3) === 'ORC') return 'ORC data';
  const text = head.toString('utf8').trimStart();
  if (text.startsWith('{') || text.startsWith('[')) return 'JSON';
  return 'no recognised signature';
}

export async function detectFormat(path: string, fileName: string, source: string, declared: DatasetFormat | undefined): Promise<DatasetFormat> {
  const file = await open(path, 'r');
  const head = Buffer.alloc(16);
  try {
    await file.read(head, 0, head.length, 0);
  } finally {
    await file.close();
  }
  const extension = extname(fileName).toLowerCase();
  const isParquet = head.toString('latin1', 0, 4) === PARQUET_MAGIC;
  if (declared) return declared;
  if (isParquet) return 'parquet';
  if (PARQUET_EXTENSIONS.has(extension)) {
    throw ApplicationFailure.nonRetryable(`${source}: not a Parquet file (no PAR1 magic bytes at the start; found ${describeMagic(head)})`, ErrorType.CorruptFile, {
      source,
      format: 'parquet',
      reason: 'missing PAR1 magic',
    });
  }
  if (CSV_EXTENSIONS.has(extension)) return 'csv';
  const detected = `${extension ? `extension ${extension}, ` : 'no extension, '}${describeMagic(head)}`;
  throw ApplicationFailure.nonRetryable(
    `${source}: unsupported format (${detected}); sluice reads Parquet (detected by content) and CSV (.csv, .tsv, .txt, or declare format: 'csv')`,
    ErrorType.UnsupportedFormat,
    { source, detected },
  );
}

/**
 * The reader SQL (a relation) for a dataset file, or the files of a partitioned dataset, with a known
 * schema. Files are read in the order given (so row numbers follow it); Parquet partitions are matched
 * by column name, since ingestion accepts the same columns in another order.
 */
export function readerSql(paths: string | readonly string[], format: DatasetFormat, schema: readonly DatasetColumn[], csv: CsvDialect | undefined): string {
  const files = typeof paths === 'string' ? quoteString(paths) : `[${paths.map(quoteString).join(', ')}]`;
  if (format === 'parquet') return typeof paths === 'string' ? `read_parquet(${files})` : `read_parquet(${files}, union_by_name = true)`;
  if (!csv) throw new Error('readerSql: a CSV dataset needs its dialect');
  const columns = schema.map((c) => `${quoteString(c.name)}: ${quoteString(c.type)}`).join(', ');
  const options = [
    'auto_detect = false',
    `delim = ${quoteString(csv.delimiter)}`,
    `quote = ${quoteString(csv.quote)}`,
    `escape = ${quoteString(csv.escape)}`,
    `new_line = ${quoteString(csv.newLine)}`,
    `skip = ${csv.skipRows}`,
    `comment = ${quoteString(csv.comment)}`,
    `header = ${csv.header}`,
    `columns = {${columns}}`,
    ...(csv.dateFormat ? [`dateformat = ${quoteString(csv.dateFormat)}`] : []),
    ...(csv.timestampFormat ? [`timestampformat = ${quoteString(csv.timestampFormat)}`] : []),
  ];
  return `read_csv(${files}, ${options.join(', ')})`;
}

export interface InspectedDataset {
  schema: DatasetColumn[];
  rowCount: number;
  csv: CsvDialect | undefined;
}

const firstLines = (message: string) => message.split('\n').slice(0, 3).join(' ').slice(0, 500);

const corrupt = (source: string, format: DatasetFormat, err: unknown) => {
  const reason = firstLines(err instanceof Error ? err.message : String(err));
  return ApplicationFailure.nonRetryable(`${source}: cannot be read as ${format === 'parquet' ? 'Parquet' : 'CSV'}: ${reason}`, ErrorType.CorruptFile, { source, format, reason });
};

/** A DuckDB result cell as text ('' for NULL); sniff_csv prints an empty option as "(empty)". */
const text = (value: unknown): string => (value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));
const sniffed = (value: unknown) => (value === '(empty)' ? '' : text(value));

async function sniffCsv(db: DuckDBConnection, path: string): Promise<{ schema: DatasetColumn[]; csv: CsvDialect }> {
  // sample_size = -1: detect types over every row, so a bad value on row 3 000 000 shows up now as a
  // VARCHAR column (which validation reports) rather than as a conversion error in a later stage.
  const reader = await db.runAndReadAll(`SELECT * FROM sniff_csv(${quoteString(path)}, sample_size = -1)`);
  const row = reader.getRowObjectsJS()[0];
  if (!row) throw new Error('sniff_csv returned nothing');
  const columns = (row.Columns as { name: string; type: string }[]).map((c) => ({ name: c.name, type: c.type }));
  const format = (value: unknown) => (text(value) === '' ? null : text(value));
  return {
    schema: columns,
    csv: {
      delimiter: sniffed(row.Delimiter),
      quote: sniffed(row.Quote),
      escape: sniffed(row.Escape),
      newLine: sniffed(row.NewLineDelimiter),
      skipRows: Number(row.SkipRows ?? 0),
      comment: sniffed(row.Comment),
      header: row.HasHeader === true,
      dateFormat: format(row.DateFormat),
      timestampFormat: format(row.TimestampFormat),
    },
  };
}

/**
 * Reads the whole file once: its schema, its row count, and every value of every column (a Parquet
 * footer can be intact while a data page is not). Throws CorruptFile or EmptyDataset.
 */
export async function inspectDataset(db: DuckDBConnection, path: string, format: DatasetFormat, source: string, sizeBytes: number): Promise<InspectedDataset> {
  let schema: DatasetColumn[];
  let csv: CsvDialect | undefined;
  let rowCount: number;
  try {
    if (format === 'csv') {
      ({ schema, csv } = await sniffCsv(db, path));
    } else {
      const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteString(path)})`);
      schema = described.getRowObjectsJS().map((r) => ({ name: text(r.column_name), type: text(r.column_type) }));
    }
    const relation = readerSql(path, format, schema, csv);
    // Hashing every value makes DuckDB decode every page; count(column) alone can be answered from
    // Parquet statistics without touching the data.
    const decoded = schema.map((c) => `bit_xor(hash(${quoteIdentifier(c.name)}))`);
    const reader = await db.runAndReadAll(`SELECT count(*)${decoded.length ? `, ${decoded.join(', ')}` : ''} FROM ${relation}`);
    rowCount = Number(reader.getRows()[0]?.[0] ?? 0);
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw corrupt(source, format, err);
  }
  if (rowCount === 0 || schema.length === 0) {
    throw ApplicationFailure.nonRetryable(`${source}: the ${format === 'parquet' ? 'Parquet' : 'CSV'} file has ${schema.length === 0 ? 'no columns' : 'no rows'}`, ErrorType.EmptyDataset, {
      source,
      sizeBytes,
      rowCount,
    });
  }
  return { schema, rowCount, csv };
}
