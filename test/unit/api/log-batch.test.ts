import assert from 'node:assert/strict';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { test } from 'node:test';
import { LogBatchBuilder, NULL_LENGTH, type PredictionLogBatch, type StringColumn, transferables } from '../../../api/prediction-log/log-batch.ts';

/** A string column decoded back to its values, null where a piece is a null. */
function stringsOf(column: StringColumn): (string | null)[] {
  const decoder = new TextDecoder();
  let at = 0;
  return Array.from(column.lengths, (length) => {
    if (length === NULL_LENGTH) return null;
    at += length;
    return decoder.decode(column.bytes.subarray(at - length, at));
  });
}

test('a log batch crosses to another thread by transfer and decodes to what was recorded', () => {
  const builder = new LogBatchBuilder({ model: 'm', version: 2, hour: '2026-11-23T15', threshold: 0.3, featureNames: { numeric: ['x', 'y'], categorical: ['city'] } }, 1000);
  builder.add({ requestId: 'r-1', routingKey: 'Zürich-κλειδί', at: 1000, route: 'canary', latencyMs: 1.5, features: { rows: 2, numeric: Float32Array.from([1, NaN, 3, 4]), categorical: ['Zürich', ''] }, scores: Float32Array.from([0.25, 0.75, 9]) });
  builder.add({ requestId: 'r-2', routingKey: undefined, at: 2000, route: 'shadow', latencyMs: 0.5, features: { rows: 1, numeric: Float32Array.from([5, 6]), categorical: ['東京'] }, scores: Float32Array.from([0.5]) });
  const batch = builder.seal();
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(batch, transferables(batch));
  assert.equal(batch.rows.scores.byteLength, 0, 'the arrays moved rather than being copied');
  const received = receiveMessageOnPort(port2)?.message as PredictionLogBatch;
  port1.close();
  assert.deepEqual(stringsOf(received.entries.requestIds), ['r-1', 'r-2']);
  assert.deepEqual(stringsOf(received.entries.routingKeys), ['Zürich-κλειδί', null]);
  const [cities] = received.rows.dictionaries;
  assert.deepEqual(cities && stringsOf(cities), ['Zürich', '', '東京'], 'each distinct value once, in order of first sight');
  assert.deepEqual([...received.rows.categoricalCodes], [0, 1, 2]);
  assert.deepEqual([...received.rows.scores], [0.25, 0.75, 0.5]);
  assert.deepEqual([...received.rows.numeric], [1, NaN, 3, 4, 5, 6]);
  assert.deepEqual([...received.entries.rows], [2, 1]);
  assert.deepEqual([...received.entries.routes], [1, 2]);
  assert.equal(received.rows.count, 3);
});
