import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { ModelRegistry } from '../../../domain/registry/model-registry.ts';
import { OnlineFeatureAssemblers } from '../../../api/features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from '../../../api/features/stored-feature-definitions.ts';
import { createLogger } from '../../../shared/logger.ts';
import type { MulticlassPrediction, RegressionPrediction } from '../../../shared/api/predict.ts';
import { feedbackKeys, predictionLogKeys } from '../../../shared/api/prediction-log.ts';
import { FLIGHT_CLASSES, type FlightsModelOptions, flightEvent, registerTrainedFlightsModel, trainFlightsModel } from '../../unit/api/support/flights-model.ts';
import { KEYS, startTestApi, writeServingConfig } from '../../unit/api/support/test-api.ts';
import { stackConfig } from '../../support/stack.ts';
import { isolatedConfig, queryObjects, storeFlightsFeatures } from './minio-support.ts';

/**
 * A regression and a multiclass model served by the real API on the stack's MinIO: registry, stored
 * feature definitions and snapshot, serving config. Their answers, their prediction log rows (read
 * back from MinIO with DuckDB, each kind's columns) and their typed feedback, joined to the log.
 */

const store = MinioArtifactStore.fromConfig(stackConfig().minio);
const SMALL: FlightsModelOptions = { rows: 1200, trainer: { kind: 'gbdt', nTrees: 8, maxLeaves: 7, minSamplesLeaf: 20 } };

describe('serving regression and multiclass models on MinIO', () => {
  test('answers, prediction log columns and feedback per kind', async () => {
    const config = await isolatedConfig(store, { SLUICE_SERVING_POLL_INTERVAL_MS: '150' });
    await storeFlightsFeatures(store, config);
    const suffix = Math.random().toString(36).slice(2, 8);
    const minutesModel = `minutes-${suffix}`;
    const classModel = `class-${suffix}`;
    const registry = new ModelRegistry(store, config.buckets.models);
    const minutes = await registerTrainedFlightsModel(registry, minutesModel, await trainFlightsModel({ ...SMALL, task: 'regression' }));
    const classes = await registerTrainedFlightsModel(registry, classModel, await trainFlightsModel({ ...SMALL, task: 'multiclass' }));
    await writeServingConfig(store, config, { [minutesModel]: { primary: minutes.version }, [classModel]: { primary: classes.version } }, 1);
    const definitions = new StoredFeatureDefinitions(store, config.buckets, 150, createLogger('error'));
    await using api = await startTestApi({ store, config, assemblers: new OnlineFeatureAssemblers(definitions) });
    await api.firstPoll;

    const valueAnswer = await api.request<{ requestId: string; predictions: RegressionPrediction[] }>('POST', `/v1/models/${minutesModel}/predict`, { key: KEYS.predict, body: { events: [flightEvent(1), flightEvent(2)] } });
    assert.equal(valueAnswer.status, 200, valueAnswer.text);
    const values = valueAnswer.json.predictions.map((p) => p.value);
    assert.ok(values.every(Number.isFinite) && values[0] !== values[1], `values: ${values.join(', ')}`);

    const classAnswer = await api.request<{ requestId: string; prediction: MulticlassPrediction }>('POST', `/v1/models/${classModel}/predict`, { key: KEYS.predict, body: { event: flightEvent(3) } });
    assert.equal(classAnswer.status, 200, classAnswer.text);
    const predicted = classAnswer.json.prediction;
    assert.ok((FLIGHT_CLASSES as readonly string[]).includes(predicted.class));
    assert.deepEqual(Object.keys(predicted.probabilities), [...FLIGHT_CLASSES]);
    // The same event through MLflow's /invocations shape gets the same answer (and is logged the same way).
    const event = flightEvent(3);
    const columns = Object.keys(event);
    const invoked = await api.request<{ predictions: MulticlassPrediction[] }>('POST', `/v1/models/${classModel}/invocations`, { key: KEYS.predict, body: { dataframe_split: { columns, data: [columns.map((c) => event[c as keyof typeof event])] } } });
    assert.equal(invoked.status, 200, invoked.text);
    assert.deepEqual(invoked.json.predictions, [predicted]);

    const view = await api.request<{ versions: { task: unknown }[] }>('GET', `/v1/models/${minutesModel}`, { key: KEYS.predict });
    assert.deepEqual(view.json.versions[0]?.task, { kind: 'regression' });

    const refused = await api.request('POST', `/v1/models/${classModel}/feedback`, { key: KEYS.feedback, body: { labels: [{ requestId: classAnswer.json.requestId, label: 1 }] } });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error?.field, 'labels[0].label');
    const sentValue = await api.request('POST', `/v1/models/${minutesModel}/feedback`, { key: KEYS.feedback, body: { labels: [{ requestId: valueAnswer.json.requestId, eventIndex: 1, label: 27.5 }] } });
    assert.equal(sentValue.status, 200, sentValue.text);
    const sentClass = await api.request('POST', `/v1/models/${classModel}/feedback`, { key: KEYS.feedback, body: { labels: [{ requestId: classAnswer.json.requestId, label: 'delayed' }] } });
    assert.equal(sentClass.status, 200, sentClass.text);
    await api.predictionLog.flush();

    const valueRows = await queryObjects(store, config.buckets.predictions, predictionLogKeys.prefix(minutesModel), (dir) => `SELECT * EXCLUDE (features, predicted_at, latency_ms) FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = false) ORDER BY event_index`);
    assert.deepEqual(
      valueRows,
      values.map((value, i) => ({ request_id: valueAnswer.json.requestId, event_index: i, model: minutesModel, model_version: minutes.version, route: 'primary', routing_key: null, score: value, value })),
      'the regression columns: score = value = the answered value; no threshold or label',
    );
    const [classRow] = await queryObjects(store, config.buckets.predictions, predictionLogKeys.prefix(classModel), (dir) => `SELECT score, class, probabilities FROM read_parquet('${dir}/**/*.parquet')`);
    assert.deepEqual(classRow, { score: predicted.probabilities[predicted.class], class: predicted.class, probabilities: predicted.probabilities });

    // Labels are read as JSON and cast by the model's kind, then joined to the log like binary ones.
    const feedback = (dir: string) => `read_json('${dir}/${feedbackKeys.prefix}**/*.jsonl', format = 'newline_delimited', columns = {request_id: 'VARCHAR', event_index: 'INTEGER', label: 'JSON', model: 'VARCHAR'})`;
    const joinedValue = await queryObjects(store, config.buckets.predictions, '', (dir) =>
      `SELECT p.value, f.label::DOUBLE AS label FROM read_parquet('${dir}/${predictionLogKeys.prefix(minutesModel)}**/*.parquet') p
       JOIN ${feedback(dir)} f ON f.request_id = p.request_id AND f.event_index = p.event_index AND f.model = '${minutesModel}'`,
    );
    assert.deepEqual(joinedValue, [{ value: values[1], label: 27.5 }]);
    const joinedClass = await queryObjects(store, config.buckets.predictions, '', (dir) =>
      `SELECT p.class, f.label ->> '$' AS label FROM read_parquet('${dir}/${predictionLogKeys.prefix(classModel)}**/*.parquet') p
       JOIN ${feedback(dir)} f ON f.request_id = p.request_id AND f.event_index = p.event_index AND f.model = '${classModel}'`,
    );
    assert.deepEqual(joinedClass, [{ class: predicted.class, label: 'delayed' }]);
    definitions.close();
  });
});
