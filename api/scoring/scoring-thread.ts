import { parentPort } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { createOnnxSession } from '../../domain/scoring/execution-providers.ts';
import { runOnnx, servingThreads } from './run-onnx.ts';
import { SEPARATOR, type ScoringRequest, type ScoringResponse } from './scoring-thread-protocol.ts';

/**
 * The scoring thread: ONNX Runtime sessions live here, so a model run (synchronous inside
 * onnxruntime-node) never holds the event loop that parses requests and assembles features. While it
 * scores one micro-batch, the main thread prepares the next; on two cores that is the difference
 * between adding the two costs and overlapping them.
 *
 * Messages: see `scoring-thread-protocol.ts`.
 */

const port = parentPort;
if (!port) throw new Error('scoring-thread.ts runs as a worker thread');

const sessions = new Map<number, { session: InferenceSession; output: string }>();

async function create(request: Extract<ScoringRequest, { type: 'create' }>): Promise<ScoringResponse> {
  const created = await createOnnxSession(request.model, request.providers, servingThreads(request.intraOpThreads));
  if (!created.ok) return { id: request.id, failures: created.failures, error: 'no execution provider could load the model' };
  sessions.set(request.session, { session: created.session, output: request.output });
  return { id: request.id, provider: created.provider, failures: created.failures, outputNames: created.session.outputNames };
}

async function run(request: Extract<ScoringRequest, { type: 'run' }>): Promise<ScoringResponse> {
  const loaded = sessions.get(request.session);
  if (!loaded) return { id: request.id, error: `session ${request.session} is not loaded on the scoring thread` };
  const categorical = typeof request.categorical === 'string' ? request.categorical.split(SEPARATOR) : request.categorical;
  try {
    const scores = await runOnnx(loaded.session, { rows: request.rows, numeric: request.numeric, categorical }, request.kNum, request.kCat, loaded.output);
    // A copy the thread owns outright, so it can be transferred rather than cloned.
    return { id: request.id, scores: Float32Array.from(scores) };
  } catch (err) {
    return { id: request.id, error: (err as Error).message };
  }
}

async function handle(request: ScoringRequest): Promise<void> {
  switch (request.type) {
    case 'create':
      port?.postMessage(await create(request));
      return;
    case 'run': {
      const response = await run(request);
      port?.postMessage(response, 'scores' in response ? [response.scores.buffer as ArrayBuffer] : []);
      return;
    }
    case 'release': {
      const loaded = sessions.get(request.session);
      sessions.delete(request.session);
      await loaded?.session.release();
      return;
    }
  }
}

// One message at a time, in order: a run sent right after its session's create finds the session.
let queue = Promise.resolve();
port.on('message', (request: ScoringRequest) => {
  queue = queue.then(() => handle(request));
});
