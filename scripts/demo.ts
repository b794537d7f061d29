import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { MinioArtifactStore } from '../activities/object-store/minio-store.ts';
import { loadConfigOrExit } from '../shared/config.ts';
import type { stackCheck } from '../workflows/stack-check.ts';
import { createPipelineWorker } from '../workers/pipeline-worker.ts';
import { ensureBinaries } from './infra/binaries.ts';
import { startStack } from './infra/stack.ts';

/**
 * The README's first command. Brings up the local stack (it stays up afterwards, so the Temporal UI
 * can be browsed; `npm run infra:down` stops it), runs a worker in this process, and runs the
 * `stackCheck` workflow that proves the wiring end to end.
 */

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`Usage: npm run demo

Starts Temporal (Web UI) and MinIO if they are not running, runs a pipeline worker in this process,
and runs the stackCheck workflow: one object written to and read back from every bucket.
Settings come from SLUICE_* environment variables (see the README). Stop the stack with: npm run infra:down`);
  process.exit(0);
}

const say = (line: string) => console.log(`[demo] ${line}`);
const config = loadConfigOrExit();
Runtime.install({ logger: new DefaultLogger('WARN') });

const binaries = await ensureBinaries(config, say);
const state = await startStack(config, { binaries, report: say });

const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
const connection = await Connection.connect({ address: config.temporal.address });
const client = new Client({ connection, namespace: config.temporal.namespace });
const worker = await createPipelineWorker({ config, connection: nativeConnection, store: MinioArtifactStore.fromConfig(config.minio) });

const workflowId = `stack-check-${new Date().toISOString().replace(/[:.]/g, '-')}`;
const runUrl = `${state.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}`;
say(`starting workflow stackCheck as ${workflowId}`);
say(`watch it in the Temporal UI: ${runUrl}`);

try {
  const result = await worker.runUntil(
    client.workflow.execute<typeof stackCheck>('stackCheck', {
      taskQueue: config.taskQueues.pipeline,
      workflowId,
      args: [{ buckets: Object.values(config.buckets), note: 'written by npm run demo' }],
    }),
  );
  say('every bucket stored and returned the same bytes:');
  for (const p of result.probes) {
    say(`  s3://${p.bucket}/${p.key}  ${p.bytes} B  sha256 ${p.sha256.slice(0, 12)}…  write ${p.writeMs.toFixed(1)} ms, read ${p.readMs.toFixed(1)} ms`);
  }
  say(`done. Temporal UI: ${runUrl}`);
  say(`MinIO console: ${state.minio.consoleUrl} (user ${config.minio.accessKey}). Stop the stack with: npm run infra:down`);
} finally {
  await nativeConnection.close();
  await connection.close();
}
