import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SnapshotOnlineStore } from '../../../../domain/features/online-store.ts';
import { featureDefinitionHash } from '../../../../domain/features/spec-hash.ts';
import type { ModelRegistry } from '../../../../domain/registry/model-registry.ts';
import type { FeatureMatrix } from '../../../../domain/training/feature-matrix.ts';
import { Prng } from '../../../../domain/training/prng.ts';
import { trainModel } from '../../../../domain/training/train-model.ts';
import type { FeatureDefinitionSource } from '../../../../api/features/online-feature-assembler.ts';
import { type LabelTask, featureSpecSchema, featureTableColumns } from '../../../../shared/data/feature-spec.ts';
import type { OnlineSnapshot } from '../../../../shared/data/online-snapshot.ts';
import type { Config } from '../../../../shared/config.ts';
import type { FeatureTablesManifest } from '../../../../shared/data/feature-tables.ts';
import { featureKeys } from '../../../../shared/storage-keys.ts';
import { writeSnapshot } from '../../../../domain/features/online-snapshot-loader.ts';
import type { ArtifactStore } from '../../../../domain/object-store/artifact-store.ts';
import type { ModelManifest } from '../../../../shared/registry.ts';
import { type TrainerSpec, trainerSpecSchema } from '../../../../shared/trainers.ts';

/**
 * The flights reference use case for API tests: the real feature spec from examples/flights, real
 * models trained on a synthetic matrix with that spec's features (so they train in a second), and a
 * small online snapshot of the spec's windowed aggregates.
 */

export const FLIGHTS_SPEC = featureSpecSchema.parse(JSON.parse(readFileSync(new URL('../../../../examples/flights/features.json', import.meta.url), 'utf8')));
export const FLIGHTS_SPEC_HASH = featureDefinitionHash(FLIGHTS_SPEC);

const columns = featureTableColumns(FLIGHTS_SPEC).features;
export const FLIGHTS_FEATURES = {
  numeric: columns.filter((f) => f.kind === 'numeric').map((f) => f.name),
  categorical: columns.filter((f) => f.kind === 'categorical').map((f) => f.name),
};

export const AIRPORTS = ['ORD', 'ATL', 'DFW', 'LAX', 'DEN', 'SFO', 'JFK', 'LGA', 'BOS', 'SEA'];
const airportDelayRate = (i: number) => 0.1 + 0.04 * i;

/** A raw event as a client sends it. */
export function flightEvent(i: number): { origin: string; destination: string; date: string; distance: number } {
  const origin = AIRPORTS[i % AIRPORTS.length] as string;
  const destination = AIRPORTS[(i * 7 + 3) % AIRPORTS.length] as string;
  const hour = String((i * 5) % 24).padStart(2, '0');
  return { origin, destination: destination === origin ? 'SEA' : destination, date: `2001-06-${String(1 + (i % 28)).padStart(2, '0')}T${hour}:15:00Z`, distance: 200 + ((i * 37) % 2300) };
}

/** The online store's contents as of 2001-06-01: per origin and per route, what the aggregates read. */
export function flightsSnapshot(): OnlineSnapshot {
  return {
    kind: 'sluice.online-feature-snapshot',
    featureSpecHash: FLIGHTS_SPEC_HASH,
    datasetVersion: createHash('sha256').update('synthetic flights').digest('hex'),
    asOf: '2001-06-01T00:00:00.000Z',
    tables: [
      {
        groupBy: ['origin'],
        features: ['origin_delay_rate_7d', 'origin_known_flights_7d', 'origin_departures_7d'],
        entries: AIRPORTS.map((a, i) => [[a], [airportDelayRate(i), 500 + 40 * i, 520 + 40 * i]]),
      },
      {
        groupBy: ['origin', 'destination'],
        features: ['route_delay_rate_7d', 'route_known_flights_7d'],
        entries: AIRPORTS.flatMap((o, i) => AIRPORTS.filter((d) => d !== o).map((d, j) => [[o, d], [airportDelayRate(i) + 0.01 * j, 20 + j]] as [string[], number[]])),
      },
    ],
  };
}

/** Feature definitions served from memory: the spec and the snapshot above. */
export function flightsDefinitions(): FeatureDefinitionSource {
  const definition = { spec: FLIGHTS_SPEC, store: new SnapshotOnlineStore(flightsSnapshot()) };
  return { load: async () => definition };
}

/** A synthetic matrix with the spec's features and a known signal (hour, origin delay rate, distance). */
export function flightsMatrix(rows: number, seed: number): FeatureMatrix {
  const prng = new Prng(seed);
  const numeric = FLIGHTS_FEATURES.numeric.map(() => new Float64Array(rows));
  const origin = new Int32Array(rows);
  const destination = new Int32Array(rows);
  const label = new Uint8Array(rows);
  const col = (name: string) => numeric[FLIGHTS_FEATURES.numeric.indexOf(name)] as Float64Array;
  for (let i = 0; i < rows; i++) {
    const o = prng.nextInt(AIRPORTS.length);
    const d = prng.nextInt(AIRPORTS.length);
    const hour = prng.nextInt(24);
    const rate = airportDelayRate(o) + (prng.next() - 0.5) * 0.05;
    col('hour_of_day')[i] = hour;
    col('day_of_week')[i] = 1 + prng.nextInt(7);
    col('distance_miles')[i] = 200 + prng.next() * 2300;
    col('origin_delay_rate_7d')[i] = rate;
    col('origin_known_flights_7d')[i] = 400 + prng.nextInt(400);
    col('origin_departures_7d')[i] = 420 + prng.nextInt(400);
    col('route_delay_rate_7d')[i] = rate + (prng.next() - 0.5) * 0.1;
    col('route_known_flights_7d')[i] = 10 + prng.nextInt(30);
    origin[i] = o;
    destination[i] = d;
    const logit = -2 + 0.12 * (hour - 12) + 6 * (rate - 0.25) + (d % 3 === 0 ? 0.4 : 0);
    label[i] = prng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return {
    rows,
    numeric: { names: [...FLIGHTS_FEATURES.numeric], columns: numeric },
    categorical: {
      names: [...FLIGHTS_FEATURES.categorical],
      columns: [
        { dictionary: [...AIRPORTS], codes: origin },
        { dictionary: [...AIRPORTS], codes: destination },
      ],
    },
    label,
  };
}

export interface FlightsModelOptions {
  seed?: number;
  trainer?: Partial<TrainerSpec> & { kind: TrainerSpec['kind'] };
  threshold?: number;
  rows?: number;
  /** What the model predicts (default binary: delayed or not); see `flightsTaskMatrix`. */
  task?: LabelTask['kind'];
}

/** The classes of the multiclass flights model: departures before 8 am that left on time, other on-time ones, delayed ones. */
export const FLIGHT_CLASSES = ['early-on-time', 'on-time', 'delayed'] as const;

/**
 * The synthetic matrix with a label of the given kind, derived from the binary one so every kind has
 * the same signal to learn: regression minutes late (40 × delayed plus a small spread), multiclass
 * FLIGHT_CLASSES.
 */
export function flightsTaskMatrix(rows: number, seed: number, kind: LabelTask['kind']): FeatureMatrix {
  const matrix = flightsMatrix(rows, seed);
  if (kind === 'binary') return matrix;
  if (kind === 'regression') return { ...matrix, label: new Uint8Array(rows), task: { kind: 'regression', values: Float64Array.from(matrix.label, (l, i) => 40 * l + (i % 7)) } };
  const hours = matrix.numeric.columns[FLIGHTS_FEATURES.numeric.indexOf('hour_of_day')] as Float64Array;
  return { ...matrix, label: Uint8Array.from(matrix.label, (l, i) => (l === 1 ? 2 : (hours[i] as number) < 8 ? 0 : 1)), task: { kind: 'multiclass', classes: [...FLIGHT_CLASSES] } };
}

const taskOf = (kind: LabelTask['kind']): LabelTask => (kind === 'multiclass' ? { kind, classes: [...FLIGHT_CLASSES] } : { kind });

/** Trains a real model on the synthetic matrix and returns its ONNX bytes for a given name and version. */
export async function trainFlightsModel(options: FlightsModelOptions = {}) {
  const seed = options.seed ?? 1;
  const trainer = trainerSpecSchema.parse(options.trainer ?? { kind: 'gbdt', nTrees: 30, maxLeaves: 15, minSamplesLeaf: 20 });
  const rows = options.rows ?? 4000;
  const kind = options.task ?? 'binary';
  const model = await trainModel(trainer, { train: flightsTaskMatrix(rows, seed, kind), validation: flightsTaskMatrix(Math.floor(rows / 4), seed + 1000, kind) }, { seed });
  return { model, trainer, threshold: options.threshold ?? 0.3, seed, task: taskOf(kind) };
}

/** A flights model as `trainFlightsModel` returns it; without a task, a binary one. */
export type TrainedFlightsModel = Omit<Awaited<ReturnType<typeof trainFlightsModel>>, 'task'> & { task?: LabelTask };

/** The registry manifest of a trained flights model (its version is the registry's to give). */
export function flightsManifest(name: string, trained: TrainedFlightsModel, workflowId: string, codeVersion = 'test') {
  return {
    name,
    datasetVersion: flightsSnapshot().datasetVersion,
    featureDefinitionHash: FLIGHTS_SPEC_HASH,
    codeVersion,
    trainer: { kind: trained.trainer.kind, hyperparameters: trained.trainer },
    seed: trained.seed,
    metrics: {},
    threshold: trained.threshold,
    task: trained.task ?? taskOf('binary'),
    featureNames: FLIGHTS_FEATURES,
    origin: { workflowId },
  };
}

/** Registers a trained flights model as a new version; returns its manifest. */
export function registerTrainedFlightsModel(registry: ModelRegistry, name: string, trained: TrainedFlightsModel): Promise<ModelManifest> {
  const registrationKey = `test-${name}-${trained.seed}-${Math.random().toString(36).slice(2)}`;
  return registry.register({
    manifest: flightsManifest(name, trained, registrationKey),
    onnx: (version) => trained.model.toOnnx({ modelName: name, modelVersion: version, lineage: { featureDefinitionHash: FLIGHTS_SPEC_HASH }, threshold: trained.threshold }),
    registrationKey,
    by: 'test',
  });
}

/** Trains and registers a version; returns its manifest. */
export async function registerFlightsModel(registry: ModelRegistry, name: string, options: FlightsModelOptions = {}): Promise<ModelManifest> {
  return registerTrainedFlightsModel(registry, name, await trainFlightsModel(options));
}

/** What the feature pipeline leaves for serving: the feature build's manifest (with the spec) and an online snapshot. */
export async function storeFlightsFeatures(store: ArtifactStore, config: Config, snapshot = flightsSnapshot()): Promise<void> {
  const manifest: FeatureTablesManifest = {
    kind: 'sluice.feature-tables',
    featureSpecHash: FLIGHTS_SPEC_HASH,
    datasetVersion: snapshot.datasetVersion,
    spec: FLIGHTS_SPEC,
    columns: { entityKeys: FLIGHTS_SPEC.entityKeys, eventTime: FLIGHTS_SPEC.eventTime, numeric: FLIGHTS_FEATURES.numeric, categorical: FLIGHTS_FEATURES.categorical, label: FLIGHTS_SPEC.label.name },
    splits: {},
    referenceStatsKey: 'unused-by-serving',
    events: { total: 0, withoutLabel: 0, outsideSplits: 0 },
  };
  await store.put(config.buckets.features, featureKeys.manifest(FLIGHTS_SPEC_HASH, snapshot.datasetVersion), JSON.stringify(manifest));
  await writeSnapshot(store, config.buckets.serving, snapshot);
}
