import { withDeadline } from '../../shared/deadline.ts';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { hourPartition, predictionFailureKeys, predictionLogKeys, versionTag } from '../../shared/api/prediction-log.ts';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ApiMetrics } from '../metrics/api-metrics.ts';
import type { ModelRuntime } from '../scoring/model-runtime.ts';
import type { PredictionFailureBatch, PredictionFailureEntry } from './failure-batch.ts';
import { LogBatchBuilder, type PredictionLogEntry, logMasking } from './log-batch.ts';
import type { ParquetWriter } from './parquet-writer.ts';

export interface PredictionLogDeps {
  store: ArtifactStore;
  bucket: string;
  writer: ParquetWriter;
  limits: Config['serving']['log'];
  metrics: ApiMetrics;
  log: Logger;
  /** SLUICE_LOG_HASH_KEY, for the features a spec marks `log: "hash"`. */
  hashKey?: string;
}

/** A log file is at most a few MB: an upload still going after this long is treated as failed. */
const UPLOAD_DEADLINE_MS = 30_000;

/** While the store is unreachable, a failed upload is logged the first time and then every this many retries. */
const LOG_EVERY_ATTEMPTS = 30;

interface PendingUpload {
  key: string;
  path: string;
  rows: number;
  attempts: number;
}

/**
 * Every prediction, buffered in memory and written to the predictions bucket as Parquet, one file per
 * model version and UTC hour. Recording copies the request's numbers into column buffers on the
 * request path; writing happens later, when enough rows are buffered or the oldest is old enough, and
 * at shutdown, on the writer thread. The buffer is bounded: rows beyond the bound (counting rows whose
 * file waits for a retried upload) are dropped and counted rather than letting memory grow while the
 * store is unreachable. Failed predictions (`recordFailure`) go the same way to a log of their own,
 * each counting as one row against the same bound, so the rollout judge can count a version's errors.
 */
export class PredictionLog {
  private batches = new Map<string, LogBatchBuilder>();
  private failureBatches = new Map<string, PredictionFailureBatch>();
  private bufferedRows = 0;
  /** Rows taken for writing and not yet uploaded, including files waiting for a retry. */
  private pendingRows = 0;
  private uploads: PendingUpload[] = [];
  private flushing: Promise<void> | undefined;
  private flushScheduled = false;
  private readonly timer: NodeJS.Timeout;
  private readonly dropped;
  private readonly written;
  private readonly failures;

  constructor(private readonly deps: PredictionLogDeps) {
    this.dropped = deps.metrics.logDropped.with();
    this.written = deps.metrics.logWritten.with();
    this.failures = deps.metrics.logFlushFailures.with();
    deps.metrics.logBuffered.collect(() => [{ labels: {}, value: this.heldRows }]);
    this.timer = setInterval(() => this.flushIfDue(), Math.min(deps.limits.flushIntervalMs, 1000));
    this.timer.unref();
  }

  get heldRows(): number {
    return this.bufferedRows + this.pendingRows;
  }

  get droppedRows(): number {
    return this.dropped.value;
  }

  record(runtime: ModelRuntime, entry: PredictionLogEntry): void {
    const rows = entry.features.rows;
    if (this.heldRows + rows > this.deps.limits.bufferRows) {
      this.dropped.inc(rows);
      return;
    }
    const hour = hourPartition(entry.at);
    const key = `${runtime.key}|${hour}`;
    let batch = this.batches.get(key);
    if (!batch) {
      const masking = logMasking(runtime.featureNames, runtime.assembler.logMasks, this.deps.hashKey);
      batch = new LogBatchBuilder({ model: runtime.model, version: runtime.version, hour, threshold: runtime.threshold, task: runtime.task, featureNames: runtime.featureNames, masking }, entry.at);
      this.batches.set(key, batch);
    }
    batch.add(entry);
    this.bufferedRows += rows;
    if (this.bufferedRows >= this.deps.limits.flushRows && !this.flushScheduled) {
      this.flushScheduled = true;
      // Off the request path: the current request is answered before the flush starts.
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flush();
      });
    }
  }

  /** A request that failed after `runtime` was chosen for it (a 5xx): kept for the version's error rate. */
  recordFailure(runtime: ModelRuntime, failure: PredictionFailureEntry): void {
    if (this.heldRows + 1 > this.deps.limits.bufferRows) {
      this.dropped.inc(1);
      return;
    }
    const hour = hourPartition(failure.at);
    const key = `${runtime.key}|${hour}`;
    let batch = this.failureBatches.get(key);
    if (!batch) {
      batch = { model: runtime.model, version: runtime.version, hour, since: failure.at, failures: [] };
      this.failureBatches.set(key, batch);
    }
    batch.failures.push(failure);
    this.bufferedRows += 1;
  }

  private flushIfDue(): void {
    let oldest = Infinity;
    for (const batch of this.batches.values()) oldest = Math.min(oldest, batch.since);
    for (const batch of this.failureBatches.values()) oldest = Math.min(oldest, batch.since);
    if (this.uploads.length > 0 || Date.now() - oldest >= this.deps.limits.flushIntervalMs) void this.flush();
  }

  /** Writes everything buffered now and retries failed uploads; one flush runs at a time and callers share it. */
  flush(): Promise<void> {
    this.flushing ??= this.writeAll().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    const builders = [...this.batches.values()];
    this.batches = new Map();
    const failureBatches = [...this.failureBatches.values()];
    this.failureBatches = new Map();
    this.pendingRows += this.bufferedRows;
    this.bufferedRows = 0;
    for (const builder of builders) {
      const batch = builder.seal();
      const key = predictionLogKeys.file(batch.model, batch.hour, `${versionTag(batch.version)}-${Date.now()}-${randomBytes(6).toString('hex')}`);
      try {
        this.uploads.push({ key, path: await this.deps.writer.write(batch), rows: batch.rows.count, attempts: 0 });
      } catch (err) {
        // The writer thread owns the batch's arrays now; a batch it cannot write is lost, and counted.
        this.pendingRows -= batch.rows.count;
        this.dropped.inc(batch.rows.count);
        this.failures.inc();
        this.deps.log.error('prediction log batch could not be written', { key, rows: batch.rows.count, error: (err as Error).message });
      }
    }
    for (const batch of failureBatches) {
      const key = predictionFailureKeys.file(batch.model, batch.hour, `${versionTag(batch.version)}-${Date.now()}-${randomBytes(6).toString('hex')}`);
      const rows = batch.failures.length;
      try {
        this.uploads.push({ key, path: await this.deps.writer.writeFailures(batch), rows, attempts: 0 });
      } catch (err) {
        this.pendingRows -= rows;
        this.dropped.inc(rows);
        this.failures.inc();
        this.deps.log.error('prediction failure batch could not be written', { key, rows, error: (err as Error).message });
      }
    }
    const uploads = this.uploads;
    this.uploads = [];
    for (const upload of uploads) await this.upload(upload);
  }

  private async upload(upload: PendingUpload): Promise<void> {
    try {
      // A frozen store would hold this flush, and every later one, forever: past the deadline the upload
      // is retried like a failed one (the same key, so a late first attempt is overwritten, not doubled).
      await withDeadline(this.deps.store.putFile(this.deps.bucket, upload.key, upload.path, { contentType: 'application/vnd.apache.parquet' }), UPLOAD_DEADLINE_MS, `the object store (put s3://${this.deps.bucket}/${upload.key})`);
      await rm(upload.path, { force: true });
      this.pendingRows -= upload.rows;
      this.written.inc(upload.rows);
    } catch (err) {
      // Kept and retried on the next tick; its rows count against the bound, so a long outage drops new rows, counted.
      this.failures.inc();
      upload.attempts++;
      this.uploads.push(upload);
      if (upload.attempts % LOG_EVERY_ATTEMPTS === 1) {
        this.deps.log.warn('prediction log upload failed; will retry', { key: upload.key, rows: upload.rows, attempt: upload.attempts, error: (err as Error).message });
      }
    }
  }

  /** Flushes what is buffered (a flush in progress first) and stops the timer and the writer thread; what cannot be uploaded now is lost, and counted. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
    await this.deps.writer.close();
    for (const upload of this.uploads) {
      await rm(upload.path, { force: true });
      this.dropped.inc(upload.rows);
      this.deps.log.error('prediction log file not uploaded before shutdown', { key: upload.key, rows: upload.rows, attempts: upload.attempts });
    }
    this.pendingRows = 0;
    this.uploads = [];
  }
}
