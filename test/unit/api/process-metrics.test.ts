import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from './support/memory-store.ts';
import { startTestApi, testConfig } from './support/test-api.ts';

/** A sample's value in Prometheus text, by exact series. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('/metrics has the process and Node.js figures, read at each scrape, each family declared once', async () => {
  await using api = await startTestApi({ store: new MemoryStore(), config: testConfig() });
  const first = (await api.request('GET', '/metrics')).text;
  // Some CPU work between the scrapes, so the counter has something to count.
  const until = Date.now() + 50;
  while (Date.now() < until);
  const second = (await api.request('GET', '/metrics')).text;

  const cpu = [value(first, 'process_cpu_seconds_total'), value(second, 'process_cpu_seconds_total')];
  assert.ok(cpu[0] !== undefined && cpu[1] !== undefined && cpu[1] > cpu[0], `CPU seconds rise between scrapes: ${JSON.stringify(cpu)}`);
  assert.ok((value(second, 'process_resident_memory_bytes') ?? 0) > 10 * 1024 * 1024);
  assert.ok((value(second, 'nodejs_heap_size_used_bytes') ?? 0) > 0);
  const started = value(second, 'process_start_time_seconds') ?? 0;
  assert.ok(Math.abs(started - (Date.now() / 1000 - process.uptime())) < 2, `start time ${started}`);
  assert.ok((value(second, 'process_open_fds') ?? 0) > 0);
  for (const lag of ['nodejs_eventloop_lag_max_seconds', 'nodejs_eventloop_lag_p99_seconds']) assert.ok(Number.isFinite(value(second, lag)) && (value(second, lag) ?? -1) >= 0, `${lag} is reported`);
  assert.equal(value(second, `nodejs_version_info{version="${process.version}"}`), 1);
  assert.match(second, /^# TYPE process_cpu_seconds_total counter$/m);

  const declared = second.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
  assert.deepEqual(declared, [...new Set(declared)], 'no metric family is declared twice');
  for (const name of declared) assert.match(name ?? '', /^[a-z_][a-z0-9_]*$/, `${name} is a Prometheus metric name`);
});
