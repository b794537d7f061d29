import type { RawEvent } from '../../shared/api/predict.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ApiMetrics } from '../metrics/api-metrics.ts';
import type { PredictionLog } from '../prediction-log/prediction-log.ts';
import { FeatureInputError } from '../features/feature-assembler.ts';
import type { ModelRuntime } from '../scoring/model-runtime.ts';

export interface ShadowJob {
  runtime: ModelRuntime;
  events: readonly RawEvent[];
  requestId: string;
  routingKey: string | undefined;
  at: number;
}

/**
 * Scores requests with a shadow version after they are answered: its scores go to the prediction
 * log (route `shadow`) and never to the caller, and its cost never delays an answer. The queue is
 * bounded; beyond it a shadow scoring is skipped and counted, because a shadow must not be able to
 * hurt the versions that serve.
 */
export class ShadowScorer {
  private pendingEvents = 0;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly deps: { log: PredictionLog; metrics: ApiMetrics; logger: Logger; maxPending: number },
  ) {}

  /** The caller has acquired `job.runtime`; it is released here once the shadow scoring is done. */
  submit(job: ShadowJob): void {
    const n = job.events.length;
    if (this.pendingEvents + n > this.deps.maxPending) {
      this.deps.metrics.shadowSkipped.with({ reason: 'queue_full' }).inc(n);
      job.runtime.done();
      return;
    }
    this.pendingEvents += n;
    setImmediate(() => {
      void this.score(job).finally(() => {
        this.pendingEvents -= n;
        job.runtime.done();
        if (this.pendingEvents === 0) for (const resolve of this.idle) resolve();
      });
    });
  }

  private async score({ runtime, events, requestId, routingKey, at }: ShadowJob): Promise<void> {
    const started = performance.now();
    // The shadow may read other fields than the version that answered; events it cannot read are skipped.
    if (!events.every((event) => runtime.events.accepts(event) || runtime.events.schema.safeParse(event).success)) {
      this.deps.metrics.shadowSkipped.with({ reason: 'invalid_event' }).inc(events.length);
      return;
    }
    try {
      const features = await runtime.assembler.assemble(events);
      const scores = await runtime.score(features);
      runtime.predictions.shadow.inc(events.length);
      this.deps.log.record(runtime, { requestId, routingKey, at, route: 'shadow', latencyMs: performance.now() - started, features, scores });
    } catch (err) {
      this.deps.metrics.shadowSkipped.with({ reason: 'error' }).inc(events.length);
      // As on the request path, a value the features cannot read is the caller's doing; anything else counts against the shadow version's error rate.
      if (!(err instanceof FeatureInputError)) this.deps.log.recordFailure(runtime, { requestId, routingKey, at, route: 'shadow', events: events.length, error: 'Internal', latencyMs: performance.now() - started });
      this.deps.logger.warn('shadow scoring failed', { requestId, model: runtime.model, version: runtime.version, error: (err as Error).message });
    }
  }

  /** Resolves when no shadow scoring is queued (at shutdown, before the last log flush). */
  drained(): Promise<void> {
    if (this.pendingEvents === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }
}
