import type { LabelTask } from '../../shared/data/feature-spec.ts';

/**
 * One event's prediction as JSON, built as a string: the shape is fixed per model version and this
 * runs for every event served (see `shared/api/predict.ts` for the three shapes). `outputs` is a
 * model run's output, row-major [rows, width].
 */
export type PredictionJson = (outputs: Float32Array, row: number) => string;

/** The index of the largest of `width` values from `base`: the first on a tie, as the contract says. */
export function argmax(outputs: Float32Array, base: number, width: number): number {
  let best = 0;
  let bestValue = outputs[base] as number;
  for (let c = 1; c < width; c++) {
    const value = outputs[base + c] as number;
    if (value > bestValue) {
      best = c;
      bestValue = value;
    }
  }
  return best;
}

export function predictionJson(task: LabelTask, threshold: number, version: number): PredictionJson {
  switch (task.kind) {
    case 'binary':
      return (outputs, row) => {
        const score = outputs[row] as number;
        return `{"score":${score},"label":${score >= threshold},"modelVersion":${version}}`;
      };
    case 'regression':
      return (outputs, row) => `{"value":${outputs[row] as number},"modelVersion":${version}}`;
    case 'multiclass': {
      // Class names are JSON-encoded once, not per event.
      const keys = task.classes.map((c) => JSON.stringify(c));
      const width = keys.length;
      return (outputs, row) => {
        const base = row * width;
        let probabilities = '';
        for (let c = 0; c < width; c++) probabilities += `${c === 0 ? '' : ','}${keys[c] as string}:${outputs[base + c] as number}`;
        return `{"class":${keys[argmax(outputs, base, width)] as string},"probabilities":{${probabilities}},"modelVersion":${version}}`;
      };
    }
  }
}
