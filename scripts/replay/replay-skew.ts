import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InferenceSession } from 'onnxruntime-node';
import { runOnnx } from '../../api/scoring/run-onnx.ts';
import { buildFeatureTables } from '../../domain/features/build-features.ts';
import { quoteIdentifier, quoteString } from '../../domain/features/expression/expression-sql.ts';
import { planFeatures } from '../../domain/features/feature-sql.ts';
import type { FeatureValue } from '../../domain/features/online-features.ts';
import { type SkewObservation, type SkewSummary, featuresDiffer, modelInputs, summarizeSkew } from '../../domain/features/online-skew.ts';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { hoursOfWindow } from '../../domain/prediction-log/log-files.ts';
import { stageLogHours } from '../../domain/prediction-log/stage-log.ts';
import type { ModelRegistry } from '../../domain/registry/model-registry.ts';
import type { FeatureSpec } from '../../shared/data/feature-spec.ts';
import { fixed, markdownTable } from './policy-table.ts';
import type { ReplayPeriod } from './policy-months.ts';

/**
 * Issue #15 part 7: online/offline skew in the replay, measured from what the API logged. Each served
 * prediction's logged features (the snapshot the API served it from, refreshed once a replayed day) are
 * compared with the offline point-in-time features of the same flight at its own departure time (the
 * feature build's SQL over the replay's daily partitions), and its logged score with the same version's
 * ONNX score of the offline features.
 */

export class ReplaySkewError extends Error {
  override readonly name = 'ReplaySkewError';
}

/** A flight the harness sent, by the request id and index the predict route answered, as the client sent it. */
export interface SentEvent {
  requestId: string;
  eventIndex: number;
  /** Replayed departure time, epoch ms. */
  departureMs: number;
  event: Record<string, string | number>;
}

/** One served prediction seen both ways. */
export interface ServedSkew {
  departureMs: number;
  version: number;
  observation: SkewObservation;
}

export interface ModelSkew {
  /** The model's features, in the order of each observation's values. */
  features: string[];
  observations: ServedSkew[];
  /** Logged (served, not shadow) rows of the sent requests. */
  logged: number;
  /** Logged rows with no offline row at their time and keys (should be none). */
  unmatched: number;
  /** Logged rows whose time and keys match offline rows with different features (two flights the raw event cannot tell apart); left out. */
  ambiguous: number;
}

export interface PeriodSkew extends SkewSummary {
  period: string;
}

/** The skew summary of each period, of the served predictions whose flight departs in it. */
export function skewByPeriod(periods: readonly ReplayPeriod[], served: readonly ServedSkew[]): PeriodSkew[] {
  return periods.map((p) => ({ period: p.name, ...summarizeSkew(served.filter((s) => s.departureMs >= p.from && s.departureMs < p.until).map((s) => s.observation)) }));
}

/** Which features carry the skew: per feature, the share of observations where it differs. */
export function differingByFeature(features: readonly string[], served: readonly ServedSkew[]): Record<string, number> {
  return Object.fromEntries(features.map((name, j) => [name, served.length > 0 ? served.filter((s) => featuresDiffer([s.observation.online[j] ?? null], [s.observation.offline[j] ?? null])).length / served.length : 0]));
}

/** Month by month, each policy in a row: events compared, share with a feature differing, max and mean |Δscore| (logged score − offline score). */
export function skewTable(policies: readonly { policy: string; periods: readonly PeriodSkew[] }[]): string[] {
  const periods = policies[0]?.periods.map((p) => p.period) ?? [];
  const rows = periods.flatMap((period, i) =>
    policies.map(({ policy, periods: mine }) => {
      const s = mine[i];
      return [period, policy, String(s?.events ?? 0), s && s.events > 0 ? `${(100 * s.shareDiffering).toFixed(1)} %` : '-', fixed(s?.events ? s.maxAbsScoreDiff : null, 4), fixed(s?.events ? s.meanAbsScoreDiff : null, 5)];
    }),
  );
  return markdownTable(['replayed', 'policy', 'served events', 'feature differing', 'max |Δscore|', 'mean |Δscore|'], rows);
}

/**
 * `__features` of every event in `files` (the daily partitions, Parquet) whose event time is at or
 * after `fromMs`: the caller passes enough history before the first served event to fill the spec's
 * windows and the late labels they count.
 */
export async function buildOfflineFeatures(db: DuckDBConnection, spec: FeatureSpec, files: readonly string[], fromMs: number): Promise<number> {
  const relation = `(SELECT * FROM read_parquet([${files.map(quoteString).join(', ')}], hive_partitioning = false, union_by_name = true) WHERE ${quoteIdentifier(spec.eventTime)} >= make_timestamp(${Math.trunc(fromMs) * 1000}))`;
  const described = (await db.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`)).getRowObjectsJS() as { column_name: string; column_type: string }[];
  const plan = planFeatures(spec, Object.fromEntries(described.map((c) => [c.column_name, c.column_type])));
  const { events } = await buildFeatureTables(db, plan, relation);
  return events;
}

/**
 * One model's served predictions (logged between `fromRealMs` and `untilRealMs`, wall clock) joined
 * to their offline rows in `__features` (see buildOfflineFeatures) through the harness's map of
 * what each request held, and both scored by the version that served them.
 */
export async function measureModelSkew(
  deps: { db: DuckDBConnection; store: ArtifactStore; predictionsBucket: string; registry: ModelRegistry; dir: string },
  request: { model: string; spec: FeatureSpec; sent: readonly SentEvent[]; fromRealMs: number; untilRealMs: number },
): Promise<ModelSkew> {
  const { db, registry, dir } = deps;
  const { model, spec } = request;
  const paths = await stageLogHours({ store: deps.store, bucket: deps.predictionsBucket, db, dir }, { model, hours: hoursOfWindow(request.fromRealMs, request.untilRealMs) });
  const empty = { features: [], observations: [], logged: 0, unmatched: 0, ambiguous: 0 };
  if (paths.length === 0 || request.sent.length === 0) return empty;
  const sentPath = join(dir, `sent-${model}.jsonl`);
  await writeFile(sentPath, request.sent.map((s) => JSON.stringify({ request_id: s.requestId, event_index: s.eventIndex, t: s.departureMs, ...Object.fromEntries(spec.entityKeys.map((k) => [k, String(s.event[k])])) })).join('\n'));
  const keyColumns = spec.entityKeys.map(quoteIdentifier);
  const keyTypes = spec.entityKeys.map((k) => `${quoteString(k)}: 'VARCHAR'`).join(', ');

  const versions = new Map<number, { session: InferenceSession; numeric: string[]; categorical: string[] }>();
  const result: ModelSkew = { ...empty, observations: [] };
  try {
    // Every version of one model has the spec's features; the manifest says which the model takes, numeric and categorical.
    const logVersions = (await db.runAndReadAll(`SELECT DISTINCT model_version::INTEGER AS v FROM read_parquet([${paths.map(quoteString).join(', ')}], union_by_name = true) ORDER BY v`)).getRowObjectsJS();
    for (const { v } of logVersions as { v: number }[]) {
      const manifest = await registry.manifest(model, v);
      versions.set(v, { session: await InferenceSession.create(await registry.onnx(model, v)), ...manifest.featureNames });
    }
    for (const [version, { session, numeric, categorical }] of versions) {
      const names = [...numeric, ...categorical];
      if (result.features.length > 0 && result.features.join() !== names.join()) throw new ReplaySkewError(`${model} v${version} takes features ${names.join(', ')}, an earlier version ${result.features.join(', ')}`);
      result.features = names;
      const cast = (feature: string, column: string) => `${column}::${numeric.includes(feature) ? 'DOUBLE' : 'VARCHAR'}`;
      const rows = (
        await db.runAndReadAll(`WITH
          sent AS (SELECT * FROM read_json(${quoteString(sentPath)}, format = 'newline_delimited', columns = {'request_id': 'VARCHAR', 'event_index': 'BIGINT', 't': 'BIGINT', ${keyTypes}})),
          logged AS (SELECT request_id, event_index::BIGINT AS event_index, score::DOUBLE AS score, ${names.map((n) => `features.${quoteIdentifier(n)} AS ${quoteIdentifier(`on_${n}`)}`).join(', ')}
                     FROM read_parquet([${paths.map(quoteString).join(', ')}], union_by_name = true) WHERE model_version = ${version} AND route <> 'shadow'),
          offline AS (SELECT DISTINCT epoch_ms(__t) AS t, ${keyColumns.map((k) => `${k}::VARCHAR AS ${k}`).join(', ')}, ${names.map((n) => `${quoteIdentifier(n)}`).join(', ')} FROM __features)
        SELECT l.request_id || '#' || l.event_index AS served_id, s.t, l.score, count(o.t) OVER (PARTITION BY l.request_id, l.event_index) AS matches,
          ${names.map((n) => `${cast(n, `l.${quoteIdentifier(`on_${n}`)}`)} AS ${quoteIdentifier(`on_${n}`)}, ${cast(n, `o.${quoteIdentifier(n)}`)} AS ${quoteIdentifier(`off_${n}`)}`).join(', ')}
        FROM logged l JOIN sent s USING (request_id, event_index)
        LEFT JOIN offline o ON o.t = s.t AND ${keyColumns.map((k) => `o.${k} = s.${k}`).join(' AND ')}`)
      ).getRowObjectsJS() as Record<string, FeatureValue | bigint>[];
      // Numeric features are read as DOUBLE and categorical ones as VARCHAR: each value is a number, a string or null.
      const value = (v: FeatureValue | bigint | undefined): FeatureValue => (v === undefined ? null : typeof v === 'bigint' ? Number(v) : v);
      const matched: { t: number; score: number; online: FeatureValue[]; offline: FeatureValue[] }[] = [];
      const seen = new Set<string>();
      for (const row of rows) {
        const matches = Number(row.matches);
        if (matches === 0) result.unmatched++;
        else if (matches > 1) {
          // One count per logged prediction, not per offline candidate.
          const id = String(row.served_id);
          if (!seen.has(id)) result.ambiguous++;
          seen.add(id);
        } else matched.push({ t: Number(row.t), score: Number(row.score), online: names.map((n) => value(row[`on_${n}`])), offline: names.map((n) => value(row[`off_${n}`])) });
      }
      result.logged += matched.length + rows.filter((r) => Number(r.matches) === 0).length + seen.size;
      if (matched.length === 0) continue;
      const offlineScores = await runOnnx(session, modelInputs(matched.map((m) => m.offline), names, { numeric, categorical }), numeric.length, categorical.length);
      matched.forEach((m, i) => result.observations.push({ departureMs: m.t, version, observation: { online: m.online, offline: m.offline, onlineScore: m.score, offlineScore: offlineScores[i] as number } }));
    }
  } finally {
    for (const { session } of versions.values()) await session.release();
  }
  return result;
}
