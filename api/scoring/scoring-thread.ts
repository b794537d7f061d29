import { parentPort } from 'node:worker_threads';
import { InferenceSession, Tensor, env as ortEnv } from 'onnxruntime-node';
import { CATEGORICAL_INPUT, NUMERIC_INPUT, PROBABILITY_OUTPUT } from '../../activities/training/onnx/sluice-graph.ts';
import type { ExecutionProvider } from '../../shared/config.ts';
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

// ONNX Runtime prints its own error line when a provider library is missing; the main thread warns once, in our format.
ortEnv.logLevel = 'fatal';

const sessions = new Map<number, InferenceSession>();

async function create(request: Extract<ScoringRequest, { type: 'create' }>): Promise<ScoringResponse> {
  const failures: { provider: ExecutionProvider; message: string }[] = [];
  for (const provider of request.providers) {
    try {
      const session = await InferenceSession.create(request.model, {
        executionProviders: [provider],
        intraOpNumThreads: request.intraOpThreads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      sessions.set(request.session, session);
      return { seq: request.seq, provider, failures };
    } catch (err) {
      failures.push({ provider, message: (err as Error).message });
    }
  }
  return { seq: request.seq, failures, error: 'no execution provider could load the model' };
}

async function run(request: Extract<ScoringRequest, { type: 'run' }>): Promise<ScoringResponse> {
  const session = sessions.get(request.session);
  if (!session) return { seq: request.seq, error: `session ${request.session} is not loaded on the scoring thread` };
  const feeds: Record<string, Tensor> = {};
  if (request.numeric) feeds[NUMERIC_INPUT] = new Tensor('float32', request.numeric, [request.rows, request.kNum]);
  if (request.categorical !== undefined) {
    const categorical = typeof request.categorical === 'string' ? request.categorical.split(SEPARATOR) : request.categorical;
    feeds[CATEGORICAL_INPUT] = new Tensor('string', categorical, [request.rows, request.kCat]);
  }
  try {
    const output = await session.run(feeds);
    // A copy the thread owns outright, so it can be transferred rather than cloned.
    return { seq: request.seq, scores: Float32Array.from(output[PROBABILITY_OUTPUT]?.data as Float32Array) };
  } catch (err) {
    return { seq: request.seq, error: (err as Error).message };
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
      const session = sessions.get(request.session);
      sessions.delete(request.session);
      await session?.release();
      return;
    }
  }
}

// One message at a time, in order: a run sent right after its session's create finds the session.
let queue = Promise.resolve();
port.on('message', (request: ScoringRequest) => {
  queue = queue.then(() => handle(request));
});
