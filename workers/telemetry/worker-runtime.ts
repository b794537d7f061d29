import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { TemporalLogForwarder } from './temporal-log-forwarder.ts';

const CORE_LEVEL = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

/**
 * Temporal's runtime for a worker process, installed once before its first connection: every log line,
 * Temporal core's included, through sluice's JSON logger, and the SDK's metrics plus sluice's own
 * (activity-metrics.ts, training progress) served for Prometheus at `metricsAddress`/metrics unless it
 * is undefined. Names follow Prometheus conventions: counters end in `_total`, durations are in
 * seconds with the unit in the name.
 */
export function installWorkerRuntime(config: Pick<Config, 'logLevel'>, log: Logger, metricsAddress: string | undefined): void {
  Runtime.install({
    logger: new TemporalLogForwarder(log),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: CORE_LEVEL[config.logLevel] }) },
      ...(metricsAddress !== undefined && {
        metrics: { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } },
      }),
    },
  });
}
