import { performance } from 'node:perf_hooks';
import type { MetricCounter, MetricGauge, MetricMeter } from '@temporalio/common';

/**
 * Training speed for the worker's Prometheus endpoint, from the trainer's progress reports:
 * iterations per second over this attempt (a resumed attempt counts from where it resumed) and
 * iterations done, by trainer kind and model.
 */
export class TrainingSpeed {
  private readonly rate: MetricGauge;
  private readonly done: MetricCounter;
  private readonly started = performance.now();
  private firstIteration: number | undefined;
  private lastIteration = 0;

  constructor(meter: MetricMeter, tags: { trainer: string; model: string }) {
    const tagged = meter.withTags(tags);
    this.rate = tagged.createGauge('sluice_training_iterations_per_second', 'float', '', 'Training iterations (trees, optimiser steps) per second over the current attempt');
    this.done = tagged.createCounter('sluice_training_iterations', '', 'Training iterations done');
  }

  progress(iteration: number): void {
    this.firstIteration ??= iteration - 1;
    this.lastIteration ||= this.firstIteration;
    const seconds = (performance.now() - this.started) / 1000;
    if (iteration > this.lastIteration) this.done.add(iteration - this.lastIteration);
    this.lastIteration = iteration;
    if (seconds > 0) this.rate.set((iteration - this.firstIteration) / seconds);
  }
}
