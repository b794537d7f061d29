import { type Client, WorkflowNotFoundError } from '@temporalio/client';
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

  /** A query to a workflow, or the reason it could not be had (written into the view's gaps); `notFound` when no such workflow ever ran. */
  async query<T>(call: (client: Client) => Promise<T>): Promise<{ value: T } | { gap: string; notFound: boolean }> {
    try {
      return { value: await this.temporal.run((client) => client.connection.withDeadline(Date.now() + QUERY_MS, () => call(client))) };
    } catch (err) {
      return { gap: (err as Error).message, notFound: err instanceof WorkflowNotFoundError };
    }
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
