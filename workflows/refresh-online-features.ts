import type { z } from 'zod';
import { type ActivityOptions, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { RefreshActivities } from '../activities/features/refresh-activities.ts';
import type { PipelineActivities } from '../activities/pipeline/contract.ts';
import { NON_RETRYABLE_FAILURE_TYPES as NON_RETRYABLE, innermostMessage } from '../shared/failure.ts';
import { type RefreshOutcome, refreshOnlineFeaturesInputSchema } from '../shared/online-refresh.ts';
import { parseInput } from '../shared/parse-input.ts';
import { notify } from './notify.ts';

const shortIo = {
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

/** Ingestion hashes the whole source and materialization aggregates the whole dataset; both heartbeat. */
const dataWork = {
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
} satisfies ActivityOptions;

const io = proxyActivities<RefreshActivities>(shortIo);
const data = proxyActivities<PipelineActivities & RefreshActivities>(dataWork);

/**
 * One refresh of a served model's online features, run by its Schedule (`refresh-features-<model>`)
 * or on demand (`sluice features refresh`): the champion's manifest names the feature spec and the
 * stored pipeline spec the dataset source; the source is ingested (new data gives a new dataset
 * version, unchanged data stores nothing) and a snapshot materialized as of the data's end or the
 * run's time. The API picks it up on its next poll. A failure writes no snapshot, so the last good
 * one keeps being served and its age keeps growing where `/metrics` and `/readyz` show it.
 */
export async function refreshOnlineFeatures(raw: unknown): Promise<RefreshOutcome> {
  const input = parseInput(refreshOnlineFeaturesInputSchema, raw, () => 'Invalid refreshOnlineFeatures input');
  try {
    return await refresh(input);
  } catch (err) {
    const reason = innermostMessage(err);
    await notify('features.refresh-failed', input.model, `${input.model}: online feature refresh failed; the last good snapshot keeps being served: ${reason}`, { asOf: input.asOf, error: reason });
    throw err;
  }
}

async function refresh(input: z.output<typeof refreshOnlineFeaturesInputSchema>): Promise<RefreshOutcome> {
  const target = await io.resolveRefreshTarget.executeWithOptions({ ...shortIo, summary: `Champion of ${input.model}: feature spec and source` }, [{ model: input.model }]);
  setCurrentDetails(`Refreshing online features of ${input.model} v${target.version} from ${target.source} (as of ${input.asOf})`);

  const dataset = await data.ingestDataset.executeWithOptions({ ...dataWork, summary: `Ingest ${target.source}` }, [{ datasetName: target.datasetName, source: target.source, ...(target.partitions ? { partitions: target.partitions } : {}), ...(target.contract === undefined ? {} : { contract: target.contract }) }]);
  const rowsIngested = dataset.reused ? 0 : dataset.rows;
  setCurrentDetails(`Ingested ${rowsIngested} new rows (dataset ${dataset.datasetVersion.slice(0, 12)}, ${dataset.rows} rows); materializing as of ${input.asOf}`);

  const snapshot = await data.materializeRefreshSnapshot.executeWithOptions({ ...dataWork, summary: `Materialize ${target.featureSpecHash.slice(0, 12)} as of ${input.asOf} from dataset ${dataset.datasetVersion.slice(0, 12)}` }, [
    { datasetVersion: dataset.datasetVersion, features: target.features, asOf: input.asOf, keepSnapshots: input.keepSnapshots },
  ]);
  const { changes } = snapshot;
  setCurrentDetails(
    `Rows ingested: ${rowsIngested}. Keys changed: ${changes.changed + changes.added + changes.removed} of ${changes.keys} (${changes.added} added, ${changes.removed} removed, ${changes.changed} changed). Snapshot as of ${snapshot.asOf}; ${snapshot.snapshotsRemoved ?? 0} older snapshots removed.`,
  );
  return {
    model: input.model,
    version: target.version,
    featureSpecHash: target.featureSpecHash,
    datasetVersion: dataset.datasetVersion,
    rowsIngested,
    datasetRows: dataset.rows,
    snapshotKey: snapshot.snapshotKey,
    previousSnapshotKey: snapshot.previousSnapshotKey,
    asOf: snapshot.asOf,
    asOfMode: input.asOf,
    changes,
    snapshotsRemoved: snapshot.snapshotsRemoved,
  };
}
