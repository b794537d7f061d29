import { NativeConnection } from '@temporalio/worker';
import { explainTemporalFailure, temporalConnectionOptions } from '../control/temporal-connection.ts';
import { type Config, ConfigError } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';

/**
 * A worker's connection to Temporal, or the process ends with one log line saying what to check:
 * exit 2 for a TLS file it cannot read (bad config), 5 for a server it cannot reach or a handshake
 * that fails (the CLI's codes), so a supervisor can tell a broken setting from an outage.
 */
export async function connectWorker(config: Config, log: Logger): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error('worker not started: bad config', { problems: err.problems });
      process.exit(2);
    }
    log.error('worker not started: cannot reach Temporal', { temporal: config.temporal.address, error: await explainTemporalFailure(config.temporal, err) });
    process.exit(5);
  }
}
