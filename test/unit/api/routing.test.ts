import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ModelRuntime } from '../../../api/scoring/model-runtime.ts';
import { type ModelRoutes, chooseRoute, shadowFor } from '../../../api/serving/routing.ts';

const runtime = (version: number) => ({ version }) as ModelRuntime;
const routes = (canaryPercent: number, shadowPercent?: number): ModelRoutes => ({
  primary: runtime(1),
  canary: { runtime: runtime(2), percent: canaryPercent },
  shadow: shadowPercent === undefined ? undefined : { runtime: runtime(3), percent: shadowPercent },
});

describe('routing', () => {
  test('the same routing key always lands on the same version', () => {
    const r = routes(25);
    for (let k = 0; k < 200; k++) {
      const first = chooseRoute('m', r, `customer-${k}`).runtime.version;
      for (let i = 0; i < 20; i++) assert.equal(chooseRoute('m', r, `customer-${k}`).runtime.version, first);
    }
  });

  test('keys split by the configured share, to within a percentage point over 20,000 keys', () => {
    for (const percent of [5, 25, 50]) {
      const r = routes(percent);
      let canary = 0;
      for (let k = 0; k < 20_000; k++) if (chooseRoute('m', r, `key-${k}`).route === 'canary') canary++;
      assert.ok(Math.abs(canary / 200 - percent) < 1, `${percent}%: got ${canary / 200}%`);
    }
  });

  test('without a key the split is drawn at random with the same share', () => {
    const r = routes(25);
    let canary = 0;
    for (let i = 0; i < 20_000; i++) if (chooseRoute('m', r, undefined).route === 'canary') canary++;
    assert.ok(Math.abs(canary / 200 - 25) < 1.5, `got ${canary / 200}%`);
  });

  test('raising the canary share keeps keys already on the canary there', () => {
    const at5 = new Set<string>();
    for (let k = 0; k < 5000; k++) if (chooseRoute('m', routes(5), `k${k}`).route === 'canary') at5.add(`k${k}`);
    for (const key of at5) assert.equal(chooseRoute('m', routes(25), key).route, 'canary');
  });

  test('the shadow sample is independent of the canary split and follows its own share', () => {
    const r = routes(50, 10);
    let shadowed = 0;
    let shadowedOnCanary = 0;
    for (let k = 0; k < 20_000; k++) {
      const key = `s${k}`;
      if (shadowFor('m', r, key)) {
        shadowed++;
        if (chooseRoute('m', r, key).route === 'canary') shadowedOnCanary++;
      }
    }
    assert.ok(Math.abs(shadowed / 200 - 10) < 1, `shadowed ${shadowed / 200}%`);
    assert.ok(Math.abs(shadowedOnCanary / shadowed - 0.5) < 0.05, 'half the shadowed keys are canary keys');
    assert.equal(shadowFor('m', routes(5, 100), 'any')?.version, 3);
    assert.equal(shadowFor('m', routes(5), 'any'), undefined);
  });
});
