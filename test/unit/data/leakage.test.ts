import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type FeatureSpec, type FeatureSpecInput, featureSpecSchema } from '../../../shared/data/feature-spec.ts';
import { buildFeatureTables } from '../../../domain/features/build-features.ts';
import { planFeatures } from '../../../domain/features/feature-sql.ts';
import { type DuckDbSession, openDuckDb } from '../../../domain/duckdb/duckdb-session.ts';

/**
 * Leakage: an event's features may depend only on what was known before its timestamp. For sampled
 * real flights at time t, the features computed from the full data must equal those computed from
 * (a) the world as of t: rows before t only, with every delay not yet known at t (departure at or
 * after t) blanked, plus the event itself without its outcome; and (b) a world where everything at or
 * after t is scrambled, extra flights on the event's own route are added after t, and not-yet-known
 * delays before t are changed. A spec that forgets to declare `delay` an outcome must be caught.
 */

const FLIGHTS = resolve(import.meta.dirname, '../../../node_modules/vega-datasets/data/flights-3m.parquet');
const flightsSpec = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../examples/flights/features.json'), 'utf8')) as FeatureSpecInput;
const TYPES = { date: 'TIMESTAMP', delay: 'BIGINT', distance: 'BIGINT', origin: 'VARCHAR', destination: 'VARCHAR' };
/** When a flight's delay (its outcome) is known: at departure, never before the schedule. */
const KNOWN_AT = `greatest(date + to_minutes(delay), date)`;

interface Probe {
  t: string;
  origin: string;
  destination: string;
  distance: number;
}

describe('no feature depends on data at or after the event (real flights)', () => {
  let session: DuckDbSession;
  let db: DuckDBConnection;
  let dir: string;
  let probes: Probe[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-leakage-'));
    session = await openDuckDb({ tempDirectory: dir });
    db = session.db;
    // Three weeks of the six busiest origins: enough history for 7-day windows, small enough to rebuild often.
    await db.run(`CREATE TABLE raw AS SELECT * FROM read_parquet('${FLIGHTS}')
      WHERE date < TIMESTAMP '2001-01-19' AND origin IN (SELECT origin FROM read_parquet('${FLIGHTS}') GROUP BY origin ORDER BY count(*) DESC LIMIT 6)`);
    const rows = (await db.runAndReadAll(`SELECT strftime(date, '%Y-%m-%d %H:%M:%S') AS t, origin, destination, distance FROM raw
      WHERE date >= TIMESTAMP '2001-01-09' USING SAMPLE 12 ROWS (reservoir, 2001)`)).getRowObjectsJS();
    probes = rows.map((r) => ({ t: r.t as string, origin: r.origin as string, destination: r.destination as string, distance: Number(r.distance as bigint) }));
  });
  after(() => {
    session[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The features of the probe's event computed from `world` (a table with the raw columns). */
  async function featuresIn(spec: FeatureSpec, world: string, p: Probe): Promise<Record<string, unknown>> {
    const plan = planFeatures(spec, TYPES);
    await buildFeatureTables(db, plan, world);
    const names = plan.outputColumns.filter((c) => c !== spec.label.name && c !== spec.eventTime);
    // Rows equal in time, keys and distance have equal features, so any one of them stands for the event.
    const reader = await db.runAndReadAll(
      `SELECT ${names.map((n) => `"${n}"`).join(', ')} FROM __features WHERE __t = TIMESTAMP '${p.t}' AND origin = '${p.origin}' AND destination = '${p.destination}' AND distance_miles = ${p.distance} LIMIT 1`,
    );
    const row = reader.getRowObjectsJS()[0];
    assert.ok(row, `event ${JSON.stringify(p)} not found in ${world}`);
    return row;
  }

  const asOfWorld = async (p: Probe) => {
    await db.run(`CREATE OR REPLACE TABLE as_of AS
      SELECT date, CASE WHEN ${KNOWN_AT} >= TIMESTAMP '${p.t}' THEN NULL ELSE delay END AS delay, distance, origin, destination FROM raw WHERE date < TIMESTAMP '${p.t}'
      UNION ALL SELECT TIMESTAMP '${p.t}', NULL, ${p.distance}, '${p.origin}', '${p.destination}'`);
    return 'as_of';
  };

  const scrambledWorld = async (p: Probe) => {
    const t = `TIMESTAMP '${p.t}'`;
    // hash() gives a fixed pseudo-random number per row, so the scramble is the same every run.
    await db.run(`CREATE OR REPLACE TABLE scrambled AS
      SELECT date,
        CASE WHEN date >= ${t} THEN (hash(date, origin, destination, delay) % 400)::BIGINT - 60
             WHEN ${KNOWN_AT} >= ${t} THEN delay + (hash(delay, date) % 500)::BIGINT
             ELSE delay END AS delay,
        CASE WHEN date > ${t} THEN distance + 7 ELSE distance END AS distance, origin, destination
      FROM raw
      UNION ALL SELECT ${t} + to_minutes(i), (i * 37 % 300) - 20, ${p.distance}, '${p.origin}', '${p.destination}' FROM range(0, 3000) r(i)`);
    return 'scrambled';
  };

  function assertSame(expected: Record<string, unknown>, actual: Record<string, unknown>, what: string): void {
    for (const [name, value] of Object.entries(expected)) {
      const other = actual[name];
      if (typeof value === 'number' && typeof other === 'number') assert.ok(Math.abs(value - other) <= 1e-9, `${what}: ${name} ${value} vs ${other}`);
      else assert.deepEqual(other, value, `${what}: ${name}`);
    }
  }

  const differs = (a: Record<string, unknown>, b: Record<string, unknown>) =>
    Object.keys(a).some((k) => (typeof a[k] === 'number' && typeof b[k] === 'number' ? Math.abs(a[k] - b[k]) > 1e-9 : a[k] !== b[k]));

  test('the flights features of 12 sampled events are the same in the full, as-of and scrambled worlds', async () => {
    const spec = featureSpecSchema.parse(flightsSpec);
    const full = [];
    for (const p of probes) full.push(await featuresIn(spec, 'raw', p));
    let windowed = 0;
    for (const [i, p] of probes.entries()) {
      const expected = full[i] as Record<string, unknown>;
      if ((expected.origin_known_flights_7d as number) > 0) windowed++;
      assertSame(expected, await featuresIn(spec, await asOfWorld(p), p), `as of ${p.t} ${p.origin}-${p.destination}`);
      assertSame(expected, await featuresIn(spec, await scrambledWorld(p), p), `scrambled after ${p.t} ${p.origin}-${p.destination}`);
    }
    assert.equal(windowed, probes.length, 'every probe has a non-empty window, so the comparison means something');
  });

  test('a spec that reads delay without declaring it an outcome is caught', async () => {
    const leaky = featureSpecSchema.parse({
      ...flightsSpec,
      label: { ...flightsSpec.label, outcomes: [] },
      aggregates: [{ name: 'origin_mean_delay_7d', groupBy: ['origin'], fn: 'mean', of: 'delay', window: '7d' }],
    });
    let caught = 0;
    for (const p of probes) {
      const expected = await featuresIn(leaky, 'raw', p);
      if (differs(expected, await featuresIn(leaky, await asOfWorld(p), p))) caught++;
    }
    assert.ok(caught >= probes.length / 2, `leak seen for only ${caught} of ${probes.length} events`);
  });
});
