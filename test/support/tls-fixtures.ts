import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket, createServer } from 'node:tls';

/** PEM files of a throwaway PKI: a CA, a server certificate for localhost/127.0.0.1, a client certificate; and a second CA that signed nothing here. */
export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherCa: string;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

/** Makes the PKI with the system's openssl (EC P-256, valid for a day). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) => openssl(dir, ['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=sluice test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ca('ca');
  ca('other-ca');
  const leaf = (name: string, extensions: string) => {
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=sluice test ${name}`]);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`]);
  };
  leaf('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  const at = (file: string) => join(dir, file);
  return { dir, ca: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server.key'), clientCert: at('client.pem'), clientKey: at('client.key'), otherCa: at('other-ca.pem') };
}

/**
 * A TLS front for a plaintext server on loopback (Temporal's gRPC port, MinIO's HTTP port): it
 * terminates TLS with the PKI's server certificate, demanding a client certificate signed by the CA
 * when `mutual`, and relays the bytes to `target`. What the client under test meets is a real TLS
 * handshake, and behind it the real server.
 */
export async function startTlsFront(pki: TestPki, target: string, options: { mutual: boolean; alpn: string[] }): Promise<{ address: string; handshakeErrors: string[]; close(): Promise<void> }> {
  const [host, port] = target.split(':') as [string, string];
  const handshakeErrors: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer(
    { key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert), ca: readFileSync(pki.ca), requestCert: options.mutual, rejectUnauthorized: options.mutual, ALPNProtocols: options.alpn },
    (client: TLSSocket) => {
      const upstream = connect(Number(port), host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    },
  );
  server.on('tlsClientError', (err: Error) => handshakeErrors.push(err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: listening } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${listening}`,
    handshakeErrors,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
