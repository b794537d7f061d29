import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { hashApiKey } from '../../api/auth/key-ring.ts';
import { apiKeysFileSchema } from '../../shared/api/keys.ts';
import { CONFIG_KEYS, loadConfig } from '../../shared/config.ts';
import { SEARCH_ATTRIBUTES } from '../../shared/search-attributes.ts';

/** No Docker engine runs on these machines, so the compose file is checked statically. */

const serviceSchema = z.object({
  image: z.string(),
  build: z.unknown().optional(),
  command: z.union([z.string(), z.array(z.string())]).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  ports: z.array(z.string()).optional(),
  healthcheck: z.object({ test: z.array(z.string()) }).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
  volumes: z.array(z.string()).optional(),
  stop_grace_period: z.string().optional(),
});
const composeSchema = z.object({ services: z.record(z.string(), serviceSchema) });

const compose = composeSchema.parse(parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }));
const services = compose.services;
const service = (name: string) => {
  const s = services[name];
  assert.ok(s, `docker-compose.yml has no service '${name}'`);
  return s;
};

/** `${NAME:-default}` as compose resolves it with nothing set in the environment. */
const withDefaults = (value: string | number | boolean) => String(value).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
const envOf = (name: string) => Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, withDefaults(v)]));
const commandText = (name: string) => [service(name).command ?? []].flat().join(' ');
/** The services built from this repository's Dockerfile. */
const SLUICE_SERVICES = ['worker', 'scoring-worker', 'api'];

describe('docker-compose.yml', () => {
  test('has the production-shaped services', () => {
    for (const name of ['postgresql', 'temporal-schema', 'temporal', 'temporal-setup', 'temporal-ui', 'minio', 'minio-init', 'worker', 'scoring-worker', 'api']) service(name);
  });

  test('images that exist: MinIO from quay.io (gone from Docker Hub), Temporal server and admin tools (auto-setup is deprecated)', () => {
    for (const name of ['minio', 'minio-init']) assert.match(service(name).image, /^quay\.io\/minio\//, `${name}: ${service(name).image}`);
    for (const [name, s] of Object.entries(services)) assert.doesNotMatch(s.image, /auto-setup/, `${name} uses the deprecated auto-setup image`);
    assert.match(service('temporal').image, /^temporalio\/server:/);
    assert.match(service('temporal-schema').image, /^temporalio\/admin-tools:/);
    assert.equal(service('temporal-schema').depends_on?.postgresql?.condition, 'service_healthy');
    const script = readFileSync(new URL('../../deploy/temporal/setup-schema.sh', import.meta.url), 'utf8');
    for (const db of ['temporal', 'temporal_visibility']) assert.ok(script.includes(db), `setup-schema.sh does not set up ${db}`);
    assert.match(script, /update-schema/);
  });

  test('every published port listens on loopback unless SLUICE_PUBLISH_ADDRESS says otherwise', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const port of s.ports ?? []) assert.match(port, /^\$\{SLUICE_PUBLISH_ADDRESS:-127\.0\.0\.1\}:\d+:\d+$/, `${name} publishes ${port} on every interface`);
    }
  });

  test('the API is given longer to stop than its drain, so its last prediction-log flush is not cut off', () => {
    const seconds = (text: string | undefined) => Number(/^(\d+)s$/.exec(text ?? '')?.[1] ?? NaN);
    const drainMs = loadConfig(envOf('api')).api.shutdownGraceMs;
    assert.ok(seconds(service('api').stop_grace_period) * 1000 > drainMs, `api stop_grace_period ${service('api').stop_grace_period} is not above its ${drainMs} ms drain`);
    for (const name of ['worker', 'scoring-worker']) assert.ok(seconds(service(name).stop_grace_period) >= 30, `${name} gets under 30 s to finish its activities`);
  });

  test('the image holds what the documented in-container commands need: the examples and their flights data', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    assert.match(dockerfile, /^COPY examples \.\/examples$/m);
    const pinned = /vega-datasets@([\d.]+)/.exec(dockerfile)?.[1];
    const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };
    assert.equal(pinned, packageJson.devDependencies['vega-datasets'], 'the image installs another vega-datasets than the repository uses');
    const example = JSON.parse(readFileSync(new URL('../../examples/flights/pipeline.json', import.meta.url), 'utf8')) as { dataset: { source: string } };
    assert.match(example.dataset.source, /node_modules\/vega-datasets\//);
  });

  // Debian's docker-compose (1.29) parses and validates the file without a Docker engine; CI installs it (.ci/run).
  const composeCli = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  test('a real Compose parser accepts the file and resolves the publish address', { skip: composeCli.status === 0 ? false : 'docker-compose is not installed (apt-get install docker-compose; CI installs it)' }, () => {
    const file = new URL('../../docker-compose.yml', import.meta.url).pathname;
    const resolved = (env: Record<string, string>) => {
      const run = spawnSync('docker-compose', ['-f', file, 'config'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
      assert.equal(run.status, 0, `docker-compose config refused the file:\n${run.stderr}`);
      return parse(run.stdout) as { services: Record<string, { ports?: { host_ip?: string; published?: number | string; target?: number }[] | string[] }> };
    };
    const local = resolved({});
    assert.deepEqual(Object.keys(local.services).sort(), Object.keys(services).sort());
    const hostIps = (config: ReturnType<typeof resolved>) => Object.values(config.services).flatMap((s) => (s.ports ?? []).map((p) => (typeof p === 'string' ? p.split(':')[0] : p.host_ip)));
    assert.ok(hostIps(local).length >= 5 && hostIps(local).every((ip) => ip === '127.0.0.1'), JSON.stringify(hostIps(local)));
    assert.ok(hostIps(resolved({ SLUICE_PUBLISH_ADDRESS: '0.0.0.0' })).every((ip) => ip === '0.0.0.0'));
  });

  test("the API signs approval decisions with a key made in the stack's own volume and registered as its delegate", () => {
    const keyFile = envOf('api').SLUICE_APPROVAL_SIGNING_KEY;
    assert.ok(keyFile, 'the api sets no SLUICE_APPROVAL_SIGNING_KEY');
    const dir = keyFile.slice(0, keyFile.lastIndexOf('/'));
    const [volume] = service('api').volumes?.map((v) => v.split(':')).find(([, target]) => target === dir) ?? [];
    assert.ok(volume && !volume.startsWith('.'), `the api does not mount a named volume at ${dir}`);
    assert.ok(service('approval-signing-key').volumes?.includes(`${volume}:${dir}`), 'approval-signing-key does not write the volume the api reads');
    assert.equal(service('api').depends_on?.['approval-signing-key']?.condition, 'service_completed_successfully');
    const script = commandText('approval-signing-key');
    assert.match(script, new RegExp(`approvers keygen --id sluice-api --out ${keyFile}`));
    assert.match(script, new RegExp(`approvers add --id sluice-api --public-key ${keyFile}\\.pub --delegate`));
  });

  test('every image is pinned to an explicit tag', () => {
    for (const [name, s] of Object.entries(services)) {
      const tag = s.image.split('/').pop()?.split(':')[1];
      assert.ok(tag, `${name}: image ${s.image} has no tag`);
      assert.notEqual(tag, 'latest', `${name}: image ${s.image} uses 'latest'`);
    }
  });

  test('long-running infrastructure has healthchecks and dependents wait for them', () => {
    for (const name of ['postgresql', 'temporal', 'minio', 'api']) assert.ok(service(name).healthcheck, `${name} has no healthcheck`);
    assert.equal(service('temporal').depends_on?.['temporal-schema']?.condition, 'service_completed_successfully', 'temporal starts before its schema is set up');
    assert.equal(service('minio-init').depends_on?.minio?.condition, 'service_healthy');
    for (const name of ['worker', 'scoring-worker']) {
      assert.equal(service(name).depends_on?.['minio-init']?.condition, 'service_completed_successfully', `${name} does not wait for the buckets`);
      assert.equal(service(name).depends_on?.['temporal-setup']?.condition, 'service_completed_successfully', `${name} does not wait for the search attributes`);
    }
  });

  test('sluice services set only settings the config schema knows, and the values parse', () => {
    for (const name of SLUICE_SERVICES) {
      const env = envOf(name);
      const sluiceKeys = Object.keys(env).filter((k) => k.startsWith('SLUICE_'));
      assert.ok(sluiceKeys.length > 0, `${name} sets no SLUICE_ variables`);
      for (const key of sluiceKeys) assert.ok((CONFIG_KEYS as string[]).includes(key), `${name}: ${key} is not a setting in shared/config.ts`);
      assert.doesNotThrow(() => loadConfig(env), `${name}: its environment does not parse as a sluice config`);
    }
  });

  test('addresses and ports agree between services', () => {
    for (const name of SLUICE_SERVICES) {
      const config = loadConfig(envOf(name));
      const [temporalHost, temporalPort] = config.temporal.address.split(':');
      assert.ok(services[temporalHost ?? ''], `${name}: Temporal host ${temporalHost} is not a service`);
      assert.ok(service('temporal').ports?.some((p) => p.endsWith(`:${temporalPort}`)), `temporal does not expose ${temporalPort}`);
      const minio = new URL(config.minio.endpoint);
      assert.ok(services[minio.hostname], `${name}: MinIO host ${minio.hostname} is not a service`);
      assert.ok(service('minio').ports?.some((p) => p.endsWith(`:${minio.port}`)), `minio does not expose ${minio.port}`);
      assert.equal(config.minio.accessKey, envOf('minio').MINIO_ROOT_USER, `${name}: access key differs from MinIO's root user`);
      assert.equal(config.minio.secretKey, envOf('minio').MINIO_ROOT_PASSWORD, `${name}: secret key differs from MinIO's root password`);
    }
    const api = loadConfig(envOf('api'));
    assert.ok(service('api').ports?.some((p) => p.endsWith(`:${api.api.port}`)), `api does not publish its SLUICE_API_PORT ${api.api.port}`);
    assert.equal(api.api.host, '0.0.0.0', 'the API must listen on all interfaces inside its container');
    assert.ok(service('temporal-ui').environment?.TEMPORAL_ADDRESS === api.temporal.address, 'temporal-ui points at another Temporal');
  });

  test('bucket init creates every configured bucket and setup registers every search attribute', () => {
    const config = loadConfig(envOf('worker'));
    for (const bucket of Object.values(config.buckets)) assert.match(commandText('minio-init'), new RegExp(`\\b${bucket}\\b`), `minio-init does not create ${bucket}`);
    for (const [name, { cliName }] of Object.entries(SEARCH_ATTRIBUTES)) {
      assert.ok(commandText('temporal-setup').includes(`${name}:${cliName}`), `temporal-setup does not register ${name} as ${cliName}`);
    }
  });

  test('each worker serves its own task queue', () => {
    assert.match(commandText('worker'), /workers\/pipeline\.ts/);
    assert.match(commandText('scoring-worker'), /workers\/scoring\.ts/);
    const pipeline = loadConfig(envOf('worker')).taskQueues;
    const scoring = loadConfig(envOf('scoring-worker')).taskQueues;
    assert.equal(scoring.scoring, pipeline.scoring, 'the scoring worker listens on another queue than the pipeline sends batch scoring to');
    assert.notEqual(scoring.scoring, scoring.pipeline, 'the scoring and pipeline task queues must differ');
  });

  test('the API reads a keys file mounted from the repository, and it parses', () => {
    const keysFile = envOf('api').SLUICE_API_KEYS_FILE;
    assert.ok(keysFile, 'the api service sets no SLUICE_API_KEYS_FILE: every protected route would answer 401');
    const mount = service('api').volumes?.map((v) => v.split(':')).find(([, target]) => target === keysFile);
    assert.ok(mount, `no volume of the api service is mounted at ${keysFile}`);
    assert.equal(mount[2], 'ro', 'the keys file should be mounted read-only');
    const source = new URL(`../../${mount[0]}`, import.meta.url);
    const parsed = apiKeysFileSchema.safeParse(JSON.parse(readFileSync(source, 'utf8')));
    assert.ok(parsed.success, `${mount[0]} is not a valid keys file: ${parsed.error?.message}`);
    assert.ok(parsed.data.keys.length > 0, `${mount[0]} holds no keys`);
    // The demo keys published in deploy/README.md must be the ones the file holds, or the documented curl fails.
    const documented = [...readFileSync(new URL('../../deploy/README.md', import.meta.url), 'utf8').matchAll(/\| `([\w.@+-]+)` \| `(sk_demo_\w+)` \|/g)];
    assert.ok(documented.length > 0, 'deploy/README.md documents no demo key');
    for (const [, id, key] of documented) {
      assert.equal(parsed.data.keys.find((k) => k.id === id)?.sha256, hashApiKey(key ?? ''), `the demo key documented for ${id} does not match the keys file`);
    }
  });

  test('the workers and API run entry points that exist', () => {
    for (const name of SLUICE_SERVICES) {
      const entry = [service(name).command ?? []].flat().find((part) => part.endsWith('.ts'));
      assert.ok(entry, `${name} runs no .ts entry point`);
      assert.doesNotThrow(() => readFileSync(new URL(`../../${entry}`, import.meta.url)), `${name}: ${entry} does not exist`);
    }
  });
});
