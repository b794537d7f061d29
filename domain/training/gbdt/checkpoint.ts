import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { GbdtParams } from '../../../shared/trainers.ts';
import { serializedTreeSchema } from './tree.ts';
import { SluiceError } from '../../../shared/errors.ts';

/**
 * What a GBDT run saves every `checkpoint.every` trees. Raw scores are not stored: they are the base
 * score plus the saved trees' leaf values, recomputed on resume in the same order they were first
 * added, so they come back bit for bit. With the PRNG state that makes the resumed run's remaining
 * trees identical to an uninterrupted run's.
 */
export const gbdtCheckpointSchema = z.strictObject({
  format: z.literal('sluice.gbdt-checkpoint.v2'),
  /** Ties the state to the data and parameters it was made with. */
  fingerprint: z.string(),
  trees: z.array(serializedTreeSchema).min(1),
  prngState: z.number().int().min(0).max(0xffffffff),
  bestIteration: z.number().int().positive(),
  bestValidationLoss: z.number(),
});
export type GbdtCheckpoint = z.infer<typeof gbdtCheckpointSchema>;

export class CheckpointMismatchError extends SluiceError {
  override readonly name = 'CheckpointMismatchError';
  readonly kind = 'Internal';
}

/** Hash of everything that shapes the trees: parameters, seed and the binned data itself. */
export function runFingerprint(params: GbdtParams, seed: number, trainBins: Uint8Array, validationBins: Uint8Array, labels: Uint8Array[]): string {
  const hash = createHash('sha256');
  // The thread count does not change the trees, so a run may resume on another.
  const { threads: _threads, ...model } = params;
  hash.update(JSON.stringify({ params: model, seed }));
  hash.update(trainBins);
  hash.update(validationBins);
  for (const label of labels) hash.update(label);
  return hash.digest('hex');
}

export function parseCheckpoint(state: unknown, fingerprint: string): GbdtCheckpoint {
  const parsed = gbdtCheckpointSchema.safeParse(state);
  if (!parsed.success) throw new CheckpointMismatchError(`Not a GBDT checkpoint: ${parsed.error.message}`, { cause: parsed.error });
  if (parsed.data.fingerprint !== fingerprint) {
    throw new CheckpointMismatchError('The checkpoint was made with different data, parameters or seed');
  }
  return parsed.data;
}
