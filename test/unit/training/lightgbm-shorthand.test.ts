import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelineTrainerSchema } from '../../../shared/trainers.ts';

test('{kind: lightgbm} parses to the external trainer on the LightGBM queue, carrying only the settings given', () => {
  assert.deepEqual(pipelineTrainerSchema.parse({ kind: 'lightgbm', numTrees: 150, minDataInLeaf: 200 }), {
    kind: 'external',
    name: 'lightgbm',
    taskQueue: 'sluice-lightgbm',
    hyperparameters: { numTrees: 150, minDataInLeaf: 200 },
  });
  const parsed = pipelineTrainerSchema.parse({ kind: 'lightgbm', taskQueue: 'gpu-trainers' });
  assert.equal(parsed.kind === 'external' && parsed.taskQueue, 'gpu-trainers');
  // What a run stores as its spec parses to itself again (retraining re-reads it).
  assert.deepEqual(pipelineTrainerSchema.parse(parsed), parsed);
});

test('a bad LightGBM setting is refused before a run starts, naming it', () => {
  const result = pipelineTrainerSchema.safeParse({ kind: 'lightgbm', numTrees: 0, baggingFraction: 1.5, treeCount: 3 });
  assert.equal(result.success, false);
  const issues = result.error?.issues.map((i) => (i.code === 'unrecognized_keys' ? i.keys.join() : i.path.join('.'))) ?? [];
  assert.deepEqual(issues.sort(), ['baggingFraction', 'numTrees', 'treeCount']);
});
