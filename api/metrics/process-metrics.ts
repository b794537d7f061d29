import { readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MetricsRegistry } from './exposition.ts';

/**
 * The process and Node.js figures every Node service exports, read at scrape time, under the names
 * prom-client's defaults use (`process_*`, `nodejs_*`) so the usual Node.js dashboards work unchanged.
 * Written against the API's own registry rather than pulling in prom-client for a dozen gauges.
 * Returns the function that stops the event-loop delay sampler.
 */
export function registerProcessMetrics(registry: MetricsRegistry): () => void {
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  registry.counter('process_cpu_user_seconds_total', 'User CPU time spent in seconds').collect(() => process.cpuUsage().user / 1e6);
  registry.counter('process_cpu_system_seconds_total', 'System CPU time spent in seconds').collect(() => process.cpuUsage().system / 1e6);
  registry.counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds').collect(() => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  });
  registry.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch in seconds').collect(() => [{ labels: {}, value: startSeconds }]);
  registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes').collect(() => [{ labels: {}, value: process.memoryUsage.rss() }]);
  registry.gauge('process_open_fds', 'Number of open file descriptors').collect(() => {
    try {
      return [{ labels: {}, value: readdirSync('/proc/self/fd').length }];
    } catch {
      return []; // not Linux: no /proc to count from
    }
  });
  registry.gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes').collect(() => [{ labels: {}, value: process.memoryUsage().heapTotal }]);
  registry.gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes').collect(() => [{ labels: {}, value: process.memoryUsage().heapUsed }]);
  registry.gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes').collect(() => [{ labels: {}, value: process.memoryUsage().external }]);
  registry.gauge('nodejs_eventloop_lag_max_seconds', 'The longest event loop delay since the previous scrape, in seconds').collect(() => [{ labels: {}, value: delay.max / 1e9 }]);
  // Rendered after the max, since reading the p99 starts the next interval.
  registry.gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of event loop delay since the previous scrape, in seconds').collect(() => {
    const p99 = delay.percentile(99) / 1e9;
    delay.reset();
    return [{ labels: {}, value: p99 }];
  });
  registry.gauge('nodejs_version_info', 'Node.js version info').collect(() => [{ labels: { version: process.version }, value: 1 }]);
  return () => delay.disable();
}
