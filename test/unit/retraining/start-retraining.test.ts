import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type PipelineStart, PipelineSpecError, RetrainingRequestError, type RetrainingPorts, startRetraining } from '../../../domain/retraining/start-retraining.ts';
import { loadSpecFile } from '../../../cli/load-spec.ts';

const spec = loadSpecFile(new URL('../../../examples/flights/pipeline.json', import.meta.url).pathname) as Record<string, unknown>;
const model = 'flights-delay';
const trigger = { kind: 'manual', reason: 'new labels', requestedBy: 'omar' } as const;

/** Ports that record what was started; the slot is held or free as told. */
function ports(slot: Awaited<ReturnType<RetrainingPorts['slot']>>, started = true) {
  const calls: { spec: unknown; requestedBy: string; trigger: Record<string, unknown> }[] = [];
  const value: RetrainingPorts = {
    slot: async () => slot,
    startPipeline: async (request) => {
      calls.push(request);
      return { workflowId: 'train-flights-delay-x', datasetVersion: 'd'.repeat(64), specHash: 's'.repeat(64), started } satisfies PipelineStart;
    },
  };
  return { value, calls };
}

describe('startRetraining', () => {
  test('a free slot starts the pipeline with the trigger and who asked', async () => {
    const { value, calls } = ports({ held: false });
    const outcome = await startRetraining(value, { model, spec, requestedBy: 'omar', trigger });
    assert.equal(outcome.status, 'started');
    assert.deepEqual(calls.map((c) => [c.requestedBy, c.trigger]), [['omar', trigger]]);
  });

  test('the same request on the same data attaches to the run that exists', async () => {
    const { value } = ports({ held: false }, false);
    assert.equal((await startRetraining(value, { model, spec, requestedBy: 'omar', trigger })).status, 'attached');
  });

  test('a held slot starts nothing and names the run holding it', async () => {
    const { value, calls } = ports({ held: true, by: 'train-flights-delay-abc' });
    const outcome = await startRetraining(value, { model, spec, requestedBy: 'omar', trigger });
    assert.equal(outcome.status, 'already-running');
    assert.ok(outcome.status === 'already-running');
    assert.equal(outcome.heldBy, 'train-flights-delay-abc');
    assert.match(outcome.message, /flights-delay is already training \(run train-flights-delay-abc\): it holds training-slot-flights-delay; nothing was started/);
    assert.equal(calls.length, 0);
  });

  test('a spec for another model or an invalid spec is refused before anything starts', async () => {
    const { value, calls } = ports({ held: false });
    await assert.rejects(startRetraining(value, { model: 'other', spec, requestedBy: 'omar', trigger }), (err: unknown) => err instanceof RetrainingRequestError && /spec.model.name is 'flights-delay', but the retraining is for 'other'/.test(err.message));
    await assert.rejects(startRetraining(value, { model, spec: { ...spec, trainer: { kind: 'nope' } }, requestedBy: 'omar', trigger }), PipelineSpecError);
    assert.equal(calls.length, 0);
  });
});
