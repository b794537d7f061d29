import { CancellationScope, condition, defineSignal, isCancellation, setHandler } from '@temporalio/workflow';

export const releaseSignal = defineSignal('release');

/**
 * A per-model lock held by a running training pipeline. Its id is fixed per model, and Temporal
 * refuses to start a second running workflow with the same id, so two pipelines can never hold it
 * at once. The holder releases it by signal; if the holder dies, Temporal cancels it (parent close
 * policy), so a lock is never left behind.
 */
export async function trainingSlot(input: { modelName: string; holder: string }): Promise<{ heldBy: string; released: 'by-holder' | 'holder-closed' }> {
  let released = false;
  setHandler(releaseSignal, () => {
    released = true;
  });
  try {
    await CancellationScope.cancellable(() => condition(() => released));
    return { heldBy: input.holder, released: 'by-holder' };
  } catch (err) {
    if (isCancellation(err)) return { heldBy: input.holder, released: 'holder-closed' };
    throw err;
  }
}
