import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Socket } from 'node:net';

/** A store connection that carried nothing for the idle timeout: the store is hung, or the network to it. */
export class StoreIdleTimeoutError extends Error {
  override readonly name = 'StoreIdleTimeoutError';
}

/**
 * The agent the object-store client makes its connections with: keep-alive, and every socket that
 * carries nothing for `idleMs` is destroyed, failing the call on it. A frozen store keeps its TCP
 * connections open, and the S3 client sets no timeout of its own, so without this a call waits as
 * long as the process lives. Idle time, not total time: a multi-gigabyte transfer that keeps moving
 * is never cut.
 */
export function idleTimeoutAgent(endpoint: string, idleMs: number, ca?: Buffer): HttpAgent {
  // `timeout` keeps the socket's idle timer armed while it waits in the pool between calls, too (the agent resets it to this when a socket is freed).
  const options = { keepAlive: true, timeout: idleMs };
  // An https endpoint trusts the system CAs, and `ca` (a private CA) besides.
  const agent = endpoint.startsWith('https:') ? new HttpsAgent({ ...options, ...(ca === undefined ? {} : { ca }) }) : new HttpAgent(options);
  const create = agent.createConnection.bind(agent);
  agent.createConnection = (connectOptions, callback) => {
    const stream = create(connectOptions, callback);
    if (stream instanceof Socket) {
      stream.on('timeout', () => stream.destroy(new StoreIdleTimeoutError(`the object store at ${endpoint} sent nothing for ${idleMs} ms (SLUICE_MINIO_IDLE_TIMEOUT_MS): it is hung or unreachable`)));
    }
    return stream;
  };
  return agent;
}
