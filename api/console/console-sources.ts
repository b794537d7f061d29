import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import proto from '@temporalio/proto';
import { ZodError } from 'zod';
import { type ArtifactStore, ObjectNotFoundError } from '../../domain/object-store/artifact-store.ts';
import { ModelNotFoundError, ModelRegistry } from '../../domain/registry/model-registry.ts';
import type { Config } from '../../shared/config.ts';
import { SluiceError } from '../../shared/errors.ts';
import { ApiError, kindApiError } from '../errors.ts';
import type { ModelFeatureFreshness } from '../features/feature-freshness.ts';
import type { TemporalLink } from '../temporal/temporal-link.ts';

/** How long a console view waits on one Temporal query before naming it a gap: a run without a worker holds a query until its deadline. */
const QUERY_MS = 3000;
/** A worker whose last poll is older than this is gone: long polls last up to a minute, then the worker polls again. */
const LIVE_POLLER_MS = 90_000;

/**
 * What the console's views read: the registry and reports in the object store, Temporal for what
 * only a running workflow knows (approval gates, rollouts), and this replica's online-feature
 * freshness. One object per API process, built in `api/server.ts`.
 */
export class ConsoleSources {
  readonly registry: ModelRegistry;

  constructor(
    readonly store: ArtifactStore,
    readonly buckets: Config['buckets'],
    private readonly temporal: TemporalLink,
    readonly featureFreshness: () => Record<string, ModelFeatureFreshness>,
  ) {
    this.registry = new ModelRegistry(store, buckets.models);
  }

  /** The Temporal UI page of a run, on the UI `infra:up` starts beside the frontend (as the CLI links it). */
  runUrl(workflowId: string): string {
    const { address, uiPort, namespace } = this.temporal.temporal;
    const host = address.slice(0, address.lastIndexOf(':'));
    return `http://${host}:${uiPort}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  }

  /**
   * A query to workflow `workflowId`, or the reason it could not be had (written into the view's
   * gaps); `notFound` when no such workflow ever ran. A query waits for a worker to answer it, so a
   * run whose task queue nobody polls would hold the page for the whole deadline: that is asked first
   * (two cheap calls) and named as the gap at once, with what to start.
   */
  async query<T>(workflowId: string, call: (client: Client) => Promise<T>): Promise<{ value: T } | { gap: string; notFound: boolean }> {
    try {
      return {
        value: await this.temporal.run(async (client) => {
          const unpolled = await this.unpolledTaskQueue(client, workflowId);
          if (unpolled !== undefined) throw new Error(`no worker polls its task queue ${unpolled}, so the running workflow cannot answer (start one: npm run worker)`);
          return client.connection.withDeadline(Date.now() + QUERY_MS, () => call(client));
        }),
      };
    } catch (err) {
      return { gap: (err as Error).message, notFound: err instanceof WorkflowNotFoundError };
    }
  }

  /** The workflow's task queue when no worker has polled it in the last 90 s; undefined when one has, or the run is closed. */
  private async unpolledTaskQueue(client: Client, workflowId: string): Promise<string | undefined> {
    const description = await client.workflow.getHandle(workflowId).describe();
    if (description.status.name !== 'RUNNING') return undefined;
    const { pollers } = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: description.taskQueue },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    // Temporal lists a poller for minutes after its worker is gone; a live worker polls again at least
    // every minute (a long poll's length), so only a recent poll counts.
    const recent = pollers.some((p) => Date.now() - Number(p.lastAccessTime?.seconds ?? 0) * 1000 < LIVE_POLLER_MS);
    return recent ? undefined : description.taskQueue;
  }

  /** A JSON object of the reports bucket, or undefined when it does not exist. */
  async report(key: string): Promise<unknown> {
    try {
      return JSON.parse((await this.store.get(this.buckets.reports, key)).toString('utf8'));
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
  }
}

/** Runs a view's loader, turning the registry's "no such model or version" into the API's 404 and a store outage into 503. */
export async function loadView<T>(load: () => Promise<T>, field = 'path.name'): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof ModelNotFoundError) throw kindApiError(err, { field }) ?? err;
    // A report that fails its schema is a bug to see in the log (500), not an outage.
    if (err instanceof SluiceError || err instanceof ZodError) throw err;
    throw new ApiError('StorageUnavailable', `the console could not read the object store: ${(err as Error).message}`, { retryAfterSeconds: 5, cause: err });
  }
}
