import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { prepareAggregates } from '../../domain/features/build-features.ts';
import { quoteString } from '../../domain/features/expression/expression-sql.ts';
import { planFeatures } from '../../domain/features/feature-sql.ts';
import { materializeSnapshotTables } from '../../domain/features/materialize-snapshot.ts';
import { featureDefinitionHash } from '../../domain/features/spec-hash.ts';
import type { FeatureSpec } from '../../shared/data/feature-spec.ts';
import { type OnlineSnapshot, onlineSnapshotSchema } from '../../shared/data/online-snapshot.ts';
import type { ReplaySlice } from './flights-replay-plan.ts';

/** The file's `date` is a TIMESTAMP without zone, in UTC: compare it with the instant's UTC wall clock. */
const naive = (iso: string) => `${quoteString(new Date(iso).toISOString().slice(0, 19).replace('T', ' '))}::TIMESTAMP`;

/** A flight as a client sends it to the predict route, with what happened to it (for the feedback route). */
export interface ReplayEvent {
  event: { date: string; distance: number; origin: string; destination: string };
  delayed: boolean;
}

/** A tenth of the flights, by a hash of the whole row: deterministic, and spread evenly over days and airports. */
const HELD_OUT = 'hash(date, delay, distance, origin, destination) % 10 = 0';

/**
 * The raw flights file (Jan–Jun 2001) cut into what the replay needs, with DuckDB: the held-out
 * tenth of the flights, and the rest (what the platform sees: training data and online features).
 */
export class FlightsData {
  private readonly seen: string;
  private readonly heldOut: string;

  constructor(
    private readonly db: DuckDBConnection,
    source: string,
    private readonly dir: string,
  ) {
    this.seen = `(SELECT * FROM read_parquet(${quoteString(source)}) WHERE NOT (${HELD_OUT}))`;
    this.heldOut = `(SELECT * FROM read_parquet(${quoteString(source)}) WHERE ${HELD_OUT})`;
  }

  private readonly written = new Map<string, Promise<string>>();

  /**
   * The seen flights scheduled before `until`, as a Parquet file a pipeline spec can point at. Written
   * once per instant (a pipeline's dataset version is the file's hash, so the file must not change)
   * and in a total order (flights share departure times), so a rerun can find its features built.
   */
  writeUntil(until: string): Promise<string> {
    let writing = this.written.get(until);
    if (!writing) {
      writing = this.write(until);
      this.written.set(until, writing);
    }
    return writing;
  }

  private async write(until: string): Promise<string> {
    const path = join(this.dir, `flights-until-${until.slice(0, 10)}.parquet`);
    await this.db.run(`COPY (SELECT * FROM ${this.seen} WHERE date < ${naive(until)} ORDER BY ALL)
      TO ${quoteString(path)} (FORMAT parquet)`);
    return path;
  }

  /** A uniform sample of the slice's flights (held-out or seen), in departure order, as the API's events. */
  async sample(slice: ReplaySlice, size: number, seed: number): Promise<ReplayEvent[]> {
    const rows = (
      await this.db.runAndReadAll(`SELECT strftime(date, '%Y-%m-%dT%H:%M:%SZ') AS date, distance::DOUBLE AS distance, origin, destination, delay > 15 AS delayed
        FROM (SELECT * FROM ${slice.heldOut ? this.heldOut : this.seen}
              WHERE date >= ${naive(slice.from)} AND date < ${naive(slice.until)})
        USING SAMPLE ${Math.trunc(size)} ROWS (reservoir, ${Math.trunc(seed)})
        ORDER BY date`)
    ).getRowObjectsJS() as { date: string; distance: number; origin: string; destination: string; delayed: boolean | null }[];
    return rows.map((r) => ({ event: { date: r.date, distance: r.distance, origin: r.origin, destination: r.destination }, delayed: r.delayed === true }));
  }

  /**
   * Online snapshots of the spec's windowed aggregates as of each instant, from the seen flights up
   * to `until` (the file the snapshots name as their dataset version), with the feature build's own
   * SQL (the running totals and as-of joins the pipeline's materialization runs), in one pass.
   */
  async snapshots(spec: FeatureSpec, until: string, asOf: readonly string[]): Promise<OnlineSnapshot[]> {
    const path = await this.writeUntil(until);
    const relation = `read_parquet(${quoteString(path)})`;
    const columns = (await this.db.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)).getRowObjectsJS() as { column_name: string; column_type: string }[];
    const types = Object.fromEntries(columns.map((c) => [c.column_name, c.column_type]));
    const plan = planFeatures(spec, types);
    await prepareAggregates(this.db, plan, relation);
    const instants = asOf.map((iso) => Date.parse(iso));
    const tables = await materializeSnapshotTables(this.db, plan, instants);
    const datasetVersion = await sha256OfFile(path);
    return instants.map((t) =>
      onlineSnapshotSchema.parse({ kind: 'sluice.online-feature-snapshot', featureSpecHash: featureDefinitionHash(spec), datasetVersion, asOf: new Date(t).toISOString(), tables: tables.get(t) ?? [] }),
    );
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
