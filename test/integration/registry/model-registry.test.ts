import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { MinioArtifactStore } from '../../../domain/object-store/minio-store.ts';
import { InvalidTransitionError, ModelNotFoundError, ModelRegistry } from '../../../domain/registry/model-registry.ts';
import type { NewModelManifest } from '../../../shared/registry.ts';
import { stackConfig } from '../../support/stack.ts';

const config = stackConfig();
const store = MinioArtifactStore.fromConfig(config.minio);
const uniqueModel = () => `m-${randomBytes(5).toString('hex')}`;
const hex = (s: string) => createHash('sha256').update(s).digest('hex');

function newManifest(name: string, workflowId: string): NewModelManifest {
  return {
    name,
    datasetVersion: hex('dataset'),
    featureDefinitionHash: hex('features'),
    codeVersion: 'abc123',
    trainer: { kind: 'gbdt', hyperparameters: { nTrees: 10 } },
    seed: 7,
    metrics: { rocAuc: 0.71 },
    threshold: 0.5,
    featureNames: { numeric: ['distance'], categorical: ['origin'] },
    origin: { workflowId },
  };
}

/** A clock the test moves by hand, for history timestamps and as-of lookups. */
function manualClock(start: string) {
  let now = new Date(start);
  return { now: () => now, set: (iso: string) => (now = new Date(iso)) };
}

describe('ModelRegistry on MinIO', () => {
  test('concurrent registrations get distinct versions and lose nothing', async () => {
    const registry = new ModelRegistry(store, config.buckets.models);
    const name = uniqueModel();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => registry.register({ manifest: newManifest(name, `wf-${i}`), onnx: Buffer.from(`onnx-${i}`), registrationKey: `wf-${i}`, by: 'pipeline' })),
    );
    assert.deepEqual(results.map((m) => m.version).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    const index = await registry.index(name);
    assert.equal(index.latestVersion, 8);
    for (const m of results) {
      const stored = await registry.manifest(name, m.version);
      assert.equal(index.registrations[stored.origin.workflowId], m.version);
      assert.equal((await registry.onnx(name, m.version)).toString(), `onnx-${stored.origin.workflowId.slice(3)}`);
      assert.equal(stored.onnx.sha256, hex(`onnx-${stored.origin.workflowId.slice(3)}`));
      assert.equal((await registry.view(name, m.version)).status, 'candidate');
    }
  });

  test('registering again with the same key returns the same version (activity retry)', async () => {
    const registry = new ModelRegistry(store, config.buckets.models);
    const name = uniqueModel();
    const first = await registry.register({ manifest: newManifest(name, 'wf-a'), onnx: Buffer.from('x'), registrationKey: 'wf-a', by: 'pipeline' });
    const again = await registry.register({ manifest: newManifest(name, 'wf-a'), onnx: Buffer.from('x'), registrationKey: 'wf-a', by: 'pipeline' });
    assert.equal(again.version, first.version);
    assert.equal(again.createdAt, first.createdAt);
    assert.equal((await registry.index(name)).latestVersion, 1);
  });

  test('status history records who, when and why, and refuses transitions that make no sense', async () => {
    const clock = manualClock('2026-01-01T00:00:00.000Z');
    const registry = new ModelRegistry(store, config.buckets.models, clock.now);
    const name = uniqueModel();
    const { version } = await registry.register({ manifest: newManifest(name, 'wf'), onnx: Buffer.from('x'), registrationKey: 'wf', by: 'pipeline' });
    clock.set('2026-01-01T01:00:00.000Z');
    await registry.transition(name, version, 'approved', { by: 'ana@example.com', reason: 'AUC up 2 points' });
    clock.set('2026-01-01T02:00:00.000Z');
    await registry.transition(name, version, 'canary', { by: 'rollout' });

    const view = await registry.view(name, version);
    assert.equal(view.status, 'canary');
    assert.deepEqual(view.history, [
      { status: 'candidate', at: '2026-01-01T00:00:00.000Z', by: 'pipeline', reason: 'registered' },
      { status: 'approved', at: '2026-01-01T01:00:00.000Z', by: 'ana@example.com', reason: 'AUC up 2 points' },
      { status: 'canary', at: '2026-01-01T02:00:00.000Z', by: 'rollout', reason: '' },
    ]);

    await assert.rejects(registry.transition(name, version, 'approved', { by: 'x' }), (err: Error) => {
      assert.ok(err instanceof InvalidTransitionError);
      assert.equal(err.message, `Model '${name}' version ${version} is canary; it cannot become approved (from canary it can become: production, rolled-back)`);
      return true;
    });
    assert.equal((await registry.view(name, version)).history.length, 3, 'a refused transition changed the history');
  });

  test('concurrent transitions of different versions both land', async () => {
    const registry = new ModelRegistry(store, config.buckets.models);
    const name = uniqueModel();
    const a = await registry.register({ manifest: newManifest(name, 'a'), onnx: Buffer.from('a'), registrationKey: 'a', by: 'p' });
    const b = await registry.register({ manifest: newManifest(name, 'b'), onnx: Buffer.from('b'), registrationKey: 'b', by: 'p' });
    await Promise.all([registry.transition(name, a.version, 'approved', { by: 'x' }), registry.transition(name, b.version, 'rejected', { by: 'y' })]);
    assert.equal((await registry.view(name, a.version)).status, 'approved');
    assert.equal((await registry.view(name, b.version)).status, 'rejected');
  });

  test('promotion archives the old champion in the same write, and as-of lookups follow the champion', async () => {
    const clock = manualClock('2026-02-01T00:00:00.000Z');
    const registry = new ModelRegistry(store, config.buckets.models, clock.now);
    const name = uniqueModel();
    const v1 = (await registry.register({ manifest: newManifest(name, 'one'), onnx: Buffer.from('1'), registrationKey: 'one', by: 'p' })).version;
    const v2 = (await registry.register({ manifest: newManifest(name, 'two'), onnx: Buffer.from('2'), registrationKey: 'two', by: 'p' })).version;
    for (const v of [v1, v2]) await registry.transition(name, v, 'approved', { by: 'ana' });

    clock.set('2026-02-02T00:00:00.000Z');
    assert.deepEqual(await registry.promote(name, v1, { by: 'rollout', reason: 'first model' }), { previousChampion: undefined });
    clock.set('2026-02-10T00:00:00.000Z');
    await registry.setAlias(name, 'challenger', v2, { by: 'rollout' });
    assert.deepEqual(await registry.promote(name, v2, { by: 'rollout', reason: 'canary healthy' }), { previousChampion: v1 });

    const index = await registry.index(name);
    assert.deepEqual(index.aliases, { champion: v2 });
    assert.equal((await registry.view(name, v1)).status, 'archived');
    assert.equal((await registry.view(name, v2)).status, 'production');
    assert.deepEqual((await registry.view(name, v2)).aliases, ['champion']);

    assert.equal(await registry.championAt(name, new Date('2026-02-01T12:00:00.000Z')), undefined);
    assert.equal(await registry.championAt(name, new Date('2026-02-05T00:00:00.000Z')), v1);
    assert.equal(await registry.championAt(name, new Date('2026-02-10T00:00:00.000Z')), v2);
    assert.equal(await registry.championAt(name, new Date('2027-01-01T00:00:00.000Z')), v2);
  });

  test('unknown models and versions are named in the error', async () => {
    const registry = new ModelRegistry(store, config.buckets.models);
    await assert.rejects(registry.index('no-such-model'), (err: Error) => err instanceof ModelNotFoundError && err.message === "No model named 'no-such-model' in the registry");
    const name = uniqueModel();
    await registry.register({ manifest: newManifest(name, 'wf'), onnx: Buffer.from('x'), registrationKey: 'wf', by: 'p' });
    await assert.rejects(registry.view(name, 9), (err: Error) => err instanceof ModelNotFoundError && err.message === `Model '${name}' has no version 9`);
    await assert.rejects(registry.setAlias(name, 'champion', 9, { by: 'x' }), ModelNotFoundError);
    assert.ok((await registry.models()).includes(name));
  });
});
