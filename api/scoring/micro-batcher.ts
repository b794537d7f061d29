/**
 * Scores concurrent requests for one model version in shared model runs. ONNX Runtime's per-run cost
 * (~20-30 µs here) dwarfs the per-row cost of a small model (~2-4 µs), so one run for the requests
 * that arrive together is far cheaper than one run each.
 *
 * When to run: a request is queued and a check is scheduled with `setImmediate`, which runs after
 * the event loop has read every socket that was ready, so requests that arrived together share a run
 * and a lone request is scored on the next turn — no timer at low concurrency. Only while other
 * requests are still being received (`othersArriving`) does a batch wait for them, and never longer
 * than `maxWaitMs`; a queue that reaches `maxBatchRows` runs at once. One run at a time: what
 * arrives while the scoring thread works on a run becomes the next run as soon as it is done, so
 * under load runs grow instead of queueing up behind each other.
 */

/** Counts predict requests whose body is still arriving: the only case in which a batch waits. */
export class Arrivals {
  private receiving = 0;

  begin(): void {
    this.receiving++;
  }

  end(): void {
    this.receiving--;
  }

  readonly any = (): boolean => this.receiving > 0;
}

export interface FeatureRows {
  rows: number;
  /** Row-major [rows, kNum], NaN = missing; undefined when the model has no numeric features. */
  numeric: Float32Array | undefined;
  /** Row-major [rows, kCat], '' = missing; undefined when the model has no categorical features. */
  categorical: string[] | undefined;
}

/** One model run over `rows` rows; resolves to the model's output, row-major [rows, width]. */
export type RunModel = (features: FeatureRows) => Promise<Float32Array>;

export interface MicroBatchOptions {
  maxBatchRows: number;
  maxWaitMs: number;
  /** Whether other requests are being received that may join the batch. */
  othersArriving: () => boolean;
  onRun?: (rows: number) => void;
}

interface Pending {
  features: FeatureRows;
  resolve: (scores: Float32Array) => void;
  reject: (err: unknown) => void;
}

export class MicroBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private firstQueuedAt = 0;
  private checkScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  /** Whether a run is on the scoring thread: the next one waits for it, gathering what arrives meanwhile. */
  private running = false;

  constructor(
    /** `width`: output values per row (1, or the class count of a multiclass model). */
    private readonly shape: { kNum: number; kCat: number; width: number },
    private readonly run: RunModel,
    private readonly options: MicroBatchOptions,
  ) {}

  score(features: FeatureRows): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) this.firstQueuedAt = performance.now();
      this.queue.push({ features, resolve, reject });
      this.queuedRows += features.rows;
      if (this.queuedRows >= this.options.maxBatchRows) this.flush();
      else if (!this.checkScheduled) {
        this.checkScheduled = true;
        setImmediate(this.check);
      }
    });
  }

  private readonly check = (): void => {
    this.checkScheduled = false;
    if (this.queue.length === 0) return;
    const waited = performance.now() - this.firstQueuedAt;
    if (this.options.othersArriving() && waited < this.options.maxWaitMs) {
      // Arrivals schedule another check as they queue; the timer bounds the wait if they stall.
      this.timer ??= setTimeout(this.onTimer, this.options.maxWaitMs - waited);
      return;
    }
    this.flush();
  };

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.flush();
  };

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running || this.queue.length === 0) return;
    const batch: Pending[] = [];
    let rows = 0;
    // A request larger than the limit runs alone rather than being split.
    while (this.queue.length > 0 && (batch.length === 0 || rows + (this.queue[0] as Pending).features.rows <= this.options.maxBatchRows)) {
      const next = this.queue.shift() as Pending;
      batch.push(next);
      rows += next.features.rows;
    }
    this.queuedRows -= rows;
    if (this.queue.length > 0) this.firstQueuedAt = performance.now();
    this.dispatch(batch, rows);
  }

  private dispatch(batch: Pending[], rows: number): void {
    const features = batch.length === 1 ? (batch[0] as Pending).features : this.concatenate(batch, rows);
    this.options.onRun?.(rows);
    this.running = true;
    const settled = () => {
      this.running = false;
      // What queued during the run goes next, at once: it has already waited for a run's length.
      this.flush();
    };
    this.run(features).then(
      (scores) => {
        const { width } = this.shape;
        let offset = 0;
        for (const p of batch) {
          const size = p.features.rows * width;
          p.resolve(batch.length === 1 ? scores : scores.subarray(offset, offset + size));
          offset += size;
        }
        settled();
      },
      (err: unknown) => {
        for (const p of batch) p.reject(err);
        settled();
      },
    );
  }

  private concatenate(batch: Pending[], rows: number): FeatureRows {
    const { kNum, kCat } = this.shape;
    const numeric = kNum > 0 ? new Float32Array(rows * kNum) : undefined;
    const categorical = kCat > 0 ? new Array<string>(rows * kCat) : undefined;
    let row = 0;
    for (const { features } of batch) {
      if (numeric && features.numeric) numeric.set(features.numeric, row * kNum);
      if (categorical && features.categorical) {
        const source = features.categorical;
        const base = row * kCat;
        for (let i = 0; i < source.length; i++) categorical[base + i] = source[i] as string;
      }
      row += features.rows;
    }
    return { rows, numeric, categorical };
  }
}
