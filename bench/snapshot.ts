/**
 * The online snapshot at 1 M entity keys × 8 features, as the legacy JSON object and as the compact
 * `.snap` encoding: object bytes, load time, the longest event-loop stall while loading, memory after
 * the load and at the peak of a swap (the served snapshot and its replacement both alive), and lookup
 * time per key. Each encoding is measured in a child process of its own (run with --expose-gc), so one
 * does not inherit the other's heap. Loads go through `loadSnapshotStore`, the API's own path, from an
 * in-memory artifact store: the transfer from MinIO is the same bytes either way and is not counted.
 *
 * Run: npm run bench:snapshot [-- --keys 1000000]. Prints a table and the JSON/.snap ratios; the last
 * line is JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeSnapshot } from '../formats/online-snapshot/snapshot-codec.ts';
import { loadSnapshotStore } from '../domain/features/online-snapshot-loader.ts';
import type { OnlineFeatureStore, OnlineLookup } from '../domain/features/online-store.ts';
import { Prng } from '../domain/training/prng.ts';
import type { OnlineSnapshot } from '../shared/data/online-snapshot.ts';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { MemoryStore } from '../test/unit/api/support/memory-store.ts';

const FEATURES = ['delay_rate_1d', 'delay_rate_7d', 'delay_rate_30d', 'known_1d', 'known_7d', 'known_30d', 'departures_7d', 'mean_distance_7d'];
const GROUP_BY = ['customer'];
const LOOKUP_BATCH = 16;
const ENCODINGS = ['json', 'snap'] as const;
type Encoding = (typeof ENCODINGS)[number];

interface Figures {
  encoding: Encoding;
  objectBytes: number;
  loadSeconds: number;
  maxStallMs: number;
  /** Memory figures are growth over the process before its first load, the objects' bytes already read. */
  heapAfterLoadMb: number;
  /** Heap plus ArrayBuffers (where typed arrays keep their bytes): what the snapshot costs the process. */
  heapAndBuffersAfterLoadMb: number;
  rssAfterLoadMb: number;
  heapAndBuffersDuringSwapMb: number;
  /** Peak RSS of the whole process over both loads, minus its RSS before the first. */
  peakRssGrowthMb: number;
  lookupNsPerKey: number;
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
const customer = (i: number) => `cust-${i.toString(36).padStart(6, '0')}`;

/** Counts, rates and means with a few NULL means, as windowed aggregates look; `shift` makes a later refresh differ. */
function synthetic(keys: number, asOf: string, shift: number): OnlineSnapshot {
  const rng = new Prng(7 + shift);
  const entries: OnlineSnapshot['tables'][number]['entries'] = [];
  for (let i = 0; i < keys; i++) {
    const known = [Math.floor(rng.next() * 5), Math.floor(rng.next() * 30), Math.floor(rng.next() * 120)];
    const rate = (n: number) => (n === 0 ? null : Math.floor(rng.next() * (n + 1)) / n);
    entries.push([[customer(i)], [rate(known[0] as number), rate(known[1] as number), rate(known[2] as number), ...known, Math.floor(rng.next() * 40) + shift, known[1] === 0 ? null : 200 + rng.next() * 2000]]);
  }
  return { kind: 'sluice.online-feature-snapshot', featureSpecHash: 'b'.repeat(64), datasetVersion: 'c'.repeat(64), asOf, tables: [{ groupBy: GROUP_BY, features: FEATURES, entries }] };
}

async function load(store: ArtifactStore, key: string): Promise<{ loaded: OnlineFeatureStore; seconds: number; maxStallMs: number }> {
  // A timer due every millisecond; the longest gap between two of its runs is the longest time the
  // event loop could not run anything else. (perf_hooks' monitorEventLoopDelay, tried first, did not
  // record a 1.5 s busy loop on Node 20.)
  let last = performance.now();
  let maxStallMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxStallMs = Math.max(maxStallMs, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  maxStallMs = 0;
  const started = performance.now();
  const loaded = await loadSnapshotStore(store, 'serving', key);
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 5));
  clearInterval(ticker);
  return { loaded, seconds, maxStallMs };
}

/** As a network store: every read is a fresh buffer, owned by whoever decodes it. */
class CopyingStore extends MemoryStore {
  override async get(bucket: string, key: string): Promise<Buffer> {
    return Buffer.from(await super.get(bucket, key));
  }
}

async function lookupNsPerKey(store: OnlineFeatureStore, keys: number): Promise<number> {
  const rng = new Prng(11);
  // One miss in ten, as for new entities; the batches are built before timing.
  const batches: OnlineLookup[][] = Array.from({ length: 4096 }, () =>
    Array.from({ length: LOOKUP_BATCH }, () => ({ groupBy: GROUP_BY, key: [rng.next() < 0.1 ? `new-${Math.floor(rng.next() * 1e6)}` : customer(Math.floor(rng.next() * keys))] })),
  );
  let done = 0;
  let checksum = 0;
  const started = performance.now();
  while (performance.now() - started < 2000) {
    for (const batch of batches) {
      const found = await store.get(batch);
      checksum += found.length;
    }
    done += batches.length * LOOKUP_BATCH;
  }
  if (checksum !== done) throw new Error(`lookups answered ${checksum} of ${done} keys`);
  return ((performance.now() - started) * 1e6) / done;
}

async function child(encoding: Encoding, dir: string, keys: number): Promise<Figures> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('the child runs with --expose-gc');
  const store = new CopyingStore();
  const keyOf = (which: string) => `online-features/spec=${'b'.repeat(64)}/dataset=${'c'.repeat(64)}/as-of=${which}.${encoding}`;
  for (const which of ['a', 'b']) await store.put('serving', keyOf(which), readFileSync(join(dir, `${which}.${encoding}`)));
  gc();
  const baseline = process.memoryUsage();
  const held = (m: NodeJS.MemoryUsage) => m.heapUsed + m.arrayBuffers - baseline.heapUsed - baseline.arrayBuffers;
  const first = await load(store, keyOf('a'));
  gc();
  const afterLoad = process.memoryUsage();
  const lookupNs = await lookupNsPerKey(first.loaded, keys);
  // The API's swap: the replacement loads while the served one still answers.
  const second = await load(store, keyOf('b'));
  gc();
  const duringSwap = process.memoryUsage();
  if ((await first.loaded.get([{ groupBy: GROUP_BY, key: [customer(0)] }]))[0] === undefined || (await second.loaded.get([{ groupBy: GROUP_BY, key: [customer(keys - 1)] }]))[0] === undefined) {
    throw new Error('a stored key was not found');
  }
  return {
    encoding,
    objectBytes: (await store.get('serving', keyOf('a'))).length,
    loadSeconds: Math.round(first.seconds * 1000) / 1000,
    maxStallMs: Math.round(Math.max(first.maxStallMs, second.maxStallMs) * 10) / 10,
    heapAfterLoadMb: mb(afterLoad.heapUsed - baseline.heapUsed),
    heapAndBuffersAfterLoadMb: mb(held(afterLoad)),
    rssAfterLoadMb: mb(afterLoad.rss - baseline.rss),
    heapAndBuffersDuringSwapMb: mb(held(duringSwap)),
    peakRssGrowthMb: mb(process.resourceUsage().maxRSS * 1024 - baseline.rss),
    lookupNsPerKey: Math.round(lookupNs),
  };
}

const { values: args } = parseArgs({ options: { keys: { type: 'string', default: '1000000' }, child: { type: 'string' }, dir: { type: 'string' } } });
const keys = Number(args.keys);
if (args.child !== undefined) {
  process.stdout.write(`${JSON.stringify(await child(args.child as Encoding, args.dir as string, keys))}\n`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-snapshot-'));
  try {
    console.log(`online snapshot: ${keys} keys × ${FEATURES.length} features; ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(2)} (a shared machine)`);
    for (const [which, asOf, shift] of [['a', '2001-06-04T00:00:00.000Z', 0], ['b', '2001-06-04T00:15:00.000Z', 1]] as const) {
      const snapshot = synthetic(keys, asOf, shift);
      writeFileSync(join(dir, `${which}.json`), JSON.stringify(snapshot));
      writeFileSync(join(dir, `${which}.snap`), encodeSnapshot(snapshot));
    }
    const figures = Object.fromEntries(
      ENCODINGS.map((encoding) => {
        const run = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=4096', '--import', 'tsx', import.meta.filename, '--child', encoding, '--dir', dir, '--keys', String(keys)], { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (run.status !== 0) throw new Error(`the ${encoding} child failed: ${run.stderr}`);
        return [encoding, JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as Figures];
      }),
    ) as Record<Encoding, Figures>;
    const rows: [string, keyof Figures, string][] = [
      ['object', 'objectBytes', 'bytes'],
      ['load (parse + index)', 'loadSeconds', 's'],
      ['max event-loop stall during a load', 'maxStallMs', 'ms'],
      ['heap held after load', 'heapAfterLoadMb', 'MB'],
      ['heap + ArrayBuffers held after load', 'heapAndBuffersAfterLoadMb', 'MB'],
      ['RSS growth after load', 'rssAfterLoadMb', 'MB'],
      ['heap + ArrayBuffers, old + new alive', 'heapAndBuffersDuringSwapMb', 'MB'],
      ['peak RSS growth over load + swap', 'peakRssGrowthMb', 'MB'],
      [`lookup (batches of ${LOOKUP_BATCH}, 10 % misses)`, 'lookupNsPerKey', 'ns/key'],
    ];
    const ratios: Record<string, number> = {};
    for (const [label, field, unit] of rows) {
      const before = figures.json[field] as number;
      const after = figures.snap[field] as number;
      ratios[field] = Math.round((before / after) * 100) / 100;
      console.log(`${label.padEnd(40)} json ${String(before).padStart(12)} ${unit.padEnd(6)} snap ${String(after).padStart(10)} ${unit.padEnd(6)} json/snap ${ratios[field]}`);
    }
    console.log(JSON.stringify({ bench: 'snapshot', keys, features: FEATURES.length, json: figures.json, snap: figures.snap, jsonOverSnap: ratios }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
