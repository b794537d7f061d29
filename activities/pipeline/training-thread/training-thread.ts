import { parentPort } from 'node:worker_threads';
import { SluiceError } from '../../../shared/errors.ts';
import { fitCandidate } from './fit-candidate.ts';
import type { FromTrainingThread, ThreadError, ToTrainingThread } from './protocol.ts';

/**
 * The training thread: fits one candidate and exits. Training holds the CPU for minutes at a time;
 * off the worker's main thread it cannot delay the heartbeats, so a short heartbeat timeout notices
 * a dead worker quickly without ever timing out a live one.
 */
const port = parentPort;
if (!port) throw new Error('training-thread.ts runs as a worker thread');

const send = (message: FromTrainingThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const savesInFlight = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
let nextSave = 1;

function asThreadError(err: unknown): ThreadError {
  if (err instanceof SluiceError) return { name: err.name, message: err.message, kind: err.kind, details: err.details };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

port.on('message', (message: ToTrainingThread) => {
  switch (message.type) {
    case 'checkpoint-saved':
      savesInFlight.get(message.seq)?.resolve();
      savesInFlight.delete(message.seq);
      return;
    case 'checkpoint-failed':
      savesInFlight.get(message.seq)?.reject(new Error(message.message));
      savesInFlight.delete(message.seq);
      return;
    case 'fit':
      fitCandidate(message.job, {
        progress: (details) => send({ type: 'progress', details }),
        saveCheckpoint: (state) =>
          new Promise<void>((resolve, reject) => {
            const seq = nextSave++;
            savesInFlight.set(seq, { resolve, reject });
            send({ type: 'checkpoint', seq, state });
          }),
      }).then(
        (fit) => {
          // Its own buffer, moved rather than copied to the main thread.
          const onnx = fit.onnx.slice();
          send({ type: 'fitted', fit: { ...fit, onnx } }, [onnx.buffer]);
          port.close();
        },
        (err: unknown) => {
          send({ type: 'failed', error: asThreadError(err) });
          port.close();
        },
      );
  }
});
