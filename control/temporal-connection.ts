import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type ConnectionOptions, type TLSConfig, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import type { Config, TemporalTls } from '../shared/config.ts';
import { readPemFile } from '../shared/pem-file.ts';

/**
 * How every sluice process reaches Temporal (workers, CLI, API, demo): its address, and TLS as the
 * SLUICE_TEMPORAL_TLS_* settings say. `Connection.connect`, `Connection.lazy` and
 * `NativeConnection.connect` all take this shape. The files are read here, at each connect, so a
 * renewed certificate is used by the next connection and an unreadable one is a config error naming
 * its setting rather than a TLS failure.
 */
export function temporalConnectionOptions(temporal: Config['temporal']): { address: string; tls?: TLSConfig } {
  return temporal.tls === undefined ? { address: temporal.address } : { address: temporal.address, tls: tlsConfig(temporal.tls) };
}

/**
 * The deadline of a client call that set none of its own. A hung server (or a network that drops
 * packets) otherwise holds a call for as long as the connection stays open: the API's and the CLI's
 * reads set their own, shorter ones; this catches the rest (activities starting schedules and
 * workflows, the CLI's waits). Above the server's 20 s long-poll expiry, so a wait by long polls
 * (a workflow's result, an Update's outcome) never meets it: each poll comes back empty first.
 */
export const TEMPORAL_CALL_DEADLINE_MS = 30_000;

const defaultDeadline =
  (ms: number): Interceptor =>
  (options, nextCall) =>
    new InterceptingCall(nextCall(options.deadline === undefined ? { ...options, deadline: Date.now() + ms } : options));

/**
 * Options for a client `Connection` (workers' activities, CLI, API): `temporalConnectionOptions`
 * plus a deadline on every call that has none, behind the SDK's own retry of unavailable servers.
 */
export function temporalClientOptions(temporal: Config['temporal'], callDeadlineMs = TEMPORAL_CALL_DEADLINE_MS): ConnectionOptions {
  return { ...temporalConnectionOptions(temporal), interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions()), defaultDeadline(callDeadlineMs)] };
}

function tlsConfig(tls: TemporalTls): TLSConfig {
  return {
    ...(tls.serverName === undefined ? {} : { serverNameOverride: tls.serverName }),
    ...(tls.caFile === undefined ? {} : { serverRootCACertificate: readPemFile('SLUICE_TEMPORAL_TLS_CA', tls.caFile) }),
    ...(tls.cert === undefined ? {} : { clientCertPair: { crt: readPemFile('SLUICE_TEMPORAL_TLS_CERT', tls.cert.certFile), key: readPemFile('SLUICE_TEMPORAL_TLS_KEY', tls.cert.keyFile) } }),
  };
}

/**
 * What to tell a person when a connection to Temporal failed: the SDK reports a TLS failure only as
 * "Failed to connect before the deadline", so this shakes hands itself with the same settings and
 * says what went wrong (an untrusted server certificate, a refused client certificate, a server
 * that speaks TLS to a client that does not) and which settings to check. Callers name the address.
 */
export async function explainTemporalFailure(temporal: Config['temporal'], err: unknown): Promise<string> {
  const message = err instanceof Error ? err.message : String(err);
  const probe = await probeTls(temporal).catch(() => undefined);
  if (temporal.tls === undefined) return probe?.speaksTls ? `${message}; the server speaks TLS: set SLUICE_TEMPORAL_TLS=true (and SLUICE_TEMPORAL_TLS_CA, _CERT, _KEY as it needs)` : message;
  if (probe?.failure === undefined) return message;
  return `TLS handshake failed: ${probe.failure}. Check SLUICE_TEMPORAL_TLS_CA (does it sign the server certificate?), SLUICE_TEMPORAL_TLS_CERT/_KEY (does the server trust this client?) and SLUICE_TEMPORAL_TLS_SERVER_NAME (does the certificate name it?)`;
}

const PROBE_MS = 2000;
/** How long a server has to refuse a client certificate after TLS 1.3's handshake, which completes on the client first. */
const CLIENT_CERT_VERDICT_MS = 300;

/** What one handshake found: whether the server speaks TLS, and why the handshake failed if it did. */
interface TlsProbe {
  speaksTls: boolean;
  failure?: string;
}

/**
 * One TLS handshake with `temporal`'s settings (with none configured: whether the server answers TLS
 * at all); undefined when nothing answered.
 */
function probeTls(temporal: Config['temporal']): Promise<TlsProbe | undefined> {
  const [host, port] = temporal.address.split(':') as [string, string];
  const tls = temporal.tls;
  const files = tls === undefined ? undefined : tlsConfig(tls);
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port: Number(port),
      ALPNProtocols: ['h2'],
      servername: tls?.serverName ?? (isIP(host) ? undefined : host),
      rejectUnauthorized: tls !== undefined,
      ...(files?.serverRootCACertificate ? { ca: Buffer.from(files.serverRootCACertificate) } : {}),
      ...(files?.clientCertPair ? { cert: Buffer.from(files.clientCertPair.crt), key: Buffer.from(files.clientCertPair.key) } : {}),
    });
    const done = (verdict: TlsProbe | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => done(undefined), PROBE_MS);
    // Without TLS configured the question is only whether the server speaks it; with TLS, whether
    // the handshake (and, a moment later under TLS 1.3, the server's verdict on our certificate) holds.
    socket.once('secureConnect', () => (tls === undefined ? done({ speaksTls: true }) : setTimeout(() => done({ speaksTls: true }), CLIENT_CERT_VERDICT_MS)));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (!error.code?.startsWith('ERR_SSL_') && !error.code?.startsWith('ERR_TLS_') && !/certificate|self[- ]signed/i.test(error.message)) return done(undefined);
      // A plaintext server answers a ClientHello with bytes that are not TLS.
      const plaintext = /wrong version number|packet length too long/i.test(error.message);
      if (tls === undefined) return done({ speaksTls: !plaintext });
      done({ speaksTls: !plaintext, failure: plaintext ? 'the server does not speak TLS on this address' : readableTlsError(error) });
    });
  });
}

/** OpenSSL's error line ("80FC…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:…") as its reason and code. */
function readableTlsError(error: NodeJS.ErrnoException): string {
  const reason = /SSL routines:[^:]*:([^:]+):/.exec(error.message)?.[1] ?? error.message.trim();
  return error.code && !reason.includes(error.code) ? `${reason} (${error.code})` : reason;
}
