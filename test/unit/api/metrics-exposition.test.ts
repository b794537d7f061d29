import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsRegistry } from '../../../api/metrics/exposition.ts';

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
