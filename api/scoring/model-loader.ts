import { createHash } from 'node:crypto';
import type { ModelRegistry } from '../../domain/registry/model-registry.ts';
import { MetadataKey } from '../../shared/model-graph.ts';
import { readOnnxMetadata } from '../../formats/onnx/read-metadata.ts';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { FeatureAssemblers } from '../features/feature-assembler.ts';
import type { ApiMetrics } from '../metrics/api-metrics.ts';
import { EventValidator } from '../predict/event-schema.ts';
import type { ServingProviders } from './scoring-thread-client.ts';
import { ModelRuntime, modelOutput } from './model-runtime.ts';
import { SluiceError } from '../../shared/errors.ts';

export class ModelLoadError extends SluiceError {
  override readonly name = 'ModelLoadError';
  readonly kind = 'Internal';
}

export interface ModelLoaderDeps {
  registry: ModelRegistry;
  providers: ServingProviders;
  assemblers: FeatureAssemblers;
  metrics: ApiMetrics;
  log: Logger;
  serving: Config['serving'];
  /** Whether other predict requests are still being received (for micro-batching). */
  othersArriving: () => boolean;
}

const sameNames = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Loads model versions from the registry, once each: concurrent asks for the same version share one
 * load. A version is served only if its ONNX bytes match the manifest's SHA-256 and its graph's
 * feature names match the manifest's, so a model is never fed features in the wrong order.
 */
export class ModelLoader {
  private readonly loaded = new Map<string, Promise<ModelRuntime>>();

  constructor(private readonly deps: ModelLoaderDeps) {}

  get(model: string, version: number): Promise<ModelRuntime> {
    const key = `${model}@${version}`;
    let loading = this.loaded.get(key);
    if (!loading) {
      loading = this.load(model, version);
      this.loaded.set(key, loading);
      // A failed load is forgotten so the next poll tries again.
      loading.catch(() => this.loaded.delete(key));
    }
    return loading;
  }

  /** Stops serving a version: it is forgotten at once (a later ask loads it afresh) and freed when idle. */
  retire(runtime: ModelRuntime): void {
    if (this.loaded.get(runtime.key) !== undefined) this.loaded.delete(runtime.key);
    runtime.retire();
  }

  private async load(model: string, version: number): Promise<ModelRuntime> {
    const { registry, providers, assemblers, metrics, log, serving } = this.deps;
    const started = performance.now();
    const what = `model ${model} version ${version}`;
    try {
      const manifest = await registry.manifest(model, version);
      const bytes = await registry.onnx(model, version);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (sha256 !== manifest.onnx.sha256) throw new ModelLoadError(`${what}: ONNX file hashes to ${sha256}, the manifest says ${manifest.onnx.sha256}`);
      const metadata = readOnnxMetadata(bytes);
      // Answers, the log and feedback are shaped by the manifest's task and read the graph's output by
      // position: a graph of another kind, or with its classes in another order, would be served wrong
      // silently, so it is refused here, named.
      const { task } = manifest;
      const graphKind = metadata[MetadataKey.labelKind] ?? 'binary';
      if (graphKind !== task.kind) throw new ModelLoadError(`${what}: the graph is a ${graphKind} model, the manifest says ${task.kind}`);
      if (task.kind === 'multiclass') {
        const graphClasses = metadata[MetadataKey.classes] ?? '';
        if (graphClasses !== JSON.stringify(task.classes)) throw new ModelLoadError(`${what}: the graph's classes ${graphClasses || '(none)'} differ from the manifest's ${JSON.stringify(task.classes)}`);
      }
      const graphFeatures = JSON.parse(metadata[MetadataKey.featureNames] ?? 'null') as { numeric: string[]; categorical: string[] } | null;
      if (!graphFeatures || !sameNames(graphFeatures.numeric, manifest.featureNames.numeric) || !sameNames(graphFeatures.categorical, manifest.featureNames.categorical)) {
        throw new ModelLoadError(`${what}: the graph's feature names ${JSON.stringify(graphFeatures)} differ from the manifest's ${JSON.stringify(manifest.featureNames)}`);
      }
      const assembler = await assemblers.forModel(manifest);
      const output = modelOutput(task);
      const { session, provider } = await providers.createSession(bytes, what, { kNum: manifest.featureNames.numeric.length, kCat: manifest.featureNames.categorical.length, output: output.name });
      if (!session.outputNames.includes(output.name)) {
        await session.release();
        throw new ModelLoadError(`${what}: a ${task.kind} model must have the output "${output.name}"; the graph's outputs are ${session.outputNames.join(', ')}`);
      }
      const labels = { model, version: String(version) };
      const runtime = new ModelRuntime(
        manifest,
        session,
        provider,
        assembler,
        new EventValidator(assembler.eventFields),
        { maxBatchRows: serving.maxBatchRows, maxWaitMs: serving.maxWaitMs, othersArriving: this.deps.othersArriving },
        metrics.predictLatency.with(labels),
        {
          primary: metrics.predictions.with({ ...labels, role: 'primary' }),
          canary: metrics.predictions.with({ ...labels, role: 'canary' }),
          shadow: metrics.predictions.with({ ...labels, role: 'shadow' }),
        },
        metrics.batchRows.with(labels),
        (released) => {
          providers.track(released.provider, -1);
          log.info('model version released', { model, version: released.version });
        },
      );
      providers.track(provider, 1);
      // One run before traffic, so the first request does not pay ONNX Runtime's lazy initialisation;
      // it also proves the output has the width the answers and the log slice it by.
      const warm = await runtime.run({
        rows: 1,
        numeric: manifest.featureNames.numeric.length > 0 ? new Float32Array(manifest.featureNames.numeric.length).fill(NaN) : undefined,
        categorical: manifest.featureNames.categorical.length > 0 ? manifest.featureNames.categorical.map(() => '') : undefined,
      });
      if (warm.length !== output.width) {
        this.retire(runtime);
        throw new ModelLoadError(`${what}: its "${output.name}" output has ${warm.length} values per row, a ${task.kind} model of this manifest has ${output.width}`);
      }
      metrics.modelLoads.with({ outcome: 'loaded' }).inc();
      log.info('model version loaded', { model, version, provider, ms: Math.round(performance.now() - started) });
      return runtime;
    } catch (err) {
      metrics.modelLoads.with({ outcome: 'failed' }).inc();
      log.error('model version failed to load', { model, version, error: (err as Error).message });
      throw err;
    }
  }
}
