import type { ExecutionProvider } from '../../shared/config.ts';
import type { LabelTask } from '../../shared/data/feature-spec.ts';
import { OUTPUT_OF_KIND } from '../../shared/model-graph.ts';
import type { ModelManifest } from '../../shared/registry.ts';
import type { FeatureAssembler } from '../features/feature-assembler.ts';
import type { EventValidator } from '../predict/event-schema.ts';
import { type PredictionJson, predictionJson } from '../predict/prediction-json.ts';
import type { CounterChild, HistogramChild } from '../metrics/exposition.ts';
import type { PredictionRoute } from '../../shared/api/prediction-log.ts';
import { type FeatureRows, type MicroBatchOptions, MicroBatcher } from './micro-batcher.ts';
import type { ScoringSession } from './scoring-thread-client.ts';

/** The graph output a model of this task is read through, and its values per row. */
export const modelOutput = (task: LabelTask): { name: string; width: number } => ({ name: OUTPUT_OF_KIND[task.kind], width: task.kind === 'multiclass' ? task.classes.length : 1 });

/**
 * One loaded model version: its ONNX session (the only one for this version), its feature
 * assembler, its request schema and its micro-batcher. Requests hold it while they score, so a
 * version the serving config drops is released only after its last request is answered.
 */
export class ModelRuntime {
  readonly model: string;
  readonly version: number;
  readonly threshold: number;
  /** What the version predicts: the shape of its answers, log rows and feedback labels. */
  readonly task: LabelTask;
  /** Output values per row: 1, or the class count of a multiclass model. */
  readonly width: number;
  /** One event's answer JSON from a run's output. */
  readonly predictionJson: PredictionJson;
  readonly featureNames: ModelManifest['featureNames'];
  readonly batcher: MicroBatcher;
  private inFlight = 0;
  private retired = false;
  private released = false;

  constructor(
    readonly manifest: ModelManifest,
    private readonly session: ScoringSession,
    readonly provider: ExecutionProvider,
    readonly assembler: FeatureAssembler,
    readonly events: EventValidator,
    batching: Omit<MicroBatchOptions, 'onRun'>,
    readonly latency: HistogramChild,
    /** Events scored by this version, per route. */
    readonly predictions: Readonly<Record<PredictionRoute, CounterChild>>,
    batchRows: HistogramChild,
    private readonly onReleased: (runtime: ModelRuntime) => void,
  ) {
    this.model = manifest.name;
    this.version = manifest.version;
    this.threshold = manifest.threshold;
    this.task = manifest.task;
    this.width = modelOutput(manifest.task).width;
    this.predictionJson = predictionJson(manifest.task, manifest.threshold, manifest.version);
    this.featureNames = manifest.featureNames;
    const shape = { kNum: manifest.featureNames.numeric.length, kCat: manifest.featureNames.categorical.length, width: this.width };
    this.batcher = new MicroBatcher(shape, (rows) => this.run(rows), { ...batching, onRun: (rows) => batchRows.observe(rows) });
  }

  get key(): string {
    return `${this.model}@${this.version}`;
  }

  /** One model run on the scoring thread: the graph contract's inputs in, the kind's output out ([rows, width]). */
  run(features: FeatureRows): Promise<Float32Array> {
    return this.session.run(features);
  }

  /**
   * Marks the runtime in use by a request from the moment it is routed here; `done` when answered.
   * A retired runtime stays loaded until its last user is done, so a swap never fails a request.
   */
  acquire(): void {
    this.inFlight++;
  }

  done(): void {
    this.inFlight--;
    if (this.retired && this.inFlight === 0) void this.release();
  }

  score(features: FeatureRows): Promise<Float32Array> {
    return this.batcher.score(features);
  }

  /** No new requests will be routed here; the session is freed once the last one finishes. */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) void this.release();
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.onReleased(this);
    await this.session.release();
  }
}
