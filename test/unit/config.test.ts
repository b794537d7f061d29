import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONFIG_KEYS, ConfigError, loadConfig } from '../../shared/config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected the config to be rejected');
}

describe('loadConfig', () => {
  test('defaults make a loopback stack with every bucket distinct', () => {
    const config = loadConfig({}, '/srv');
    assert.equal(config.temporal.address, '127.0.0.1:7233');
    assert.equal(config.temporal.namespace, 'default');
    assert.equal(config.minio.endpoint, 'http://127.0.0.1:9000');
    assert.equal(config.api.port, 8080);
    assert.equal(config.dataDir, '/srv/.sluice');
    assert.equal(config.allowDownload, true);
    assert.equal(new Set(Object.values(config.buckets)).size, 6);
  });

  test('values are parsed into their types', () => {
    const config = loadConfig({ SLUICE_API_PORT: '9090', SLUICE_ALLOW_DOWNLOAD: 'false', SLUICE_MINIO_ENDPOINT: 'https://s3.example.com/', SLUICE_LOG_LEVEL: 'debug' }, '/srv');
    assert.equal(config.api.port, 9090);
    assert.equal(config.allowDownload, false);
    assert.equal(config.minio.endpoint, 'https://s3.example.com');
    assert.equal(config.logLevel, 'debug');
  });

  test('variables without the SLUICE_ prefix are ignored and empty values mean default', () => {
    const config = loadConfig({ PATH: '/bin', HOME: '/root', SLUICE_API_PORT: '' }, '/srv');
    assert.equal(config.api.port, 8080);
  });

  test('a bad value names the variable, the value and what was expected', () => {
    const [problem] = problemsOf({ SLUICE_API_PORT: 'eighty' });
    assert.equal(problem, 'SLUICE_API_PORT="eighty": expected a port number from 1 to 65535');
    assert.match(problemsOf({ SLUICE_API_PORT: '70000' })[0] ?? '', /^SLUICE_API_PORT="70000": expected a port from 1 to 65535/);
    assert.match(problemsOf({ SLUICE_TEMPORAL_ADDRESS: 'localhost' })[0] ?? '', /^SLUICE_TEMPORAL_ADDRESS="localhost": expected host:port/);
    assert.match(problemsOf({ SLUICE_BUCKET_MODELS: 'Models_Bucket' })[0] ?? '', /^SLUICE_BUCKET_MODELS="Models_Bucket": expected an S3 bucket name/);
    assert.match(problemsOf({ SLUICE_LOG_LEVEL: 'verbose' })[0] ?? '', /^SLUICE_LOG_LEVEL="verbose": expected one of debug, info, warn, error/);
    assert.match(problemsOf({ SLUICE_MINIO_SECRET_KEY: 'short' })[0] ?? '', /^SLUICE_MINIO_SECRET_KEY="short": expected at least 8 characters/);
  });

  test('booleans are real booleans: 1/yes are rejected rather than guessed', () => {
    for (const value of ['1', 'yes', 'TRUE']) {
      assert.match(problemsOf({ SLUICE_ALLOW_DOWNLOAD: value })[0] ?? '', /expected true or false/);
    }
  });

  test('every problem is reported at once', () => {
    assert.equal(problemsOf({ SLUICE_API_PORT: 'x', SLUICE_LOG_LEVEL: 'loud', SLUICE_TEMPORAL_UI_PORT: '0' }).length, 3);
  });

  test('an unknown SLUICE_ variable is rejected with the closest real name', () => {
    const [problem] = problemsOf({ SLUICE_TEMPRAL_ADDRESS: '127.0.0.1:7233' });
    assert.equal(problem, "SLUICE_TEMPRAL_ADDRESS: unknown setting; did you mean SLUICE_TEMPORAL_ADDRESS? (see the README's settings table)");
  });

  test('the error message lists the problems under a heading', () => {
    assert.throws(() => loadConfig({ SLUICE_API_PORT: 'x' }), (err: Error) => err.message.startsWith('Invalid sluice configuration:\n  - SLUICE_API_PORT'));
  });

  test('TLS: off by default, on with any TLS file; settings that only make sense together are checked together', () => {
    assert.equal(loadConfig({}).temporal.tls, undefined);
    assert.deepEqual(loadConfig({ SLUICE_TEMPORAL_TLS: 'true' }).temporal.tls, { caFile: undefined, cert: undefined, serverName: undefined });
    const mutual = loadConfig({ SLUICE_TEMPORAL_TLS_CA: 'certs/ca.pem', SLUICE_TEMPORAL_TLS_CERT: 'certs/worker.pem', SLUICE_TEMPORAL_TLS_KEY: 'certs/worker.key' }, '/srv/sluice').temporal.tls;
    assert.deepEqual(mutual, { caFile: '/srv/sluice/certs/ca.pem', cert: { certFile: '/srv/sluice/certs/worker.pem', keyFile: '/srv/sluice/certs/worker.key' }, serverName: undefined });
    assert.deepEqual(problemsOf({ SLUICE_TEMPORAL_TLS_CERT: 'worker.pem' }), ['SLUICE_TEMPORAL_TLS_CERT and SLUICE_TEMPORAL_TLS_KEY: set both (a client certificate and its key) or neither']);
    assert.match(problemsOf({ SLUICE_TEMPORAL_TLS_CERT: 'both.pem', SLUICE_TEMPORAL_TLS_KEY: 'both.pem' })[0] ?? '', /^SLUICE_TEMPORAL_TLS_KEY: names the same file/);
    assert.deepEqual(problemsOf({ SLUICE_MINIO_CA: 'ca.pem' }), ['SLUICE_MINIO_CA: only used with an https endpoint, and SLUICE_MINIO_ENDPOINT is http://127.0.0.1:9000']);
    assert.equal(loadConfig({ SLUICE_MINIO_ENDPOINT: 'https://s3.internal:9000', SLUICE_MINIO_CA: 'ca.pem' }, '/srv').minio.caFile, '/srv/ca.pem');
  });

  test('CONFIG_KEYS lists every setting with the SLUICE_ prefix', () => {
    assert.ok(CONFIG_KEYS.length >= 20);
    for (const key of CONFIG_KEYS) assert.match(key, /^SLUICE_[A-Z_]+$/);
  });
});
