import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { type FeatureSpecInput, analysedFeatureSpec, featureSpecSchema, featureTableColumns, resolveSplits } from '../../../shared/data/feature-spec.ts';
import { datasetContractSchema } from '../../../shared/data/dataset-contract.ts';
import { featureDefinitionHash } from '../../../domain/features/spec-hash.ts';

const flights = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../examples/flights/features.json'), 'utf8')) as FeatureSpecInput;

function problems(spec: unknown): string[] {
  const parsed = featureSpecSchema.safeParse(spec);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('feature spec', () => {
  test('the flights spec parses: kinds, knownAt, windows and splits as declared', () => {
    const spec = featureSpecSchema.parse(flights);
    const analysed = analysedFeatureSpec(spec);
    assert.deepEqual(
      analysed.rowFeatures.map((f) => `${f.name}:${f.kind}`),
      ['hour_of_day:numeric', 'day_of_week:numeric', 'distance_miles:numeric', 'origin_airport:categorical', 'destination_airport:categorical'],
    );
    assert.deepEqual(
      analysed.aggregates.map((a) => `${a.name}:${a.knownAt}:${a.windowMinutes}`),
      ['origin_delay_rate_7d:label:10080', 'origin_known_flights_7d:label:10080', 'origin_departures_7d:event:10080', 'route_delay_rate_7d:label:10080', 'route_known_flights_7d:label:10080'],
    );
    assert.deepEqual(analysed.splits.map((s) => [s.name, s.from && new Date(s.from).toISOString(), s.until && new Date(s.until).toISOString()]), [
      ['train', '2001-01-01T00:00:00.000Z', '2001-05-01T00:00:00.000Z'],
      ['validation', '2001-05-01T00:00:00.000Z', '2001-06-01T00:00:00.000Z'],
      ['test', '2001-06-01T00:00:00.000Z', undefined],
    ]);
    assert.deepEqual(featureTableColumns(spec).entityKeys, ['origin', 'destination']);
    assert.equal(spec.reference.bins, 10);
  });

  test('the flights contract parses', () => {
    const contract = datasetContractSchema.parse(JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../examples/flights/contract.json'), 'utf8')));
    assert.equal(contract.columns.length, 5);
  });

  test('the definition hash ignores key order and spelled-out defaults, and changes with any definition', () => {
    const base = featureDefinitionHash(featureSpecSchema.parse(flights));
    const reordered = Object.fromEntries(Object.entries(flights).reverse());
    assert.equal(featureDefinitionHash(featureSpecSchema.parse(reordered)), base);
    assert.equal(featureDefinitionHash(featureSpecSchema.parse({ ...flights, reference: undefined })), base);
    assert.notEqual(featureDefinitionHash(featureSpecSchema.parse({ ...flights, aggregates: flights.aggregates?.map((a) => ({ ...a, window: '8d' })) })), base);
  });

  const broken: [string, (s: FeatureSpecInput) => unknown, RegExp][] = [
    ['a row feature reading an outcome', (s) => ({ ...s, features: [{ name: 'x', expr: 'delay * 2' }] }), /features\.0\.expr: reads outcome column\(s\) delay/],
    ['a syntax error', (s) => ({ ...s, features: [{ name: 'x', expr: 'hour(date' }] }), /features\.0\.expr: expected '\)'/],
    ['a timestamp-valued feature', (s) => ({ ...s, features: [{ name: 'x', expr: 'date' }] }), /must be a number, string or boolean, got timestamp/],
    ['a non-boolean label', (s) => ({ ...s, label: { ...s.label, expr: 'delay' } }), /label\.expr: the label must be a boolean/],
    ['availableAt not a timestamp', (s) => ({ ...s, label: { ...s.label, availableAt: 'delay' } }), /availableAt must be a timestamp/],
    ['a group-by key that is not an entity key', (s) => ({ ...s, aggregates: [{ name: 'a', groupBy: ['distance'], fn: 'count', window: '1d' }] }), /group-by key "distance" is not an entity key/],
    ['mean without of', (s) => ({ ...s, aggregates: [{ name: 'a', groupBy: ['origin'], fn: 'mean', window: '1d' }] }), /mean needs an expression/],
    ['a duplicate name', (s) => ({ ...s, features: [{ name: 'origin', expr: 'origin' }] }), /"origin" is already the name of an entity key/],
    ['a reserved name', (s) => ({ ...s, features: [{ name: '__row', expr: 'distance' }] }), /reserved/],
    ['overlapping splits', (s) => ({ ...s, splits: [{ name: 'train', until: '2001-05-01' }, { name: 'test', from: '2001-04-01' }] }), /must start at or after the end of "train"/],
    ['a missing reference split', (s) => ({ ...s, reference: { split: 'fit' } }), /reference split "fit" is not one of the splits/],
    ['a bad window', (s) => ({ ...s, aggregates: [{ name: 'a', groupBy: ['origin'], fn: 'count', window: '7 days' }] }), /expected a window such as 90m, 12h or 7d/],
    ['an undeclared event time', (s) => ({ ...s, eventTime: 'when' }), /event time "when" must be a timestamp column/],
    ['a relative split with bounds', (s) => ({ ...s, splits: [{ name: 'train' }, { name: 'test', last: '30d', from: '2001-01-01' }] }), /splits\.1\.last: .*takes no from or until/],
    ['an absolute split after a relative one', (s) => ({ ...s, splits: [{ name: 'train', last: '30d' }, { name: 'test', from: '2001-06-01' }] }), /"test" follows a relative split, so it must be relative too/],
    ['a bounded split before relative ones', (s) => ({ ...s, splits: [{ name: 'train', until: '2001-05-01' }, { name: 'test', last: '30d' }] }), /splits\.0\.until: .*leave out its until/],
    ['a relative split that is not a duration', (s) => ({ ...s, splits: [{ name: 'train' }, { name: 'test', last: 'a month' }] }), /splits\.1\.last: expected a duration/],
  ];
  for (const [name, change, message] of broken) {
    test(`rejects ${name}`, () => {
      const found = problems(change(flights));
      assert.ok(found.some((p) => message.test(p)), found.join('\n'));
    });
  }

  test('splits relative to the dataset\'s end are laid back to back from its newest event; the open split before them ends where they begin', () => {
    const spec = featureSpecSchema.parse({ ...flights, splits: [{ name: 'train', from: '2001-01-01' }, { name: 'validation', last: '30d' }, { name: 'test', last: '7 days' }] });
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const resolved = (newest: string) => resolveSplits(analysedFeatureSpec(spec).splits, Date.parse(newest)).map((s) => [s.name, iso(s.from), iso(s.until)]);
    assert.deepEqual(resolved('2001-06-30T23:59:00Z'), [
      ['train', '2001-01-01T00:00:00.000Z', '2001-05-24T23:59:00.001Z'],
      ['validation', '2001-05-24T23:59:00.001Z', '2001-06-23T23:59:00.001Z'],
      ['test', '2001-06-23T23:59:00.001Z', '2001-06-30T23:59:00.001Z'],
    ]);
    assert.deepEqual(resolved('2001-07-31T23:59:00Z').at(-1), ['test', '2001-07-24T23:59:00.001Z', '2001-07-31T23:59:00.001Z'], 'newer data moves every relative split');
    const absolute = featureSpecSchema.parse(flights);
    assert.deepEqual(resolveSplits(analysedFeatureSpec(absolute).splits, Date.parse('2001-07-31')), analysedFeatureSpec(absolute).splits.map(({ name, from, until }) => ({ name, from, until })), 'absolute splits are unchanged');
  });
});
