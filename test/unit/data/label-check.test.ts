import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { labelProblems } from '../../../domain/features/label-check.ts';

/**
 * The label check the feature build runs before anything is trained (a problem there fails the run
 * with DatasetInvalid), on a real DuckDB table: each bad value is counted, each unknown class named.
 */
describe('labelProblems', () => {
  let instance: DuckDBInstance;
  let db: DuckDBConnection;
  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
    await db.run(`CREATE TABLE t AS SELECT * FROM (VALUES
      (1.5, 'early'), ('NaN'::DOUBLE, 'on-time'), ('NaN'::DOUBLE, 'late'), ('Infinity'::DOUBLE, 'late'),
      ('-Infinity'::DOUBLE, 'lost'), (-3.0, 'early'), (0.0, 'on-time')) v(minutes, band)`);
  });
  after(() => {
    db.closeSync();
    instance.closeSync();
  });

  test('a regression label counts NaN and ±Infinity rows, and values log1p cannot take unless clipped', async () => {
    const problems = await labelProblems(db, 't', 'minutes', { kind: 'regression', transform: { log1p: true } });
    assert.deepEqual(
      problems.map((p) => [p.rows, p.message]),
      [
        [2, 'regression label "minutes" is NaN in 2 of 7 rows'],
        [2, 'regression label "minutes" is ±Infinity in 2 of 7 rows'],
        [2, 'regression label "minutes" is ≤ -1 in 2 of 7 rows, where log1p is undefined (clip it with transform.clip.min)'],
      ],
    );
    const clipped = await labelProblems(db, 't', 'minutes', { kind: 'regression', transform: { log1p: true, clip: { min: 0 } } });
    assert.deepEqual(clipped.map((p) => p.rows), [2, 2], 'clipping makes -3 valid for log1p, not NaN or Infinity');
    assert.deepEqual(await labelProblems(db, '(SELECT * FROM t WHERE isfinite(minutes))', 'minutes', { kind: 'regression' }), []);
  });

  test('a multiclass label outside the declared classes is named with its count', async () => {
    const [problem, ...rest] = await labelProblems(db, 't', 'band', { kind: 'multiclass', classes: ['early', 'on-time'] });
    assert.deepEqual(rest, []);
    assert.equal(problem?.rows, 3);
    assert.deepEqual(problem?.unknownClasses, [{ value: 'late', rows: 2 }, { value: 'lost', rows: 1 }]);
    assert.match(problem?.message ?? '', /3 rows outside the declared classes \[early, on-time\]: "late" \(2\), "lost" \(1\)/);
    assert.deepEqual(await labelProblems(db, 't', 'band', { kind: 'multiclass', classes: ['early', 'on-time', 'late', 'lost'] }), []);
  });
});
