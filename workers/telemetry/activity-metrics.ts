import { performance } from 'node:perf_hooks';
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * sluice's own activity figures beside Temporal core's: how long each activity attempt took, in
 * seconds, by outcome (`completed` or `failed`: a validation failure is an activity failing on
 * purpose). The activity's meter already labels it with `activityType`, `taskQueue` and `namespace`.
 * Core's `temporal_activity_execution_latency` has no outcome, and its failed count no duration.
 */
export const activityMetrics: ActivityInterceptorsFactory = (ctx: Context) => {
  const duration = ctx.metricMeter.createHistogram('sluice_activity_duration', 'float', 'seconds', 'Duration of activity attempts by activity type and outcome');
  return {
    inbound: {
      async execute(input, next) {
        const started = performance.now();
        let outcome = 'failed';
        try {
          const result = await next(input);
          outcome = 'completed';
          return result;
        } finally {
          duration.record((performance.now() - started) / 1000, { outcome });
        }
      },
    },
  };
};
