import { PREDICTION_ROUTES } from '../../shared/api/prediction-log.ts';
import type { PredictionFailureBatch } from './failure-batch.ts';
import { NULL_LENGTH, type PredictionLogBatch, type StringColumn } from './log-batch.ts';
import { hashLogValue } from '../../domain/prediction-log/log-hash.ts';
import { type PageCodec, type ParquetColumn, encodeParquet } from '../../formats/parquet/parquet-file.ts';
import { bytesOf, plainBooleans, plainInt64, plainStrings } from '../../formats/parquet/plain.ts';
import { argmax } from '../predict/prediction-json.ts';

/**
 * The prediction log's files, column by column (see shared/api/prediction-log.ts for what each
 * column means). A request's fields (id, time, latency...) are stored once per request, as the
 * dictionary of their column, and each row points at its request: a batch of 100 events writes its
 * request id once. Missing values are nulls in the file: a NaN numeric feature or an empty
 * categorical one is only how the model's graph spells "missing".
 */

const CREATED_BY = 'sluice prediction log';

const constant = (path: readonly [string], type: ParquetColumn['type'], dictionary: Uint8Array, rows: number, logical?: ParquetColumn['logical']): ParquetColumn => ({
  path,
  type,
  logical,
  presentCount: rows,
  values: { encoding: 'dictionary', dictionary, size: 1, index: () => 0 },
});

/** PLAIN byte arrays straight from a column's UTF-8 pieces (no decoding), a null piece as an empty one. */
function plainStringColumn({ bytes, lengths }: StringColumn): Uint8Array {
  let size = 0;
  for (let i = 0; i < lengths.length; i++) size += 4 + (lengths[i] === NULL_LENGTH ? 0 : (lengths[i] as number));
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let read = 0;
  let write = 0;
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i] === NULL_LENGTH ? 0 : (lengths[i] as number);
    view.setUint32(write, length, true);
    out.set(bytes.subarray(read, read + length), write + 4);
    read += length;
    write += 4 + length;
  }
  return out;
}

const micros = (epochMs: ArrayLike<number>) => plainInt64(Array.from(epochMs, (ms) => Math.trunc(ms) * 1000));

export function predictionLogFile(batch: PredictionLogBatch, codec?: PageCodec): Uint8Array[] {
  const { entries, rows } = batch;
  const n = rows.count;
  const { numeric: numericNames, categorical: categoricalNames } = batch.featureNames;
  const kNum = numericNames.length;
  const kCat = categoricalNames.length;

  // Which request each row belongs to, and its place among that request's events.
  const entryOf = new Int32Array(n);
  const eventIndex = new Int32Array(n);
  for (let e = 0, r = 0; e < entries.count; e++) {
    const events = entries.rows[e] as number;
    for (let i = 0; i < events; i++, r++) {
      entryOf[r] = e;
      eventIndex[r] = i;
    }
  }
  const requestOf = (i: number) => entryOf[i] as number;
  const perRequest = (path: readonly [string], type: ParquetColumn['type'], dictionary: Uint8Array, logical?: ParquetColumn['logical']): ParquetColumn => ({
    path,
    type,
    logical,
    presentCount: n,
    values: { encoding: 'dictionary', dictionary, size: entries.count, index: requestOf },
  });

  const columns: ParquetColumn[] = [
    perRequest(['request_id'], 'BYTE_ARRAY', plainStringColumn(entries.requestIds), 'STRING'),
    { path: ['event_index'], type: 'INT32', presentCount: n, values: { encoding: 'plain', data: bytesOf(eventIndex) } },
    perRequest(['predicted_at'], 'INT64', micros(entries.at), 'TIMESTAMP_MICROS'),
    constant(['model'], 'BYTE_ARRAY', plainStrings([batch.model]), n, 'STRING'),
    constant(['model_version'], 'INT32', bytesOf(Int32Array.of(batch.version)), n),
    {
      path: ['route'],
      type: 'BYTE_ARRAY',
      logical: 'STRING',
      presentCount: n,
      values: { encoding: 'dictionary', dictionary: plainStrings(PREDICTION_ROUTES), size: PREDICTION_ROUTES.length, index: (i) => entries.routes[entryOf[i] as number] as number },
    },
    routingKeyColumn(batch, entryOf),
    ...predictionColumns(batch),
    perRequest(['latency_ms'], 'DOUBLE', bytesOf(entries.latencyMs)),
  ];

  for (let j = 0; j < kNum; j++) {
    if (batch.masking?.numeric[j] !== undefined) {
      columns.push(nullColumn(['features', numericNames[j] as string], 'FLOAT', n));
      continue;
    }
    const present = new Uint8Array(n);
    const values = new Float32Array(n);
    let count = 0;
    for (let r = 0; r < n; r++) {
      const value = rows.numeric[r * kNum + j] as number;
      if (value !== value) continue; // NaN: missing
      present[r] = 1;
      values[count++] = value;
    }
    columns.push({
      path: ['features', numericNames[j] as string],
      type: 'FLOAT',
      present: count === n ? undefined : present,
      presentCount: count,
      values: { encoding: 'plain', data: bytesOf(values.subarray(0, count)) },
    });
  }
  for (let j = 0; j < kCat; j++) {
    const mask = batch.masking?.categorical[j];
    const hashKey = batch.masking?.hashKey;
    if (mask === 'drop' || (mask === 'hash' && hashKey === undefined)) {
      columns.push(nullColumn(['features', categoricalNames[j] as string], 'BYTE_ARRAY', n, 'STRING'));
      continue;
    }
    const served = rows.dictionaries[j] as PredictionLogBatch['rows']['dictionaries'][number];
    const emptyCode = served.lengths.indexOf(0);
    const dictionary = mask === 'hash' && hashKey !== undefined ? hashedDictionary(served, hashKey) : served;
    const present = new Uint8Array(n);
    const codes = new Int32Array(n);
    let count = 0;
    for (let r = 0; r < n; r++) {
      const code = rows.categoricalCodes[r * kCat + j] as number;
      if (code === emptyCode) continue;
      present[r] = 1;
      codes[count++] = code;
    }
    columns.push({
      path: ['features', categoricalNames[j] as string],
      type: 'BYTE_ARRAY',
      logical: 'STRING',
      present: count === n ? undefined : present,
      presentCount: count,
      values:
        count === 0
          ? { encoding: 'plain', data: new Uint8Array(0) }
          : { encoding: 'dictionary', dictionary: plainStringColumn(dictionary), size: dictionary.lengths.length, index: (i) => codes[i] as number },
    });
  }
  return encodeParquet(n, columns, CREATED_BY, codec);
}

/** A column of nulls: a feature the spec drops from the log keeps its column (and type), so every file of the version has the same schema. */
const nullColumn = (path: ParquetColumn['path'], type: ParquetColumn['type'], rows: number, logical?: ParquetColumn['logical']): ParquetColumn => ({
  path,
  type,
  logical,
  present: new Uint8Array(rows),
  presentCount: 0,
  values: { encoding: 'plain', data: new Uint8Array(0) },
});

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A categorical feature's dictionary with every value replaced by its keyed hash; the empty value (missing) stays empty, so it is still written as NULL. */
function hashedDictionary({ bytes, lengths }: StringColumn, key: string): StringColumn {
  const pieces: Uint8Array[] = [];
  const hashedLengths = new Uint32Array(lengths.length);
  for (let i = 0, read = 0; i < lengths.length; i++) {
    const length = lengths[i] as number;
    const piece = length === 0 ? new Uint8Array(0) : encoder.encode(hashLogValue(key, decoder.decode(bytes.subarray(read, read + length))));
    read += length;
    pieces.push(piece);
    hashedLengths[i] = piece.length;
  }
  return { bytes: Buffer.concat(pieces), lengths: hashedLengths };
}

const plainFloats = (path: ParquetColumn['path'], values: Float32Array): ParquetColumn => ({ path, type: 'FLOAT', presentCount: values.length, values: { encoding: 'plain', data: bytesOf(values) } });

/** `score` and the columns of the version's label kind (see shared/api/prediction-log.ts). */
function predictionColumns({ task, threshold: given, rows }: PredictionLogBatch): ParquetColumn[] {
  const n = rows.count;
  const outputs = rows.scores;
  switch (task.kind) {
    case 'binary': {
      const threshold = Math.fround(given);
      return [
        plainFloats(['score'], outputs),
        constant(['threshold'], 'FLOAT', bytesOf(Float32Array.of(threshold)), n),
        { path: ['label'], type: 'BOOLEAN', presentCount: n, values: { encoding: 'plain', data: plainBooleans(n, (i) => (outputs[i] as number) >= threshold) } },
      ];
    }
    case 'regression':
      return [plainFloats(['score'], outputs), plainFloats(['value'], outputs)];
    case 'multiclass': {
      const { classes } = task;
      const k = classes.length;
      const predicted = new Int32Array(n);
      const score = new Float32Array(n);
      const byClass = classes.map(() => new Float32Array(n));
      for (let r = 0; r < n; r++) {
        const base = r * k;
        const best = argmax(outputs, base, k);
        predicted[r] = best;
        score[r] = outputs[base + best] as number;
        for (let c = 0; c < k; c++) (byClass[c] as Float32Array)[r] = outputs[base + c] as number;
      }
      return [
        plainFloats(['score'], score),
        { path: ['class'], type: 'BYTE_ARRAY', logical: 'STRING', presentCount: n, values: { encoding: 'dictionary', dictionary: plainStrings(classes), size: k, index: (i) => predicted[i] as number } },
        ...classes.map((name, c) => plainFloats(['probabilities', name], byClass[c] as Float32Array)),
      ];
    }
  }
}

/** routing_key: the request's key, null where the request sent none. */
function routingKeyColumn({ entries, rows }: PredictionLogBatch, entryOf: Int32Array): ParquetColumn {
  const present = new Uint8Array(rows.count);
  const keyed = new Int32Array(rows.count);
  let count = 0;
  for (let r = 0; r < rows.count; r++) {
    const e = entryOf[r] as number;
    if (entries.routingKeys.lengths[e] === NULL_LENGTH) continue;
    present[r] = 1;
    keyed[count++] = e;
  }
  const values: ParquetColumn['values'] =
    count === 0 ? { encoding: 'plain', data: new Uint8Array(0) } : { encoding: 'dictionary', dictionary: plainStringColumn(entries.routingKeys), size: entries.count, index: (i) => keyed[i] as number };
  return { path: ['routing_key'], type: 'BYTE_ARRAY', logical: 'STRING', present: count === rows.count ? undefined : present, presentCount: count, values };
}

/** The failed predictions of one version and hour, in the order they arrived. */
export function failureLogFile(batch: PredictionFailureBatch, codec?: PageCodec): Uint8Array[] {
  const failures = [...batch.failures].sort((a, b) => a.at - b.at);
  const n = failures.length;
  const plain = (path: readonly [string], type: ParquetColumn['type'], data: Uint8Array, logical?: ParquetColumn['logical']): ParquetColumn => ({ path, type, logical, presentCount: n, values: { encoding: 'plain', data } });
  const keys = failures.map((f) => f.routingKey);
  const keyed = keys.filter((k) => k !== undefined);
  return encodeParquet(
    n,
    [
      plain(['request_id'], 'BYTE_ARRAY', plainStrings(failures.map((f) => f.requestId)), 'STRING'),
      plain(['failed_at'], 'INT64', micros(failures.map((f) => f.at)), 'TIMESTAMP_MICROS'),
      constant(['model'], 'BYTE_ARRAY', plainStrings([batch.model]), n, 'STRING'),
      constant(['model_version'], 'INT32', bytesOf(Int32Array.of(batch.version)), n),
      plain(['route'], 'BYTE_ARRAY', plainStrings(failures.map((f) => f.route)), 'STRING'),
      {
        path: ['routing_key'],
        type: 'BYTE_ARRAY',
        logical: 'STRING',
        present: keyed.length === n ? undefined : Uint8Array.from(keys, (k) => (k === undefined ? 0 : 1)),
        presentCount: keyed.length,
        values: { encoding: 'plain', data: plainStrings(keyed) },
      },
      plain(['events'], 'INT32', bytesOf(Int32Array.from(failures, (f) => f.events))),
      plain(['error'], 'BYTE_ARRAY', plainStrings(failures.map((f) => f.error)), 'STRING'),
      plain(['latency_ms'], 'DOUBLE', bytesOf(Float64Array.from(failures, (f) => f.latencyMs))),
    ],
    CREATED_BY,
    codec,
  );
}
