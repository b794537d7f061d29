import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { type FeatureSpecInput, featureSpecSchema, labelTask } from '../../../shared/data/feature-spec.ts';
import { featureDefinitionHash } from '../../../domain/features/spec-hash.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';
import { pipelineSpecSchema } from '../../../shared/pipeline.ts';

const flights = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../examples/flights/features.json'), 'utf8')) as FeatureSpecInput;
const withLabel = (label: Record<string, unknown>) => ({ ...flights, label: { ...flights.label, ...label } });
/** The flights aggregates average the label, which a class name cannot be: a multiclass spec drops them. */
const multiclassSpec = (label: Record<string, unknown>) => ({ ...withLabel({ kind: 'multiclass', ...label }), aggregates: [] });

function problems(spec: unknown): string[] {
  const parsed = featureSpecSchema.safeParse(spec);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('label kinds in the feature spec', () => {
  test('a spec without a kind is binary and keeps its hash (no default written into the parsed spec)', () => {
    const spec = featureSpecSchema.parse(flights);
    assert.equal(spec.label.kind, undefined);
    assert.deepEqual(labelTask(spec), { kind: 'binary' });
    assert.equal(featureDefinitionHash(spec), featureDefinitionHash(featureSpecSchema.parse(structuredClone(flights))));
  });

  test('regression: a numeric label with a clip + log1p transform', () => {
    const spec = featureSpecSchema.parse(withLabel({ kind: 'regression', expr: 'delay', transform: { clip: { min: 0, max: 300 }, log1p: true } }));
    assert.deepEqual(labelTask(spec), { kind: 'regression', transform: { clip: { min: 0, max: 300 }, log1p: true } });
  });

  test('multiclass: a string label with its classes', () => {
    const spec = featureSpecSchema.parse(
      multiclassSpec({ expr: "CASE WHEN delay < 0 THEN 'early' WHEN delay <= 15 THEN 'on-time' ELSE 'late' END", classes: ['early', 'on-time', 'late'] }),
    );
    assert.deepEqual(labelTask(spec), { kind: 'multiclass', classes: ['early', 'on-time', 'late'] });
  });

  test('an aggregate over a class-name label is refused', () => {
    assert.ok(problems(withLabel({ kind: 'multiclass', expr: "'x'", classes: ['a', 'b'] })).includes('aggregates.0.of: an aggregate reads a number or boolean, got string'));
  });

  test('bad label declarations are refused, each naming what is wrong', () => {
    assert.deepEqual(problems(withLabel({ kind: 'regression' })), ['label.expr: a regression label must be a number expression, got boolean']);
    assert.deepEqual(problems(multiclassSpec({ expr: "'x'", classes: ['a', 'b', 'a'] })), ['label.classes: class(es) "a" appear more than once']);
    assert.deepEqual(problems(multiclassSpec({ expr: "'x'" })), ['label.classes: a multiclass label needs its list of classes']);
    assert.deepEqual(problems(withLabel({ classes: ['a', 'b'] })), ['label.classes: classes are for a multiclass label, not binary']);
    assert.deepEqual(problems(withLabel({ transform: { log1p: true } })), ['label.transform: a transform is for a regression label, not binary']);
    assert.deepEqual(problems(withLabel({ kind: 'regression', expr: 'delay', transform: { clip: { min: -5 }, log1p: true } })), ['label.transform.clip.min: log1p needs values above -1: clip.min must be above -1']);
  });
});

describe('trainers and gates of a multiclass pipeline spec', () => {
  const example = loadSpecFile(resolve(import.meta.dirname, '../../../examples/flights-delay-class/pipeline.json')) as Record<string, unknown>;
  const pipelineProblems = (overrides: Record<string, unknown>) => {
    const parsed = pipelineSpecSchema.safeParse({ ...example, ...overrides });
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  test('logistic-regression (multinomial) and gbdt are accepted; linear-regression is refused naming the kind', () => {
    assert.deepEqual(pipelineProblems({ trainer: { kind: 'logistic-regression' } }), []);
    assert.deepEqual(pipelineProblems({}), []);
    assert.deepEqual(pipelineProblems({ trainer: { kind: 'linear-regression' } }), ['trainer.kind: linear-regression predicts a number; the label is multiclass (use logistic-regression or gbdt)']);
  });

  test("a gate on a binary metric is refused, listing the multiclass metrics", () => {
    const [problem, ...rest] = pipelineProblems({ trainer: { kind: 'logistic-regression' }, gates: { absolute: [{ metric: 'rocAuc', min: 0.6 }] } });
    assert.deepEqual(rest, []);
    assert.match(problem ?? '', /^gates\.absolute\.0\.metric: metric "rocAuc" does not exist for a multiclass model; its metrics are logLoss, accuracy, macroF1, macroAuc/);
  });
});
