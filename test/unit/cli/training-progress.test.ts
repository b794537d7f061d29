import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainingProgressView } from '../../../cli/training-progress.ts';

const beat = (iteration: number, of?: number) => ({ iteration, ...(of !== undefined && { of }), trainLoss: 0.5 - iteration / 1000, validationLoss: 0.51 - iteration / 2000 });

test('the live line shows a bar, iteration of total, both losses, and an ETA from the pace since the first heartbeat seen', () => {
  const view = new TrainingProgressView();
  assert.equal(view.line(beat(10, 150), 0), 'training [##----------------------] 10/150 · train loss 0.4900 · validation 0.5050');
  // 50 trees in 12 s since the first heartbeat: the 90 left take 21.6 s.
  assert.equal(view.line(beat(60, 150), 12_000), 'training [##########--------------] 60/150 · train loss 0.4400 · validation 0.4800 · ETA 22 s');
  assert.match(view.line(beat(61, 150), 600_000), /ETA \d+ min \d+ s$/);
});

test('without a planned total there is no bar and no ETA', () => {
  assert.equal(new TrainingProgressView().line(beat(3), 0), 'training iteration 3 · train loss 0.4970 · validation 0.5085');
});

test('plain output gets one line per tenth of the run, however often it is polled', () => {
  const view = new TrainingProgressView();
  const printed = [1, 2, 14, 15, 16, 29, 30, 31, 150].map((i) => view.plainLine(beat(i, 150), i * 100)).filter((l) => l !== undefined);
  assert.deepEqual(
    printed.map((l) => /\] (\d+)\/150/.exec(l)?.[1]),
    ['1', '15', '30', '150'],
  );
});
