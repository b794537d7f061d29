import { performance } from 'node:perf_hooks';
import { loadConfigOrExit } from '../shared/config.ts';
import { BinaryUnavailableError, ensureBinaries } from './infra/binaries.ts';
import { PortInUseError } from './infra/ports.ts';
import { stopDemoApi } from './infra/demo-api.ts';
import { StackStartError, isOurProcess, readStackState, startStack, stopStack } from './infra/stack.ts';

const USAGE = `Usage: tsx scripts/infra.ts <command>   (or npm run infra:<command>)

Commands:
  install   find or build the temporal and minio binaries (cached in SLUICE_BIN_DIR)
  up        start Temporal (with Web UI) and MinIO on loopback, wait until healthy, create buckets
  down      stop exactly the processes 'up' started (and the API the demo left serving)
  status    show whether the recorded stack is running

Settings come from SLUICE_* environment variables; see the README's settings table.`;

const report = (line: string) => console.log(`[infra] ${line}`);

async function main(command: string | undefined): Promise<number> {
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const config = loadConfigOrExit();
  switch (command) {
    case 'install': {
      const t0 = performance.now();
      await ensureBinaries(config, report);
      report(`binaries ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'up': {
      const binaries = await ensureBinaries(config, report);
      const state = await startStack(config, { binaries, report });
      report(`Temporal UI:   ${state.temporal.uiUrl}`);
      report(`MinIO console: ${state.minio.consoleUrl}  (user ${config.minio.accessKey})`);
      report(`logs: ${state.temporal.log}, ${state.minio.log}`);
      return 0;
    }
    case 'down':
      await stopDemoApi(config.dataDir, report);
      await stopStack(config.dataDir, report);
      return 0;
    case 'status': {
      const state = readStackState(config.dataDir);
      if (!state) {
        report(`no stack recorded in ${config.dataDir}`);
        return 1;
      }
      const t = isOurProcess(state.temporal.pid, state.temporal.binary);
      const m = isOurProcess(state.minio.pid, state.minio.binary);
      report(`temporal pid ${state.temporal.pid}: ${t ? 'running' : 'not running'} (${state.temporal.address}, UI ${state.temporal.uiUrl})`);
      report(`minio pid ${state.minio.pid}: ${m ? 'running' : 'not running'} (${state.minio.endpoint}, console ${state.minio.consoleUrl})`);
      return t && m ? 0 : 1;
    }
    default:
      console.error(`Unknown command '${command}'.\n\n${USAGE}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv[2]);
} catch (err) {
  if (err instanceof BinaryUnavailableError || err instanceof PortInUseError || err instanceof StackStartError) {
    console.error(`[infra] ${err.message}`);
    process.exitCode = 1;
  } else {
    throw err;
  }
}
