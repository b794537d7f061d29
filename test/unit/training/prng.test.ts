import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fillBernoulliPairs, Prng } from '../../../domain/training/prng.ts';

describe('Prng', () => {
  test('repeats its sequence for a seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const prng = new Prng(seed);
      return Array.from({ length: 5 }, () => prng.nextUint32());
    };
    assert.deepEqual(draw(1), draw(1));
    assert.notDeepEqual(draw(1), draw(2));
  });

  test('continues from a saved state exactly where it was', () => {
    const prng = new Prng(99);
    for (let i = 0; i < 10; i++) prng.next();
    const resumed = Prng.fromState(prng.state);
    assert.deepEqual(
      Array.from({ length: 5 }, () => resumed.next()),
      Array.from({ length: 5 }, () => prng.next()),
    );
  });

  test('fillBernoulli decides two rows per draw at the requested rate', () => {
    const a = new Prng(5);
    const b = new Prng(5);
    const mask = new Uint8Array(100_001);
    a.fillBernoulli(0.3, mask);
    const share = mask.reduce((sum, m) => sum + m, 0) / mask.length;
    assert.ok(Math.abs(share - 0.3) < 0.01, `share ${share}`);
    const first = b.nextUint32();
    assert.deepEqual([mask[0], mask[1]], [(first & 0xffff) < 0.3 * 65536 ? 1 : 0, first >>> 16 < 0.3 * 65536 ? 1 : 0]);
    for (let i = 1; i < 50_001; i++) b.nextUint32();
    assert.equal(a.state, b.state);
  });

  test('a mask filled in ranges of pairs from skipped-ahead states is the mask filled at once', () => {
    const whole = new Uint8Array(70_001);
    const prng = new Prng(11);
    const start = prng.state;
    prng.fillBernoulli(0.8, whole);
    const pieces = new Uint8Array(whole.length);
    fillBernoulliPairs(start, 0.8, pieces, 20_000, 35_000);
    fillBernoulliPairs(start, 0.8, pieces, 0, 20_000);
    const rest = Prng.fromState(start);
    rest.skip(35_000);
    rest.fillBernoulliLast(0.8, pieces);
    assert.deepEqual(pieces, whole);
    assert.equal(rest.state, prng.state);
    const stepped = new Prng(11);
    for (let i = 0; i < 1000; i++) stepped.nextUint32();
    assert.equal(Prng.stateAfter(start, 1000), stepped.state);
    assert.equal(Prng.stateAfter(start, 2 ** 32 - 1), Prng.stateAfter(Prng.stateAfter(start, 2 ** 31), 2 ** 31 - 1));
  });

  test('is close to uniform', () => {
    const prng = new Prng(3);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(prng.next() * 10)]! += 1;
    for (const count of buckets) assert.ok(Math.abs(count - 10_000) < 400, `bucket holds ${count}`);
    for (let i = 0; i < 1_000; i++) {
      const k = prng.nextInt(7);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    }
  });
});
