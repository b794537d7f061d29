import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { kindApiError } from '../../api/errors.ts';
import { EXIT, UsageError, exitCodeFor } from '../../cli/command.ts';
import { ModelNotFoundError, RegistryContentionError } from '../../domain/registry/model-registry.ts';
import { ErrorType, SluiceError } from '../../shared/errors.ts';
import { NON_RETRYABLE_FAILURE_TYPES, asFailure } from '../../shared/failure.ts';
import { parseInput } from '../../shared/parse-input.ts';

describe('error kinds', () => {
  test('the Temporal failure types are the strings tests and saved histories assert on', () => {
    assert.deepEqual(Object.values(ErrorType), [
      'InvalidInput', 'StorageCorrupted', 'DatasetInvalid', 'DatasetChanged', 'OnnxParityMismatch', 'TrainingDataInvalid', 'SourceNotFound', 'SourceUnreachable',
      'UnsupportedFormat', 'CorruptFile', 'EmptyDataset', 'DatasetNotFound', 'SchemaMismatch', 'ModelNotFound', 'RegistryRefused', 'RetrainingUnavailable', 'WebhookRefused',
    ]);
    assert.deepEqual(NON_RETRYABLE_FAILURE_TYPES, Object.values(ErrorType));
  });

  test('a domain error keeps its class and name and fails in Temporal as its kind says', () => {
    const err = new ModelNotFoundError('churn', 3);
    assert.ok(err instanceof ModelNotFoundError && err instanceof SluiceError);
    assert.equal(err.name, 'ModelNotFoundError');
    const failure = asFailure(err);
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'ModelNotFound');
    assert.equal(failure.nonRetryable, true);
    assert.deepEqual(failure.details, [{ model: 'churn', version: 3 }]);
    const contention = new RegistryContentionError('lost the race');
    assert.equal(asFailure(contention), contention, 'an internal error goes on untyped, so Temporal retries it');
  });

  test('the API answers a kind with its code, in the route’s words; other errors stay the route’s', () => {
    const answer = kindApiError(new ModelNotFoundError('churn'), { field: 'path.name' });
    assert.equal(answer?.code, 'UnknownModel');
    assert.equal(answer?.status, 404);
    assert.equal(answer?.field, 'path.name');
    assert.equal(answer?.message, "No model named 'churn' in the registry");
    assert.equal(kindApiError(new RegistryContentionError('x')), undefined);
    assert.equal(kindApiError(new Error('x')), undefined);
  });

  test('the CLI exits with the kind’s code and prints the message; a bug is rethrown', () => {
    const lines: string[] = [];
    assert.equal(exitCodeFor(new UsageError('--by is required'), (line) => lines.push(line)), EXIT.userError);
    assert.deepEqual(lines, ['--by is required']);
    const bug = new RegistryContentionError('x');
    assert.throws(() => exitCodeFor(bug, () => undefined), (err) => err === bug);
  });

  test('parseInput fails a bad input with a typed InvalidInput listing every problem', () => {
    const schema = z.strictObject({ model: z.string(), every: z.number() });
    assert.deepEqual(parseInput(schema, { model: 'm', every: 1 }, () => 'bad'), { model: 'm', every: 1 });
    assert.throws(
      () => parseInput(schema, { every: 'x' }, (problems) => `Invalid input: ${problems.join('; ')}`),
      (err) =>
        err instanceof ApplicationFailure &&
        err.type === ErrorType.InvalidInput &&
        err.nonRetryable &&
        err.message === 'Invalid input: model: Invalid input: expected string, received undefined; every: Invalid input: expected number, received string' &&
        (err.details?.[0] as { problems: string[] }).problems.length === 2,
    );
  });
});
