import { ruleOf } from '../../../shared/errors.ts';
import { kindFailure } from '../../../shared/failure.ts';
import { startTsThread } from '../../../shared/ts-thread.ts';
import type { CandidateFit, CandidateFitJob, FromTrainingThread, ThreadError, ToTrainingThread } from './protocol.ts';

export interface TrainingRelay {
  progress: (details: Record<string, unknown>) => void;
  saveCheckpoint: (state: unknown) => Promise<void>;
  /** Aborted when the activity is cancelled: the thread is stopped at once, mid-iteration. */
  signal: AbortSignal;
}

/** The error the thread failed with, as the activity throws it: a kind with a failure type becomes that typed failure, as `asFailure` does on one thread. */
function rebuild(error: ThreadError): Error {
  if (error.kind !== undefined && ruleOf(error.kind).failure !== undefined) return kindFailure(error.kind, error.message, error.details);
  const err = new Error(error.message);
  err.name = error.name;
  return err;
}

/** Fits a candidate on a thread of its own, relaying its progress and checkpoints; the thread is gone when this settles. */
export function runTrainingThread(job: CandidateFitJob, relay: TrainingRelay): Promise<CandidateFit> {
  const thread = startTsThread(new URL('./training-thread.ts', import.meta.url));
  const send = (message: ToTrainingThread) => thread.postMessage(message);
  return new Promise<CandidateFit>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      relay.signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = () => {
      void thread.terminate();
      settle(() => reject(relay.signal.reason instanceof Error ? relay.signal.reason : new Error('training cancelled')));
    };
    relay.signal.addEventListener('abort', onAbort);
    thread.on('message', (message: FromTrainingThread) => {
      switch (message.type) {
        case 'progress':
          relay.progress(message.details);
          return;
        case 'checkpoint':
          relay.saveCheckpoint(message.state).then(
            () => send({ type: 'checkpoint-saved', seq: message.seq }),
            (err: unknown) => send({ type: 'checkpoint-failed', seq: message.seq, message: err instanceof Error ? err.message : String(err) }),
          );
          return;
        case 'fitted':
          settle(() => resolve(message.fit));
          return;
        case 'failed':
          settle(() => reject(rebuild(message.error)));
      }
    });
    thread.on('error', (err) => settle(() => reject(err)));
    thread.on('exit', (code) => settle(() => reject(new Error(`the training thread exited (code ${code}) before it reported a result`))));
    if (relay.signal.aborted) onAbort();
    else send({ type: 'fit', job });
  });
}
