import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { type Socket, connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import express from 'express';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ModelRegistry } from '../domain/registry/model-registry.ts';
import { hashApiKey, KeyRing } from '../api/auth/key-ring.ts';
import { OnlineFeatureAssemblers } from '../api/features/online-feature-assembler.ts';
import { EventValidator, isPlainPredictRequest } from '../api/predict/event-schema.ts';
import { startApiServer } from '../api/server.ts';
import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { type RawEvent, predictRequestSchema } from '../shared/api/predict.ts';
import { SERVING_CONFIG_KEY } from '../shared/serving-config.ts';
import { FLIGHTS_FEATURES, flightEvent, flightsDefinitions, flightsManifest, trainFlightsModel } from '../test/unit/api/support/flights-model.ts';
import { MemoryStore } from '../test/unit/api/support/memory-store.ts';
import { benchLogWriter } from './log-writer.ts';

/**
 * The prediction API benchmark, on loopback only. One run measures, for the same 100-tree GBDT:
 *   (a) ceiling:  bare node:http + JSON.parse + session.run per request, features already in the body
 *   (b) express:  an Express 5 route (express.json + session.run), the plain baseline
 *   (c) sluice:   the full path: keys, validation, feature assembly from raw events, routing,
 *                 micro-batching, prediction log (Parquet writer thread), metrics
 * each with single predictions at 16 and 64 connections and batches of 100 events (as objects, and in
 * columns: `{columns, data}`, the baselines then given their feature rows in the same shape), plus the raw
 * `session.run` rows/s at batch 100 with no HTTP at all. First, the prediction log writer alone per page
 * codec (bench/log-writer.ts: µs and bytes per row on real flights features). Every server and the load generator run in
 * their own processes; the load generator is a raw-socket keep-alive loop (pre-encoded requests,
 * minimal response parsing) so that it costs the shared 2 cores as little as possible.
 *
 *   npx tsx bench/api.ts [--seconds 4] [--rounds 2] [--max-requests 400000] [--variants sluice,ceiling] [--phases batch100@16] [--profile DIR]
 *
 * The last line of output is a JSON summary.
 */

const BENCH_KEY = 'bench-key';
const MODEL = 'flight-delay';
const POOL = 64;
const WARMUP_SECONDS = 1;

type Variant = 'ceiling' | 'express' | 'sluice';
interface Phase {
  name: string;
  connections: number;
  batch: number;
  /** The batch in columns ({columns, data}); every variant gets that shape, the baselines over feature columns. */
  columnar?: boolean;
}
const PHASES: Phase[] = [
  { name: 'single@16', connections: 16, batch: 1 },
  { name: 'single@64', connections: 64, batch: 1 },
  { name: 'batch100@16', connections: 16, batch: 100 },
  { name: 'columnar100@16', connections: 16, batch: 100, columnar: true },
];

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  reqPerSec: number;
  rowsPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

// ---------------------------------------------------------------------------------------------
// Load generator (child process): N keep-alive connections, each sending its next request as soon
// as the previous answer is complete.

async function runLoad(opts: { port: number; path: string; bodies: string[]; headers: Record<string, string>; connections: number; seconds: number; warmupSeconds: number; maxRequests: number; rows: number }): Promise<LoadResult> {
  const requests = opts.bodies.map((body) => {
    const head = [`POST ${opts.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: keep-alive', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, ...Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}`)];
    return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
  const latencies = new Float64Array(opts.maxRequests);
  let recorded = 0;
  let errors = 0;
  let measuring = false;
  let stopped = false;
  let measureStart = 0;
  const sockets: Socket[] = [];

  const runConnection = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const socket: Socket = connect(opts.port, '127.0.0.1');
      sockets.push(socket);
      socket.setNoDelay(true);
      let buffer: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      let next = index;
      const send = () => {
        if (stopped) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        socket.write(requests[next++ % requests.length] as Buffer);
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          const headerEnd = buffer.indexOf('\r\n\r\n');
          if (headerEnd < 0) return;
          const head = buffer.toString('latin1', 0, headerEnd);
          const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
          const total = headerEnd + 4 + length;
          if (buffer.length < total) return;
          const ok = head.startsWith('HTTP/1.1 200');
          buffer = buffer.subarray(total);
          if (measuring) {
            if (!ok) errors++;
            else if (recorded < latencies.length) latencies[recorded++] = performance.now() - sentAt;
            if (recorded >= latencies.length) stopped = true;
          }
          send();
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });

  const done = Promise.all(Array.from({ length: opts.connections }, (_, i) => runConnection(i)));
  await new Promise((r) => setTimeout(r, opts.warmupSeconds * 1000));
  measuring = true;
  measureStart = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, opts.seconds * 1000);
    const poll = setInterval(() => {
      if (stopped) {
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    timer.unref();
    poll.unref();
  });
  const seconds = (performance.now() - measureStart) / 1000;
  measuring = false;
  stopped = true;
  // Each connection ends after its answer in flight; one that never comes is counted and cut off.
  const unanswered = await Promise.race([done.then(() => 0), new Promise<number>((r) => setTimeout(() => r(opts.connections), 15_000).unref())]);
  if (unanswered > 0) {
    errors += unanswered;
    for (const socket of sockets) socket.destroy();
  }
  const sorted = latencies.subarray(0, recorded).sort();
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    requests: recorded,
    errors,
    seconds: round(seconds),
    reqPerSec: Math.round(recorded / seconds),
    rowsPerSec: Math.round((recorded * opts.rows) / seconds),
    p50Ms: round(pct(0.5)),
    p90Ms: round(pct(0.9)),
    p99Ms: round(pct(0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? NaN),
  };
}

// ---------------------------------------------------------------------------------------------
// Servers (child processes).

interface ModelFiles {
  onnx: string;
  manifest: string;
}

/** Feature rows in the body: what the ceiling and Express baselines receive. */
interface FeatureBody {
  numeric: number[][];
  categorical: string[][];
}
/** The same rows in columns: the numeric features' names then the categorical ones', a row of values each. */
interface ColumnarFeatureBody {
  columns: string[];
  data: (number | string)[][];
}

async function scoreFeatures(session: InferenceSession, sent: FeatureBody | ColumnarFeatureBody): Promise<number[]> {
  const kNumeric = FLIGHTS_FEATURES.numeric.length;
  const body: FeatureBody =
    'data' in sent ? { numeric: sent.data.map((row) => row.slice(0, kNumeric) as number[]), categorical: sent.data.map((row) => row.slice(kNumeric) as string[]) } : sent;
  const rows = body.numeric.length;
  const kNum = FLIGHTS_FEATURES.numeric.length;
  const kCat = FLIGHTS_FEATURES.categorical.length;
  const numeric = new Float32Array(rows * kNum);
  const categorical = new Array<string>(rows * kCat);
  for (let i = 0; i < rows; i++) {
    const n = body.numeric[i] as number[];
    const c = body.categorical[i] as string[];
    for (let j = 0; j < kNum; j++) numeric[i * kNum + j] = n[j] ?? NaN;
    for (let j = 0; j < kCat; j++) categorical[i * kCat + j] = c[j] ?? '';
  }
  const out = await session.run({ numeric: new Tensor('float32', numeric, [rows, kNum]), categorical: new Tensor('string', categorical, [rows, kCat]) });
  return Array.from(out.probability?.data as Float32Array);
}

/** The ceiling and Express take either feature body, as sluice takes either batch shape. */
async function serveCeiling(files: ModelFiles): Promise<number> {
  const session = await InferenceSession.create(readFileSync(files.onnx), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void scoreFeatures(session, JSON.parse(Buffer.concat(chunks).toString('utf8')) as FeatureBody | ColumnarFeatureBody).then((scores) => {
        const body = JSON.stringify({ scores });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
  });
  return listen(server);
}

async function serveExpress(files: ModelFiles): Promise<number> {
  const session = await InferenceSession.create(readFileSync(files.onnx), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const app = express();
  app.post('/predict', express.json({ limit: '1mb' }), async (req, res) => {
    res.json({ scores: await scoreFeatures(session, req.body as FeatureBody | ColumnarFeatureBody) });
  });
  return listen(createServer(app));
}

async function serveSluice(files: ModelFiles): Promise<number> {
  const store = new MemoryStore();
  // SLUICE_* settings in the environment (batching, log flushing...) apply, so they can be compared.
  const config = loadConfig({ SLUICE_LOG_LEVEL: 'warn', ...process.env });
  const registry = new ModelRegistry(store, config.buckets.models);
  const onnx = readFileSync(files.onnx);
  const manifest = JSON.parse(readFileSync(files.manifest, 'utf8')) as Parameters<ModelRegistry['register']>[0]['manifest'];
  const { version } = await registry.register({ manifest, onnx, registrationKey: 'bench', by: 'bench' });
  await store.put(config.buckets.serving, SERVING_CONFIG_KEY, JSON.stringify({ kind: 'sluice.serving-config', revision: 1, updatedAt: new Date().toISOString(), updatedBy: 'bench', models: { [MODEL]: { primary: version } } }));
  const keys = new KeyRing({ keys: [{ id: 'bench', sha256: hashApiKey(BENCH_KEY), scopes: ['predict'] }] }, { perSecond: 10_000_000, burst: 10_000_000 });
  const api = await startApiServer({
    config: { ...config, api: { ...config.api, host: '127.0.0.1', port: 0 } },
    store,
    logger: createLogger('warn', { component: 'bench-sluice' }),
    assemblers: new OnlineFeatureAssemblers(flightsDefinitions()),
    keys,
  });
  await api.firstPoll;
  return Number(new URL(api.url).port);
}

/** What the sluice server's /metrics says so far: prediction log rows (buffered, written, dropped) and GC pauses of its event loop. */
async function sluiceCounters(port: number) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const summed = (name: string) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  return {
    predictionLog: {
      bufferedRows: value('sluice_prediction_log_buffered_rows'),
      writtenRows: value('sluice_prediction_log_written_rows_total'),
      droppedRows: value('sluice_prediction_log_dropped_rows_total'),
    },
    gcPauses: summed('sluice_gc_pause_seconds_count'),
    gcSeconds: summed('sluice_gc_pause_seconds_sum'),
  };
}

function listen(server: ReturnType<typeof createServer>): Promise<number> {
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/**
 * `session.run` alone at batch 100 (fresh tensors each run): the rows/s the batch path is compared
 * with. Also what each step of sluice's path costs per event at batch 100, measured in-process the
 * same way, to say where the time goes.
 */
async function rawSessionRun(files: ModelFiles, seconds: number, body: FeatureBody, eventsBody: string) {
  const session = await InferenceSession.create(readFileSync(files.onnx), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const timed = async (step: () => unknown, forSeconds: number) => {
    for (let i = 0; i < 100; i++) await step();
    const start = performance.now();
    let runs = 0;
    while (performance.now() - start < forSeconds * 1000) {
      await step();
      runs++;
    }
    return { runs, elapsed: (performance.now() - start) / 1000 };
  };
  const run = await timed(() => scoreFeatures(session, body), seconds);
  const rows = body.numeric.length;
  const assembler = await new OnlineFeatureAssemblers(flightsDefinitions()).forModel(JSON.parse(readFileSync(files.manifest, 'utf8')) as never);
  const validator = new EventValidator(assembler.eventFields);
  const events = (JSON.parse(eventsBody) as { events: unknown[] }).events;
  const perEvent = async (step: () => unknown) => {
    const { runs, elapsed } = await timed(step, 0.5);
    return Math.round(((elapsed * 1e6) / runs / rows) * 100) / 100;
  };
  return {
    rowsPerSec: Math.round((run.runs * rows) / run.elapsed),
    usPerRun: Math.round((run.elapsed * 1e6) / run.runs),
    stepsUsPerEvent: {
      jsonParse: await perEvent(() => JSON.parse(eventsBody)),
      validate: await perEvent(() => {
        if (!isPlainPredictRequest({ events })) predictRequestSchema.parse({ events });
        events.forEach((event, i) => validator.check(event, `events[${i}]`));
      }),
      assembleFeatures: await perEvent(() => assembler.assemble(events as RawEvent[])),
      sessionRun: Math.round(((run.elapsed * 1e6) / run.runs / rows) * 100) / 100,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Orchestration.

function child(args: string[], nodeArgs: string[] = []): { wait: Promise<string>; firstLine: Promise<string>; kill: () => void } {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', new URL(import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let resolveLine: (line: string) => void = () => {};
  let rejectLine: (err: Error) => void = () => {};
  const firstLine = new Promise<string>((resolve, reject) => {
    resolveLine = resolve;
    rejectLine = reject;
  });
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const newline = out.indexOf('\n');
    if (newline >= 0) resolveLine(out.slice(0, newline));
  });
  const wait = new Promise<string>((resolve, reject) =>
    proc.on('close', (code, signal) => {
      // A server that dies before saying where it listens must not leave the orchestrator waiting.
      rejectLine(new Error(`bench child ${args[0]} ${args[1] ?? ''} exited (${code ?? signal}) before its first line`));
      if (code === 0 || signal === 'SIGTERM') resolve(out);
      else reject(new Error(`bench child ${args.join(' ').slice(0, 200)} exited with ${code ?? signal}`));
    }),
  );
  return { wait, firstLine, kill: () => proc.kill('SIGTERM') };
}

async function prepare(dir: string) {
  const trained = await trainFlightsModel({ seed: 7, trainer: { kind: 'gbdt', nTrees: 100, maxLeaves: 31, minSamplesLeaf: 20, earlyStoppingRounds: 0 }, rows: 20_000 });
  const onnx = trained.model.toOnnx({ modelName: MODEL, modelVersion: 1, lineage: {}, threshold: trained.threshold });
  const files: ModelFiles = { onnx: join(dir, 'model.onnx'), manifest: join(dir, 'manifest.json') };
  writeFileSync(files.onnx, onnx);
  writeFileSync(files.manifest, JSON.stringify(flightsManifest(MODEL, trained, 'bench', 'bench')));
  // The same events for every variant: raw for sluice, assembled by the shared feature code for the baselines.
  const assembler = await new OnlineFeatureAssemblers(flightsDefinitions()).forModel(JSON.parse(readFileSync(files.manifest, 'utf8')) as never);
  const events = Array.from({ length: POOL * 100 }, (_, i) => flightEvent(i));
  const features = await assembler.assemble(events);
  const kNum = FLIGHTS_FEATURES.numeric.length;
  const kCat = FLIGHTS_FEATURES.categorical.length;
  const featureRow = (i: number) => ({ n: Array.from(features.numeric?.subarray(i * kNum, (i + 1) * kNum) ?? []), c: features.categorical?.slice(i * kCat, (i + 1) * kCat) ?? [] });
  const featureBody = (from: number, n: number): FeatureBody => {
    const rows = Array.from({ length: n }, (_, k) => featureRow(from + k));
    return { numeric: rows.map((r) => r.n), categorical: rows.map((r) => r.c) };
  };
  const eventColumns = ['origin', 'destination', 'date', 'distance'] as const;
  const bodies = (variant: Variant, batch: number, columnar = false): string[] =>
    Array.from({ length: POOL }, (_, p) => {
      const from = p * batch;
      if (variant !== 'sluice') {
        const sent = featureBody(from, batch);
        if (!columnar) return JSON.stringify(sent);
        return JSON.stringify({ columns: [...FLIGHTS_FEATURES.numeric, ...FLIGHTS_FEATURES.categorical], data: sent.numeric.map((n, i) => [...n, ...(sent.categorical[i] ?? [])]) });
      }
      const slice = events.slice(from, from + batch);
      if (columnar) return JSON.stringify({ columns: eventColumns, data: slice.map((e) => eventColumns.map((c) => e[c])) });
      return JSON.stringify(batch === 1 ? { event: events[from] } : { events: slice });
    });
  return { files, bodies, featureBody };
}

async function main() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '4' },
      'max-requests': { type: 'string', default: '400000' },
      serve: { type: 'string' },
      load: { type: 'string' },
      raw: { type: 'string' },
      files: { type: 'string' },
      variants: { type: 'string', default: 'ceiling,express,sluice' },
      phases: { type: 'string', default: PHASES.map((p) => p.name).join(',') },
      /** Writes a V8 CPU profile of each server process into this directory. */
      profile: { type: 'string' },
      rounds: { type: 'string', default: '2' },
    },
  });
  const seconds = Number(values.seconds);
  const maxRequests = Number(values['max-requests']);

  if (values.serve) {
    const files = JSON.parse(values.files ?? '{}') as ModelFiles;
    const variant = values.serve as Variant;
    const port = variant === 'ceiling' ? await serveCeiling(files) : variant === 'express' ? await serveExpress(files) : await serveSluice(files);
    console.log(`LISTENING ${port}`);
    process.once('SIGTERM', () => process.exit(0));
    return;
  }
  if (values.load) {
    const spec = JSON.parse(readFileSync(values.load, 'utf8')) as Parameters<typeof runLoad>[0];
    console.log(JSON.stringify(await runLoad(spec)));
    return;
  }
  if (values.raw) {
    const spec = JSON.parse(readFileSync(values.raw, 'utf8')) as { files: ModelFiles; seconds: number; body: FeatureBody; eventsBody: string };
    console.log(JSON.stringify(await rawSessionRun(spec.files, spec.seconds, spec.body, spec.eventsBody)));
    return;
  }

  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-api-'));
  const servers: ReturnType<typeof child>[] = [];
  try {
    const logWriter = await benchLogWriter();
    const { files, bodies, featureBody } = await prepare(dir);
    const rawSpec = join(dir, 'raw.json');
    writeFileSync(rawSpec, JSON.stringify({ files, seconds: Math.min(seconds, 3), body: featureBody(0, 100), eventsBody: bodies('sluice', 100)[0] }));
    const variants = (['ceiling', 'express', 'sluice'] as const).filter((v) => values.variants.split(',').includes(v));
    const phases = PHASES.filter((p) => values.phases.split(',').includes(p.name));
    const rounds = Number(values.rounds);

    // All servers stay up (idle when not loaded); each round measures every variant back to back, so a
    // change in the machine's background load hits all of them alike and ratios are taken within a round.
    const ports = new Map<Variant, number>();
    for (const variant of variants) {
      const server = child(['--serve', variant, '--files', JSON.stringify(files)], values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : []);
      servers.push(server);
      ports.set(variant, Number((await server.firstLine).split(' ')[1]));
    }

    const rawRuns: number[] = [];
    let steps: Record<string, number> = {};
    const runs: Record<string, LoadResult[]> = {};
    const gcRuns: Record<string, { pausesPerSecond: number; pauseShare: number }[]> = {};
    for (let round = 1; round <= rounds; round++) {
      const raw = JSON.parse(await child(['--raw', rawSpec]).wait) as { rowsPerSec: number; usPerRun: number; stepsUsPerEvent: Record<string, number> };
      rawRuns.push(raw.rowsPerSec);
      steps = raw.stepsUsPerEvent;
      console.log(`round ${round}: raw session.run, batch 100: ${raw.rowsPerSec} rows/s (${raw.usPerRun} µs per run); sluice steps, µs per event at batch 100: ${JSON.stringify(raw.stepsUsPerEvent)}`);
      for (const phase of phases) {
        for (const variant of variants) {
          const loadSpec = join(dir, `load-${variant}-${phase.name}.json`);
          writeFileSync(
            loadSpec,
            JSON.stringify({
              port: ports.get(variant),
              path: variant === 'sluice' ? `/v1/models/${MODEL}/predict` : '/predict',
              bodies: bodies(variant, phase.batch, phase.columnar),
              headers: variant === 'sluice' ? { Authorization: `Bearer ${BENCH_KEY}` } : {},
              connections: phase.connections,
              seconds,
              warmupSeconds: WARMUP_SECONDS,
              maxRequests,
              rows: phase.batch,
            }),
          );
          const before = variant === 'sluice' ? await sluiceCounters(ports.get(variant) as number) : undefined;
          const result = JSON.parse(await child(['--load', loadSpec]).wait) as LoadResult;
          (runs[`${variant} ${phase.name}`] ??= []).push(result);
          let gc = '';
          if (before) {
            // Warm-up included: the server's counters cover the whole load, the latencies only the measured part.
            const after = await sluiceCounters(ports.get(variant) as number);
            const pauses = after.gcPauses - before.gcPauses;
            const seconds = after.gcSeconds - before.gcSeconds;
            (gcRuns[phase.name] ??= []).push({ pausesPerSecond: pauses / (result.seconds + WARMUP_SECONDS), pauseShare: seconds / (result.seconds + WARMUP_SECONDS) });
            gc = `  gc ${pauses} pauses, ${Math.round(seconds * 1000)} ms (mean ${((seconds * 1000) / Math.max(1, pauses)).toFixed(1)} ms)`;
          }
          console.log(`round ${round}: ${variant.padEnd(8)} ${phase.name.padEnd(12)} ${String(result.reqPerSec).padStart(7)} req/s ${String(result.rowsPerSec).padStart(8)} rows/s  p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms  max ${result.maxMs} ms  errors ${result.errors}${gc}`);
        }
      }
    }

    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
    };
    const round3 = (x: number) => Math.round(x * 1000) / 1000;
    const results = Object.fromEntries(
      Object.entries(runs).map(([key, rs]) => [
        key,
        {
          reqPerSec: Math.round(median(rs.map((r) => r.reqPerSec))),
          rowsPerSec: Math.round(median(rs.map((r) => r.rowsPerSec))),
          p50Ms: round3(median(rs.map((r) => r.p50Ms))),
          p99Ms: round3(median(rs.map((r) => r.p99Ms))),
          errors: rs.reduce((n, r) => n + r.errors, 0),
          rounds: rs,
        },
      ]),
    );
    /** Per round a / b, then the median over rounds: both sides of each ratio ran minutes apart at most. */
    const ratio = (a: (round: number) => number | undefined, b: (round: number) => number | undefined) => {
      const per = Array.from({ length: rounds }, (_, i) => {
        const x = a(i);
        const y = b(i);
        return x === undefined || y === undefined ? undefined : x / y;
      }).filter((r) => r !== undefined);
      return per.length ? round3(median(per)) : null;
    };
    const req = (v: Variant, p: string) => (i: number) => runs[`${v} ${p}`]?.[i]?.reqPerSec;
    const rowsOf = (v: Variant, p: string) => (i: number) => runs[`${v} ${p}`]?.[i]?.rowsPerSec;
    const rawOf = (i: number) => rawRuns[i];
    const ratios = {
      sluiceVsCeilingSingle16: ratio(req('sluice', 'single@16'), req('ceiling', 'single@16')),
      sluiceVsCeilingSingle64: ratio(req('sluice', 'single@64'), req('ceiling', 'single@64')),
      sluiceVsExpressSingle64: ratio(req('sluice', 'single@64'), req('express', 'single@64')),
      expressVsCeilingSingle64: ratio(req('express', 'single@64'), req('ceiling', 'single@64')),
      sluiceBatch100VsRawSessionRun: ratio(rowsOf('sluice', 'batch100@16'), rawOf),
      ceilingBatch100VsRawSessionRun: ratio(rowsOf('ceiling', 'batch100@16'), rawOf),
      expressBatch100VsRawSessionRun: ratio(rowsOf('express', 'batch100@16'), rawOf),
      /** Issue #18's batch goal: rows/s of a batch of 100 against the bare node:http ceiling given the same body shape. */
      sluiceVsCeilingBatch100: ratio(rowsOf('sluice', 'batch100@16'), rowsOf('ceiling', 'batch100@16')),
      sluiceVsCeilingColumnar100: ratio(rowsOf('sluice', 'columnar100@16'), rowsOf('ceiling', 'columnar100@16')),
      sluiceVsExpressColumnar100: ratio(rowsOf('sluice', 'columnar100@16'), rowsOf('express', 'columnar100@16')),
      sluiceColumnarVsObjectsBatch100: ratio(rowsOf('sluice', 'columnar100@16'), rowsOf('sluice', 'batch100@16')),
    };
    const sluice64 = results['sluice single@64'];
    const sluicePort = ports.get('sluice');
    // The full path logs every prediction; its counters show the log kept up rather than dropping rows.
    const predictionLog = sluicePort === undefined ? null : (await sluiceCounters(sluicePort)).predictionLog;
    const summary = {
      machine: { cpus: cpus().length, loadAverage1m: round3(loadavg()[0] ?? NaN) },
      seconds,
      rounds,
      rawSessionRunBatch100RowsPerSec: Math.round(median(rawRuns)),
      sluiceStepsUsPerEventAtBatch100: steps,
      results: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { reqPerSec: r.reqPerSec, rowsPerSec: r.rowsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors }])),
      ratios,
      sluicePredictionLog: predictionLog,
      logWriter,
      /** The sluice server's event-loop GC per phase (medians over rounds): pauses per second and the share of time paused. */
      sluiceGc: Object.fromEntries(Object.entries(gcRuns).map(([phase, rs]) => [phase, { pausesPerSecond: round3(median(rs.map((r) => r.pausesPerSecond))), pauseShare: round3(median(rs.map((r) => r.pauseShare))) }])),
      goals: {
        single64AtLeastHalfOfCeiling: ratios.sluiceVsCeilingSingle64 === null ? null : ratios.sluiceVsCeilingSingle64 >= 0.5,
        single64P99AtMost10ms: sluice64 ? sluice64.p99Ms <= 10 : null,
        batch100AtLeastHalfOfRawRun: ratios.sluiceBatch100VsRawSessionRun === null ? null : ratios.sluiceBatch100VsRawSessionRun >= 0.5,
        columnar100AtLeast90PercentOfCeiling: ratios.sluiceVsCeilingColumnar100 === null ? null : ratios.sluiceVsCeilingColumnar100 >= 0.9,
      },
    };
    console.log(JSON.stringify(summary));
  } finally {
    for (const server of servers) server.kill();
    await Promise.all(servers.map((s) => s.wait.catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
