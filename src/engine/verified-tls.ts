import type { X509Certificate } from 'node:crypto';
import type { createSecureContext as createSecureContextType, SecureContext, TLSSocket } from 'node:tls';
import type { TLSMaterial } from './tls.js';

/**
 * A TLS session whose server was verified in a full handshake, with the validity period of the
 * certificate it showed then. Resuming it proves the server is the one verified then (it holds
 * the session's secret, which only that handshake's server has); the period is checked again
 * at each resumption, as the full check would.
 */
export interface VerifiedSession {
  session: Buffer;
  validFrom: number;
  validTo: number;
}

/** Where sessions outlive this process (see session-file.ts). */
export interface SessionStore {
  /** The session saved for this engine and identity, or 'no-tickets' when it gives none. */
  load(): VerifiedSession | 'no-tickets' | undefined;
  save(s: VerifiedSession): void;
  /** The engine gave no session after a full handshake: stop waiting for one for a while. */
  saveNoTickets(): void;
}

export interface VerifiedConnectOptions {
  host: string;
  port: number;
  tls: TLSMaterial;
  timeoutMs: number;
  /**
   * Sessions across processes: a saved one is offered, and after a full handshake the new one is
   * waited for (briefly) and saved, so that the next process resumes instead of paying for the
   * RSA signatures and certificate checks of a full handshake on both sides.
   */
  sessions?: SessionStore;
  /**
   * Whether to hold the socket back until the session comes (default true). A connection that a
   * request follows need not: the engine sends the session before its answer, and it is saved
   * when it comes.
   */
  waitForTicket?: boolean;
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
 * is the answer; nothing is sent on a connection before its peer passed. A resumed session of a
 * quick handshake is vouched for by the full handshake that made it (see VerifiedSession).
 */
export async function connectVerified(o: VerifiedConnectOptions): Promise<TLSSocket> {
  const quick = await handshake(o, 'quick');
  if (quick) return quick;
  return (await handshake(o, 'node'))!;
}

// Sessions by engine and client identity: within one process (`ls` over many machines on one
// engine) a second connection resumes the first one's session instead of a full handshake.
const quickSessions = new Map<string, VerifiedSession>();
const nodeSessions = new Map<string, Buffer>();

/** Longest wait for the session an engine sends after a full handshake. */
const TICKET_WAIT_MAX_MS = 100;

/** The connected socket, or null when the quick check could not vouch for the peer. */
async function handshake(o: VerifiedConnectOptions, verify: 'quick' | 'node'): Promise<TLSSocket | null> {
  const [{ connect, createSecureContext }, { X509Certificate }] = await Promise.all([
    import('node:tls'),
    import('node:crypto'),
  ]);
  const isIP = /^[\d.]+$|:/.test(o.host);
  // The CA is part of the key: a session is vouched for only against the CA that checked it.
  const sessionKey = `${o.host} ${o.port} ${o.tls.ca.toString('latin1')} ${o.tls.cert.toString('latin1')}`;
  const now = Date.now();
  let offered: VerifiedSession | undefined;
  let waitForTicket = false;
  if (verify === 'quick') {
    const stored = o.sessions?.load();
    offered = [quickSessions.get(sessionKey), stored].find(
      (s): s is VerifiedSession => typeof s === 'object' && s.validFrom <= now && now <= s.validTo,
    );
    waitForTicket = o.sessions !== undefined && stored !== 'no-tickets' && o.waitForTicket !== false;
  }
  const secureContext = contextFor(o.tls, verify, createSecureContext);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const sock = connect({
      session: verify === 'quick' ? offered?.session : nodeSessions.get(sessionKey),
      host: o.host,
      port: o.port,
      secureContext,
      rejectUnauthorized: verify === 'node',
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

    // A quick session is kept only once its connection's peer has passed (TLS 1.3 sends it after
    // the handshake, so it may come before or after the check below).
    let validity: { validFrom: number; validTo: number } | undefined;
    let latest: Buffer | undefined;
    let reused = false;
    let onTicket: (() => void) | undefined;
    const keep = () => {
      if (!validity || !latest) return;
      const s = { session: latest, ...validity };
      quickSessions.set(sessionKey, s);
      if (!reused) o.sessions?.save(s);
      onTicket?.();
    };
    sock.on('session', (session: Buffer) => {
      if (verify === 'node') nodeSessions.set(sessionKey, session);
      latest = session;
      keep();
    });

    sock.once('secureConnect', () => {
      clearTimeout(timer);
      sock.removeListener('error', fail);
      if (verify === 'node') return resolve(sock);
      reused = offered !== undefined && sock.isSessionReused();
      if (reused) {
        // The server holds the secret of a session whose certificate passed the check below.
        validity = { validFrom: offered!.validFrom, validTo: offered!.validTo };
        return resolve(sock);
      }
      const peer = sock.getPeerX509Certificate();
      if (!peer || !issuedByCA(peer, () => parsedCA(o.tls.ca, X509Certificate), o.host, isIP)) {
        sock.destroy();
        return resolve(null);
      }
      validity = { validFrom: Date.parse(peer.validFrom), validTo: Date.parse(peer.validTo) };
      keep();
      if (!waitForTicket || latest) return resolve(sock);
      // The engine sends the session about one round trip after the handshake: wait that long
      // (bounded by what the handshake took) so that the next command can resume it.
      const took = Number(process.hrtime.bigint() - started) / 1e6;
      const wait = Math.min(TICKET_WAIT_MAX_MS, 2 + 2 * took);
      const t = setTimeout(() => {
        o.sessions?.saveNoTickets();
        resolve(sock);
      }, wait);
      onTicket = () => {
        clearTimeout(t);
        resolve(sock);
      };
    });
  });
}

// A context parses the client key and certificate (and, to verify, the CA): `ls` over a hundred
// engines would otherwise do it a hundred times, a third of its time. One per identity and
// kind of verification; without the CA in the quick one, so that Node does not load its roots.
const contexts = new WeakMap<TLSMaterial, Partial<Record<'quick' | 'node', SecureContext>>>();

function contextFor(
  tls: TLSMaterial,
  verify: 'quick' | 'node',
  create: typeof createSecureContextType,
): SecureContext {
  let kinds = contexts.get(tls);
  if (!kinds) {
    kinds = {};
    contexts.set(tls, kinds);
  }
  let ctx = kinds[verify];
  if (!ctx) {
    ctx = create({ ca: verify === 'node' ? tls.ca : [], cert: tls.cert, key: tls.key });
    kinds[verify] = ctx;
  }
  return ctx;
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
function issuedByCA(
  peer: X509Certificate,
  caOf: () => X509Certificate,
  host: string,
  isIP: boolean,
): boolean {
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
