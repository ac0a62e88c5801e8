import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { TLSMaterial } from './tls.js';

export interface VerifiedConnectOptions {
  host: string;
  port: number;
  tls: TLSMaterial;
  timeoutMs: number;
}

/**
 * A TLS connection to an engine, with the client certificate, whose server certificate was
 * verified against the machine's CA and names the host.
 *
 * Giving Node a `ca` makes it parse its whole bundled root store first (30-45 ms on a 2-core
 * machine, more than the rest of `env`). The engines we provision serve a certificate issued
 * directly by the machine's CA, so the handshake first runs without a CA and the peer certificate
 * is checked here: issuer, signature, validity and name. Only when that quick check cannot vouch
 * for the peer does a second handshake run with Node's own verification, whose verdict (and error)
 * is the answer; nothing is sent on a connection before its peer passed.
 */
export async function connectVerified(o: VerifiedConnectOptions): Promise<TLSSocket> {
  const quick = await handshake(o, 'quick');
  if (quick) return quick;
  return (await handshake(o, 'node'))!;
}

// TLS sessions by engine and client identity: within one process (`ls` over many machines on
// one engine) a second connection resumes the first one's session instead of a full handshake.
const sessions = new Map<string, Buffer>();

/** The connected socket, or null when the quick check could not vouch for the peer. */
async function handshake(o: VerifiedConnectOptions, verify: 'quick' | 'node'): Promise<TLSSocket | null> {
  const [{ connect }, { X509Certificate }] = await Promise.all([import('node:tls'), import('node:crypto')]);
  const isIP = /^[\d.]+$|:/.test(o.host);
  const sessionKey = `${verify} ${o.host} ${o.port} ${o.tls.cert.toString('latin1')}`;
  return new Promise((resolve, reject) => {
    const sock = connect({
      session: sessions.get(sessionKey),
      host: o.host,
      port: o.port,
      ...(verify === 'node'
        ? { ca: o.tls.ca, rejectUnauthorized: true }
        : { ca: [], rejectUnauthorized: false }),
      cert: o.tls.cert,
      key: o.tls.key,
      // SNI takes host names only; an IP there is deprecated (RFC 6066).
      servername: isIP ? undefined : o.host,
    });
    const timer = setTimeout(
      () => fail(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      o.timeoutMs,
    );
    const fail = (err: unknown) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    sock.once('error', fail);
    sock.on('session', (session: Buffer) => sessions.set(sessionKey, session));
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      sock.removeListener('error', fail);
      if (verify === 'node' || issuedByCA(sock, () => parsedCA(o.tls.ca, X509Certificate), o.host, isIP)) {
        resolve(sock);
      } else {
        sock.destroy();
        resolve(null);
      }
    });
  });
}

// `ls` checks many connections against one CA: parse it once per process.
const parsedCAs = new WeakMap<Buffer, X509Certificate>();

function parsedCA(pem: Buffer, X509: typeof X509Certificate): X509Certificate {
  let ca = parsedCAs.get(pem);
  if (!ca) {
    ca = new X509(pem);
    parsedCAs.set(pem, ca);
  }
  return ca;
}

/** The peer's certificate is signed by the CA itself, valid now, and names the host. */
function issuedByCA(sock: TLSSocket, caOf: () => X509Certificate, host: string, isIP: boolean): boolean {
  const peer = sock.getPeerX509Certificate();
  if (!peer) return false;
  try {
    // A CA file that does not parse cannot vouch: Node's verification then gives the verdict.
    const ca = caOf();
    const now = Date.now();
    return (
      peer.checkIssued(ca) &&
      peer.verify(ca.publicKey) &&
      Date.parse(peer.validFrom) <= now &&
      now <= Date.parse(peer.validTo) &&
      (isIP ? peer.checkIP(host) : peer.checkHost(host)) !== undefined
    );
  } catch {
    return false;
  }
}
