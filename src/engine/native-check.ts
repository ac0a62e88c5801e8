import { nodeFs, readFileSync } from '../runtime/fs.js';
import { join } from '../runtime/path.js';
import type { TLSMaterial } from './tls.js';

/**
 * The connection check by Bun's own TLS, when the CLI runs as the single-file executable: loading
 * node:tls there (its JavaScript, node:crypto and streams) costs 15-25 ms, more than the rest of
 * `env`. Bun checks the chain against the machine's CA alone (`ca` replaces its root store) and
 * the host against the certificate's names. Only a pass is final: 'failed' sends the caller to the
 * Node path, whose verdict and words are then the answer, so both builds fail alike. Under Node,
 * undefined at once.
 *
 * As on the Node path (verified-tls.ts), the session of a full handshake that passed is kept in
 * the store's cache folder, with the validity of the certificate it checked, for the next command
 * to resume: only the server verified then holds that session's secret. Bun's sessions are kept
 * in files of their own (NAME.bun-session beside the Node path's NAME.json), private as the key
 * is, as a one-line header and the session's bytes: no JSON or base64 to decode on each start.
 *
 * A resumption is offered without the client certificate and key in the context: in a resumed
 * TLS 1.3 handshake neither side sends a certificate (the engine holds the one it verified in the
 * session), so the bytes on the wire are the same, and Bun does not parse them for nothing. An
 * engine that does not resume gets a second, full handshake with them, as if nothing was offered.
 *
 * `sent` is called once the first handshake message is on its way, so that the caller can use the
 * engine's time to answer.
 */

interface BunSocket {
  end(): void;
  setSession(session: Buffer): void;
  getSession(): Buffer | undefined;
  getTLSTicket(): Buffer | undefined;
  isSessionReused(): boolean;
  getPeerCertificate(): { valid_from?: string; valid_to?: string } | undefined;
}

interface BunRuntime {
  connect(o: unknown): Promise<unknown>;
  CryptoHasher: new (alg: string) => { update(d: string | Buffer): unknown; digest(enc: 'hex'): string };
}

interface Kept {
  session: Buffer;
  validFrom: number;
  validTo: number;
}

/** Longest wait for the session ticket an engine sends after a full handshake (as verified-tls.ts). */
const TICKET_WAIT_MAX_MS = 100;

const HEADER = 'dm-bun-tls-session 1';

export function nativeHandshake(
  host: string,
  port: number,
  tls: TLSMaterial,
  timeoutMs: number,
  cacheDir?: string,
  sent?: () => void,
): Promise<'passed' | 'failed'> | undefined {
  const bun = (globalThis as { Bun?: Partial<BunRuntime> }).Bun;
  if (typeof bun?.connect !== 'function' || typeof bun.CryptoHasher !== 'function') return undefined;
  const runtime = bun as BunRuntime;
  const file = cacheDir === undefined ? undefined : sessionPath(runtime, cacheDir, host, port, tls);
  const now = Date.now();
  const offered = file && load(file);
  const offer = offered && offered.validFrom <= now && now <= offered.validTo ? offered : undefined;
  const attempt = (offer: Kept | undefined) =>
    handshake(runtime, host, port, tls, timeoutMs, file, offer, sent);
  if (!offer) return attempt(undefined);
  // Anything but a resumption (the engine forgot the session, or refused us without a
  // certificate) is decided by a full handshake, as if nothing had been offered.
  return attempt(offer).then((verdict) => (verdict === 'passed' ? verdict : attempt(undefined)));
}

/** One connection. With an offered session, only its resumption passes (no certificate was sent). */
function handshake(
  runtime: BunRuntime,
  host: string,
  port: number,
  tls: TLSMaterial,
  timeoutMs: number,
  file: string | undefined,
  offer: Kept | undefined,
  sent: (() => void) | undefined,
): Promise<'passed' | 'failed'> {
  const isIP = /^[\d.]+$|:/.test(host);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (verdict: 'passed' | 'failed' | Error, sock?: BunSocket) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        sock?.end();
      } catch {}
      if (verdict instanceof Error) reject(verdict);
      else resolve(verdict);
    };
    // The Node path's own timeout error: a second wait as long would double the time to say it.
    const timer = setTimeout(
      () => finish(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    const passed = (sock: BunSocket) => {
      if (offer) return finish(sock.isSessionReused() ? 'passed' : 'failed', sock);
      if (!file) return finish('passed', sock);
      const peer = sock.getPeerCertificate();
      const validFrom = Date.parse(peer?.valid_from ?? '');
      const validTo = Date.parse(peer?.valid_to ?? '');
      // The engine sends the ticket about one round trip after the handshake: wait that long
      // (bounded by what the handshake took) so that the next command can resume.
      const took = Number(process.hrtime.bigint() - started) / 1e6;
      const until = Date.now() + Math.min(TICKET_WAIT_MAX_MS, 2 + 2 * took);
      const poll = () => {
        if (settled) return;
        const session = sock.getTLSTicket() ? sock.getSession() : undefined;
        if (session && Number.isFinite(validFrom) && Number.isFinite(validTo)) {
          save(file, { session, validFrom, validTo });
          return finish('passed', sock);
        }
        if (Date.now() >= until) return finish('passed', sock);
        setTimeout(poll, 2);
      };
      poll();
    };
    runtime
      .connect({
        hostname: host,
        port,
        tls: {
          ca: [tls.ca],
          ...(offer ? {} : { cert: tls.cert, key: tls.key }),
          // The verdict comes to handshake() below; nothing is sent either way.
          rejectUnauthorized: false,
          serverName: isIP ? undefined : host,
        },
        socket: {
          open: (sock: BunSocket) => {
            // The first handshake message is written when this returns; an immediate runs
            // after that, while the engine works on its answer.
            if (sent) setImmediate(sent);
            if (!offer) return;
            try {
              sock.setSession(offer.session);
            } catch {}
          },
          handshake: (sock: BunSocket, _authorized: boolean, authorizationError: Error | null) =>
            authorizationError === null ? passed(sock) : finish('failed', sock),
          data: () => {},
          error: (sock: BunSocket) => finish('failed', sock),
          connectError: () => finish('failed'),
          close: () => finish('failed'),
        },
      })
      .catch(() => finish('failed'));
  });
}

function sessionPath(
  bun: BunRuntime,
  cacheDir: string,
  host: string,
  port: number,
  tls: TLSMaterial,
): string {
  const h = new bun.CryptoHasher('sha256');
  for (const part of [host, String(port), tls.ca, tls.cert, tls.key]) {
    h.update(`${part.length}:`);
    h.update(part);
  }
  return join(cacheDir, 'tls-sessions', `${h.digest('hex')}.bun-session`);
}

function load(path: string): Kept | undefined {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    return undefined;
  }
  const eol = data.indexOf(10);
  const [head, from, to] = data.toString('latin1', 0, Math.max(eol, 0)).split(' | ');
  const validFrom = Number(from);
  const validTo = Number(to);
  if (eol < 0 || head !== HEADER || !Number.isFinite(validFrom) || !Number.isFinite(validTo))
    return undefined;
  const session = data.subarray(eol + 1);
  return session.length > 0 ? { session, validFrom, validTo } : undefined;
}

/** A missing or unwritable cache folder only means a full handshake next time. */
function save(path: string, kept: Kept): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const { mkdirSync, renameSync, rmSync, writeFileSync } = nodeFs();
  try {
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    const head = Buffer.from(`${HEADER} | ${kept.validFrom} | ${kept.validTo}\n`, 'latin1');
    writeFileSync(tmp, Buffer.concat([head, kept.session]), { mode: 0o600 });
    renameSync(tmp, path);
    // The format before this one, which nothing reads any more.
    rmSync(path.replace(/\.bun-session$/, '.bun.json'), { force: true });
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {}
  }
}
