import { PREDICTION_ROUTES, type PredictionRoute } from '../../shared/api/prediction-log.ts';
import type { LabelTask, LogMask } from '../../shared/data/feature-spec.ts';
import type { FeatureRows } from '../scoring/micro-batcher.ts';
import { modelOutput } from '../scoring/model-runtime.ts';

/** What one request (or one shadow scoring) adds to the prediction log: one row per event. */
export interface PredictionLogEntry {
  requestId: string;
  routingKey: string | undefined;
  /** Epoch ms when the request arrived. */
  at: number;
  route: PredictionRoute;
  latencyMs: number;
  features: FeatureRows;
  /** The model's output, row-major [rows, width]; may be a view into a micro-batch's output: it is copied, never kept. */
  scores: Float32Array;
}

/** `array`, or a copy twice as large (at least `needed`) holding its values. */
function grown<T extends Float32Array | Float64Array | Uint32Array | Int32Array | Uint8Array>(array: T, needed: number, make: (n: number) => T): T {
  if (needed <= array.length) return array;
  const bigger = make(Math.max(needed, array.length * 2));
  bigger.set(array);
  return bigger;
}

/**
 * A column of strings as UTF-8 bytes and the byte length of each piece: crossing to another thread,
 * tens of thousands of separate strings cost milliseconds to clone (a pause for every request in
 * flight), two transferred arrays cost nothing. A length of NULL_LENGTH is a null.
 */
export interface StringColumn {
  bytes: Uint8Array;
  lengths: Uint32Array;
}

export const NULL_LENGTH = 0xffffffff;

const encoder = new TextEncoder();

class StringColumnBuilder {
  private bytes = new Uint8Array(4096);
  private used = 0;
  private lengths = new Uint32Array(256);
  private count = 0;

  push(value: string | null): void {
    this.lengths = grown(this.lengths, this.count + 1, (k) => new Uint32Array(k));
    if (value === null) {
      this.lengths[this.count++] = NULL_LENGTH;
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.bytes = grown(this.bytes, this.used + value.length * 3, (k) => new Uint8Array(k));
    const bytes = this.bytes;
    const start = this.used;
    // Request ids and keys are nearly always ASCII: copied char by char, which costs a fraction of a call into the encoder.
    let i = 0;
    for (; i < value.length; i++) {
      const code = value.charCodeAt(i);
      if (code >= 0x80) break;
      bytes[start + i] = code;
    }
    const written = i === value.length ? i : encoder.encodeInto(value, bytes.subarray(start)).written;
    this.used += written;
    this.lengths[this.count++] = written;
  }

  seal(): StringColumn {
    return { bytes: this.bytes.subarray(0, this.used), lengths: this.lengths.subarray(0, this.count) };
  }
}

/**
 * The rows of one model version in one UTC hour, column by column, as they cross to the writer
 * thread. Numbers travel in typed arrays and strings as UTF-8 bytes (see StringColumn), all
 * transferred rather than copied, and no object is kept per request, so a large buffer costs the
 * garbage collector little and a flush does not pause requests.
 */
export interface PredictionLogBatch {
  model: string;
  version: number;
  hour: string;
  threshold: number;
  /** What the version predicts: which columns its file has besides the common ones. */
  task: LabelTask;
  featureNames: { numeric: readonly string[]; categorical: readonly string[] };
  /**
   * What the file writes instead of a feature's served value, per feature in `featureNames` order
   * (see LOG_MASKS); absent: every value as served. Applied on the writer thread, once per distinct
   * categorical value of the batch, so masking costs the request path nothing.
   */
  masking?: LogMasking;
  /** Set when the batch is first flushed, so a retried upload overwrites the same object. */
  fileId?: string;
  entries: {
    count: number;
    requestIds: StringColumn;
    /** null where the request had no routing key. */
    routingKeys: StringColumn;
    /** Index into PREDICTION_ROUTES. */
    routes: Uint8Array;
    at: Float64Array;
    latencyMs: Float64Array;
    /** Events per entry: entry i owns the next rows[i] rows. */
    rows: Uint32Array;
  };
  rows: {
    count: number;
    /** The model's output, row-major [count, width]: width 1, or the class count of a multiclass model. */
    scores: Float32Array;
    /** Row-major [count, kNum]; NaN = missing. */
    numeric: Float32Array;
    /** Row-major [count, kCat]: each value's code in its feature's dictionary. */
    categoricalCodes: Int32Array;
    /** Per categorical feature, its distinct values in code order ('' = missing). */
    dictionaries: StringColumn[];
  };
}

export interface LogMasking {
  numeric: readonly (LogMask | undefined)[];
  categorical: readonly (LogMask | undefined)[];
  /** SLUICE_LOG_HASH_KEY; without it a feature marked `hash` is written as NULL, never in the clear. */
  hashKey: string | undefined;
}

/** The masking of a version's features from its spec's masks by name; undefined when the spec masks none. */
export function logMasking(featureNames: PredictionLogBatch['featureNames'], masks: ReadonlyMap<string, LogMask> | undefined, hashKey: string | undefined): LogMasking | undefined {
  if (!masks || masks.size === 0) return undefined;
  return { numeric: featureNames.numeric.map((n) => masks.get(n)), categorical: featureNames.categorical.map((n) => masks.get(n)), hashKey };
}

const ROUTE_CODE: Record<PredictionRoute, number> = Object.fromEntries(PREDICTION_ROUTES.map((r, i) => [r, i])) as Record<PredictionRoute, number>;


/** Accumulates one batch; `seal` hands it out as views of its buffers, so the builder is done with after that. */
export class LogBatchBuilder {
  readonly since: number;
  private entryCount = 0;
  private rowCount = 0;
  private readonly requestIds = new StringColumnBuilder();
  private readonly routingKeys = new StringColumnBuilder();
  private routes = new Uint8Array(64);
  private at = new Float64Array(64);
  private latency = new Float64Array(64);
  private entryRows = new Uint32Array(64);
  private scores = new Float32Array(256);
  private numeric: Float32Array;
  private codes: Int32Array;
  // Categorical values are few and repeat: each is looked up once per row and encoded once per batch.
  private readonly dictionaries: { codes: Map<string, number>; values: StringColumnBuilder }[];
  private readonly kNum: number;
  private readonly kCat: number;
  private readonly width: number;
  private readonly meta: Pick<PredictionLogBatch, 'model' | 'version' | 'hour' | 'threshold' | 'task' | 'featureNames' | 'masking'>;

  /** `meta.task` defaults to binary, the kind every file had before there were others. */
  constructor(meta: Pick<PredictionLogBatch, 'model' | 'version' | 'hour' | 'threshold' | 'featureNames' | 'masking'> & { task?: LabelTask }, since: number) {
    this.meta = { ...meta, task: meta.task ?? { kind: 'binary' } };
    this.width = modelOutput(this.meta.task).width;
    this.since = since;
    this.kNum = meta.featureNames.numeric.length;
    this.kCat = meta.featureNames.categorical.length;
    this.numeric = new Float32Array(256 * this.kNum);
    this.codes = new Int32Array(256 * this.kCat);
    this.dictionaries = meta.featureNames.categorical.map(() => ({ codes: new Map(), values: new StringColumnBuilder() }));
  }

  get rows(): number {
    return this.rowCount;
  }

  add(entry: PredictionLogEntry): void {
    const e = this.entryCount;
    const n = entry.features.rows;
    const r = this.rowCount;
    if (e === this.at.length) {
      this.routes = grown(this.routes, e + 1, (k) => new Uint8Array(k));
      this.at = grown(this.at, e + 1, (k) => new Float64Array(k));
      this.latency = grown(this.latency, e + 1, (k) => new Float64Array(k));
      this.entryRows = grown(this.entryRows, e + 1, (k) => new Uint32Array(k));
    }
    this.requestIds.push(entry.requestId);
    this.routingKeys.push(entry.routingKey ?? null);
    this.routes[e] = ROUTE_CODE[entry.route];
    this.at[e] = entry.at;
    this.latency[e] = entry.latencyMs;
    this.entryRows[e] = n;
    const w = this.width;
    if ((r + n) * w > this.scores.length) this.scores = grown(this.scores, (r + n) * w, (k) => new Float32Array(k));
    if (entry.scores.length === n * w) this.scores.set(entry.scores, r * w);
    else this.scores.set(entry.scores.subarray(0, n * w), r * w);
    if (this.kNum > 0 && entry.features.numeric) {
      this.numeric = grown(this.numeric, (r + n) * this.kNum, (k) => new Float32Array(k));
      this.numeric.set(entry.features.numeric, r * this.kNum);
    }
    const categorical = entry.features.categorical;
    if (this.kCat > 0 && categorical) {
      this.codes = grown(this.codes, (r + n) * this.kCat, (k) => new Int32Array(k));
      const base = r * this.kCat;
      for (let i = 0; i < categorical.length; i++) {
        const value = categorical[i] as string;
        const dictionary = this.dictionaries[i % this.kCat] as (typeof this.dictionaries)[number];
        let code = dictionary.codes.get(value);
        if (code === undefined) {
          code = dictionary.codes.size;
          dictionary.codes.set(value, code);
          dictionary.values.push(value);
        }
        this.codes[base + i] = code;
      }
    }
    this.entryCount = e + 1;
    this.rowCount = r + n;
  }

  seal(): PredictionLogBatch {
    const e = this.entryCount;
    const r = this.rowCount;
    return {
      ...this.meta,
      entries: {
        count: e,
        requestIds: this.requestIds.seal(),
        routingKeys: this.routingKeys.seal(),
        routes: this.routes.subarray(0, e),
        at: this.at.subarray(0, e),
        latencyMs: this.latency.subarray(0, e),
        rows: this.entryRows.subarray(0, e),
      },
      rows: {
        count: r,
        scores: this.scores.subarray(0, r * this.width),
        numeric: this.numeric.subarray(0, r * this.kNum),
        categoricalCodes: this.codes.subarray(0, r * this.kCat),
        dictionaries: this.dictionaries.map((d) => d.values.seal()),
      },
    };
  }
}

/** The typed arrays of a batch, to transfer rather than copy to the writer thread. */
export function transferables(batch: PredictionLogBatch): ArrayBuffer[] {
  const { entries, rows } = batch;
  const strings = [entries.requestIds, entries.routingKeys, ...rows.dictionaries].flatMap((c) => [c.bytes, c.lengths]);
  return [entries.routes, entries.at, entries.latencyMs, entries.rows, rows.scores, rows.numeric, rows.categoricalCodes, ...strings].map((a) => a.buffer as ArrayBuffer);
}
