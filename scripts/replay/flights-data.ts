import { mkdir, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteString } from '../../domain/features/expression/expression-sql.ts';

/** A flight as a client sends it to the predict route, with what happened to it (for the feedback route, once known). */
export interface ReplayEvent {
  event: { date: string; distance: number; origin: string; destination: string };
  departureMs: number;
  delayMinutes: number;
  delayed: boolean;
}

/** `day=2001-03-04`: the folder one day's partition lands in (the spec's glob is `day=*\/*.parquet`). */
export const dayFolder = (dayMs: number) => `day=${new Date(dayMs).toISOString().slice(0, 10)}`;
export const PARTITION_GLOB = 'day=*/*.parquet';

/**
 * The raw flights file (Jan–Jun 2001) cut into daily partitions with DuckDB, written once to a staging
 * folder; landing a day moves its folder into the model's source folder in one rename, so a listing
 * never sees half a partition.
 */
export class FlightsData {
  constructor(
    private readonly db: DuckDBConnection,
    private readonly file: string,
    readonly staging: string,
    readonly source: string,
  ) {}

  /** Every day's flights as `staging/day=YYYY-MM-DD/*.parquet`, rows in a total order so a partition's content (its hash) is the same on every run. */
  async stage(): Promise<void> {
    await mkdir(this.source, { recursive: true });
    await this.db.run(`COPY (SELECT *, strftime(date, '%Y-%m-%d') AS day FROM read_parquet(${quoteString(this.file)}) ORDER BY ALL)
      TO ${quoteString(this.staging)} (FORMAT parquet, PARTITION_BY (day), OVERWRITE_OR_IGNORE)`);
  }

  /** Lands the day's partition in the source folder. */
  async land(dayMs: number): Promise<void> {
    await rename(join(this.staging, dayFolder(dayMs)), join(this.source, dayFolder(dayMs)));
  }

  async landedDays(): Promise<number> {
    return (await readdir(this.source)).filter((name) => name.startsWith('day=')).length;
  }

  /** `perDay` flights of each day in [from, until), a deterministic pseudo-random pick, in departure order. */
  async sample(from: string, until: string, perDay: number, seed: number): Promise<ReplayEvent[]> {
    const rows = (
      await this.db.runAndReadAll(`SELECT strftime(date, '%Y-%m-%dT%H:%M:%SZ') AS date, epoch_ms(date) AS t, distance::DOUBLE AS distance, origin, destination, delay::DOUBLE AS delay
        FROM (SELECT *, row_number() OVER (PARTITION BY date_trunc('day', date) ORDER BY hash(date, delay, distance, origin, destination, ${Math.trunc(seed)})) AS k
              FROM read_parquet(${quoteString(this.file)})
              WHERE date >= ${quoteString(from.slice(0, 10))}::TIMESTAMP AND date < ${quoteString(until.slice(0, 10))}::TIMESTAMP AND delay IS NOT NULL)
        WHERE k <= ${Math.trunc(perDay)}
        ORDER BY date, k`)
    ).getRowObjectsJS() as { date: string; t: bigint | number; distance: number; origin: string; destination: string; delay: number }[];
    return rows.map((r) => ({ event: { date: r.date, distance: r.distance, origin: r.origin, destination: r.destination }, departureMs: Number(r.t), delayMinutes: r.delay, delayed: r.delay > 15 }));
  }
}
