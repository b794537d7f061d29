import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MetricsRegistry } from '../../../api/metrics/exposition.ts';
import { recordGcPauses } from '../../../api/metrics/gc-pauses.ts';

test('counters, gauges and histograms render in the Prometheus text format', () => {
  const registry = new MetricsRegistry();
  const requests = registry.counter('x_requests_total', 'Requests');
  requests.with({ route: 'predict', status: '200' }).inc();
  requests.with({ route: 'predict', status: '200' }).inc(2);
  requests.with({ route: 'a"b\\c\nd', status: '500' }).inc();
  registry.gauge('x_depth', 'Depth').collect(() => [{ labels: {}, value: 7 }]);
  const latency = registry.histogram('x_seconds', 'Latency', [0.01, 0.1]);
  latency.with({ model: 'm' }).observe(0.005);
  latency.with({ model: 'm' }).observe(0.05);
  latency.with({ model: 'm' }).observe(5);
  assert.equal(
    registry.render(),
    [
      '# HELP x_requests_total Requests',
      '# TYPE x_requests_total counter',
      'x_requests_total{route="predict",status="200"} 3',
      'x_requests_total{route="a\\"b\\\\c\\nd",status="500"} 1',
      '# HELP x_depth Depth',
      '# TYPE x_depth gauge',
      'x_depth 7',
      '# HELP x_seconds Latency',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{model="m",le="0.01"} 1',
      'x_seconds_bucket{model="m",le="0.1"} 2',
      'x_seconds_bucket{model="m",le="+Inf"} 3',
      'x_seconds_sum{model="m"} 5.055',
      'x_seconds_count{model="m"} 3',
      '',
    ].join('\n'),
  );
});

test('garbage collection pauses are recorded by kind until recording stops', async () => {
  const registry = new MetricsRegistry();
  const pauses = registry.histogram('x_gc_pause_seconds', 'GC pauses', [0.001, 0.1]);
  const stop = recordGcPauses(pauses);
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  collect();
  // Performance entries are delivered on a later turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const recorded = pauses.with({ kind: 'major' }).count;
  assert.ok(recorded >= 1, `a full collection was recorded as major (${recorded})`);
  assert.match(registry.render(), /^x_gc_pause_seconds_count\{kind="major"\} [1-9]/m);
  stop();
  collect();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(pauses.with({ kind: 'major' }).count, recorded, 'nothing recorded after stop');
});
