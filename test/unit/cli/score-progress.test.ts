import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressReporter } from '../../../cli/commands/score.ts';
import type { BatchScoringProgress } from '../../../workflows/batch-scoring.ts';

const steps: BatchScoringProgress[] = [
  { stage: 'featurizing', chunksDone: 0 },
  { stage: 'planning', chunksDone: 0 },
  { stage: 'scoring', chunksDone: 0, chunks: 8, rows: 2_000_000 },
  { stage: 'scoring', chunksDone: 1, chunks: 8, rows: 2_000_000 },
  { stage: 'scoring', chunksDone: 2, chunks: 8, rows: 2_000_000 },
  { stage: 'scoring', chunksDone: 2, chunks: 8, rows: 2_000_000 },
  { stage: 'scoring', chunksDone: 8, chunks: 8, rows: 2_000_000 },
  { stage: 'done', chunksDone: 8, chunks: 8, rows: 2_000_000 },
];

test('sluice score on a terminal redraws one line with a bar of the chunks scored', () => {
  const live: (string | undefined)[] = [];
  const report = progressReporter({ live: (line) => live.push(line), write: () => assert.fail('nothing is printed as lines on a terminal') });
  for (const p of steps) report(p);
  assert.equal(live[0], "computing the events' features from the online snapshot");
  assert.equal(live[4], 'scoring [######------------------] 2/8 chunks of 2000000 rows');
  assert.equal(live.at(-1), 'writing the manifest');
});

test('sluice score piped prints a line per stage and per quarter of the chunks, never the same twice', () => {
  const lines: string[] = [];
  const report = progressReporter({ write: (line) => lines.push(line) });
  for (const p of steps) report(p);
  assert.deepEqual(lines, [
    "computing the events' features from the online snapshot",
    'planning chunks',
    'scoring: 0% of 8 chunks',
    'scoring: 25% of 8 chunks',
    'scoring: 100% of 8 chunks',
    'writing the manifest',
  ]);
});
