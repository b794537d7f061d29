import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { ArtifactStore } from '../../activities/object-store/artifact-store.ts';
import { hourPartition, predictionLogKeys } from '../../shared/api/prediction-log.ts';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ApiMetrics } from '../metrics/api-metrics.ts';
import type { ModelRuntime } from '../scoring/model-runtime.ts';
import type { PredictionLogBatch, PredictionLogEntry } from './log-batch.ts';
import type { ParquetWriter } from './parquet-writer.ts';

export interface PredictionLogDeps {
  store: ArtifactStore;
  bucket: string;
  writer: ParquetWriter;
  limits: Config['serving']['log'];
  metrics: ApiMetrics;
  log: Logger;
}

/** A batch that keeps failing (e.g. the store is down for long) is retried this often, then dropped and counted. */
const MAX_ATTEMPTS = 5;

/**
 * Every prediction, buffered in memory and written to the predictions bucket as Parquet, one file per
 * model version and UTC hour. Recording is an array push on the request path; writing happens later,
 * when enough rows are buffered or the oldest is old enough, and at shutdown, on the writer thread.
 * The buffer is bounded: rows beyond the bound (including rows waiting for a retried upload) are
 * dropped and counted rather than letting memory grow while the store is unreachable.
 */
export class PredictionLog {
  private groups = new Map<string, PredictionLogBatch>();
  private bufferedRows = 0;
  /** Rows taken for writing and not yet uploaded, including batches waiting for a retry. */
  private pendingRows = 0;
  private retries: { batch: PredictionLogBatch; attempts: number }[] = [];
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
    let group = this.groups.get(key);
    if (!group) {
      group = { model: runtime.model, version: runtime.version, hour, threshold: runtime.threshold, featureNames: runtime.featureNames, entries: [], rows: 0, since: entry.at };
      this.groups.set(key, group);
    }
    group.entries.push(entry);
    group.rows += rows;
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

  private flushIfDue(): void {
    const oldest = Math.min(...[...this.groups.values()].map((g) => g.since));
    if (this.retries.length > 0 || Date.now() - oldest >= this.deps.limits.flushIntervalMs) void this.flush();
  }

  /** Writes everything buffered now; one flush runs at a time and callers share it. */
  flush(): Promise<void> {
    this.flushing ??= this.writeAll().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    const work = [...this.retries, ...[...this.groups.values()].map((batch) => ({ batch, attempts: 0 }))];
    this.retries = [];
    this.groups = new Map();
    this.pendingRows += this.bufferedRows;
    this.bufferedRows = 0;
    for (const item of work) {
      const { batch } = item;
      batch.fileId ??= `v${String(batch.version).padStart(6, '0')}-${Date.now()}-${randomBytes(6).toString('hex')}`;
      const key = predictionLogKeys.file(batch.model, batch.hour, batch.fileId);
      try {
        const path = await this.deps.writer.write(batch);
        try {
          await this.deps.store.putFile(this.deps.bucket, key, path, { contentType: 'application/vnd.apache.parquet' });
        } finally {
          await rm(path, { force: true });
        }
        this.pendingRows -= batch.rows;
        this.written.inc(batch.rows);
      } catch (err) {
        this.failures.inc();
        item.attempts++;
        if (item.attempts >= MAX_ATTEMPTS) {
          this.pendingRows -= batch.rows;
          this.dropped.inc(batch.rows);
          this.deps.log.error('prediction log batch dropped after repeated failures', { key, rows: batch.rows, attempts: item.attempts, error: (err as Error).message });
        } else {
          this.retries.push(item);
          this.deps.log.warn('prediction log flush failed; will retry', { key, rows: batch.rows, attempt: item.attempts, error: (err as Error).message });
        }
      }
    }
  }

  /** Flushes what is buffered (a flush in progress first) and stops the timer and the writer thread. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
    await this.deps.writer.close();
  }
}
