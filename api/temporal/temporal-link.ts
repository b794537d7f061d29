import { Client, Connection } from '@temporalio/client';
import type { Config } from '../../shared/config.ts';
import { explainTemporalFailure, temporalClientOptions } from '../../control/temporal-connection.ts';
import { ApiError } from '../errors.ts';

/**
 * The API's one way to Temporal, for the admin routes (approvals, deployments). It connects on first
 * use, not at start-up, so the API starts and serves predictions while Temporal is down; a failed
 * connection is dropped and tried afresh next time. Every call runs under a deadline inside the
 * request's, so the caller learns "Temporal unreachable" rather than a bare timeout.
 */
export class TemporalLink {
  private client: Promise<{ connection: Connection; client: Client }> | undefined;

  constructor(
    readonly temporal: Config['temporal'],
    private readonly timeoutMs: number,
  ) {}

  private connect(): Promise<{ connection: Connection; client: Client }> {
    this.client ??= Promise.resolve()
      .then(() => Connection.connect({ ...temporalClientOptions(this.temporal), connectTimeout: Math.min(this.timeoutMs / 2, 5000) }))
      .then(
        (connection) => ({ connection, client: new Client({ connection, namespace: this.temporal.namespace }) }),
        async (err: unknown) => {
          this.client = undefined;
          throw new ApiError('TemporalUnavailable', `cannot reach Temporal at ${this.temporal.address} (SLUICE_TEMPORAL_ADDRESS): ${await explainTemporalFailure(this.temporal, err)}; predictions are unaffected`, { retryAfterSeconds: 5, cause: err });
        },
      );
    return this.client;
  }

  /** Runs `call` with a connected client before the deadline; its errors are the caller's to map. */
  async run<T>(call: (client: Client) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs * 0.9;
    const { connection, client } = await this.connect();
    return connection.withDeadline(deadline, () => call(client));
  }

  async close(): Promise<void> {
    const pending = this.client;
    this.client = undefined;
    const connected = await pending?.catch(() => undefined);
    await connected?.connection.close();
  }
}
