import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { startTrainingPipeline } from '../control/start-training-pipeline.ts';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import { loadSpecFile } from '../cli/load-spec.ts';
import { describeOutcome, followPipeline } from '../cli/progress-view.ts';
import { loadConfigOrExit } from '../shared/config.ts';
import { createPipelineWorker } from '../workers/pipeline-worker.ts';
import { BinaryUnavailableError, ensureBinaries } from './infra/binaries.ts';
import { PortInUseError } from './infra/ports.ts';
import { type StackState, StackStartError, startStack } from './infra/stack.ts';
import { serveFirstPrediction } from './demo/first-prediction.ts';

/**
 * The README's first command: brings up the local stack (it stays up afterwards so the Temporal UI
 * can be browsed; `npm run infra:down` stops it), runs a pipeline worker in this process, and runs
 * the training pipeline on the real flights data (3 M flights, Jan-Jun 2001), following it stage by
 * stage until a person approves or rejects the model (or --auto-approve does); an approved model is
 * deployed, and the API started beside the stack scores one real flight.
 */

const USAGE = `Usage: npm run demo [-- --auto-approve] [-- --spec path/to/pipeline.json]

Starts Temporal (with its Web UI) and MinIO if they are not running, runs a pipeline worker in this
process, and trains the flights delay model with examples/flights/pipeline.json: ingest, validate,
point-in-time features, GBDT training, ONNX evaluation against gates and the champion, registration,
and human approval. Approve from the Temporal UI, the sluice CLI, or pass --auto-approve. An approved
model is deployed through its deployment workflow; the prediction API then starts beside the stack
(port SLUICE_API_PORT, default 8080) and scores one real flight, printing the curl command.
Settings come from SLUICE_* environment variables (see the README). Stop the stack: npm run infra:down`;

const { values } = parseArgs({ options: { 'auto-approve': { type: 'boolean' }, spec: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const say = (line: string) => console.log(`[demo] ${line}`);
const config = loadConfigOrExit();
Runtime.install({ logger: new DefaultLogger('WARN') });

const started = Date.now();
let state: StackState;
try {
  state = await startStack(config, { binaries: await ensureBinaries(config, say), report: say });
} catch (err) {
  // What the person can fix (a busy port, no Go toolchain, a server that would not start): its message, no stack trace.
  if (!(err instanceof BinaryUnavailableError || err instanceof PortInUseError || err instanceof StackStartError)) throw err;
  console.error(`[demo] ${err.message}`);
  process.exit(1);
}
const store = MinioArtifactStore.fromConfig(config.minio);

const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
const connection = await Connection.connect({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
const worker = await createPipelineWorker({ config, connection: nativeConnection, store });
const uiRunUrl = (id: string) => `${state.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(id)}`;

try {
  await worker.runUntil(async () => {
    const specPath = values.spec ?? new URL('../examples/flights/pipeline.json', import.meta.url).pathname;
    say(`spec: ${specPath}`);
    say('hashing the dataset (its SHA-256 is its version and part of the run id)...');
    const requestedBy = userInfo().username;
    const run = await startTrainingPipeline({ client, config, store }, { spec: loadSpecFile(specPath), requestedBy, trigger: { kind: 'demo', by: requestedBy } });
    say(`${run.started ? 'started' : 'this exact request already ran; showing'} ${run.workflowId}`);
    say(`dataset version ${run.datasetVersion}`);
    say(`watch it in the Temporal UI: ${uiRunUrl(run.workflowId)}`);
    say(`all runs awaiting approval, in the UI's search box: PipelineStage = "awaiting-approval"`);
    const outcome = await followPipeline(run.handle, {
      client,
      taskQueue: config.taskQueues.pipeline,
      runUrl: uiRunUrl(run.workflowId),
      write: (line) => console.log(line),
      ...(values['auto-approve'] ? { autoApproveAs: `${requestedBy} (demo --auto-approve)` } : {}),
    });

    say('summary');
    say(`  dataset version: ${run.datasetVersion}`);
    for (const line of describeOutcome(outcome)) say(`  ${line}`);
    if (outcome.status === 'approved' || outcome.status === 'rejected') {
      const view = await new ModelRegistry(store, config.buckets.models).view(outcome.modelName, outcome.version);
      const m = view.manifest.metrics;
      say(`  model: ${outcome.modelName} v${outcome.version} (${view.status}); test ROC AUC ${m.rocAuc?.toFixed(4)}, log loss ${m.logLoss?.toFixed(4)}, p99 latency ${m.latencyP99Ms?.toFixed(3)} ms`);
      say('  gates: passed');
    } else if (outcome.status === 'gate-failed') {
      say(`  gates: failed (${outcome.gate.failed.join('; ')})`);
    }
    say(`  took ${((Date.now() - started) / 1000).toFixed(0)} s. The registry: npx sluice models list`);
    if (outcome.status === 'approved') {
      try {
        await serveFirstPrediction({ client, config, registry: new ModelRegistry(store, config.buckets.models), say }, outcome.modelName, outcome.version, requestedBy);
      } catch (err) {
        if (!(err instanceof PortInUseError)) throw err;
        say(`the API was not started: ${err.message}`);
      }
    }
    say(`Temporal UI: ${uiRunUrl(run.workflowId)}   MinIO console: ${state.minio.consoleUrl} (user ${config.minio.accessKey})`);
    say('The stack (and the API, once started) keeps running; stop it with: npm run infra:down');
  });
} finally {
  await nativeConnection.close();
  await connection.close();
}
