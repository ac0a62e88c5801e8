import type { TLSMaterial } from './tls.js';

/**
 * The connection check by Bun's own TLS, when the CLI runs as the single-file executable: loading
 * node:tls there (its JavaScript, node:crypto and streams) costs 15-25 ms, more than the rest of
 * `env`. Bun checks the chain against the machine's CA alone (`ca` replaces its root store) and
 * the host against the certificate's names. Only a pass is final: 'failed' sends the caller to the
 * Node path, whose verdict and words are then the answer, so both builds fail alike. Under Node,
 * undefined at once.
 */
export function nativeHandshake(
  host: string,
  port: number,
  tls: TLSMaterial,
  timeoutMs: number,
): Promise<'passed' | 'failed'> | undefined {
  const bun = (globalThis as { Bun?: { connect?: (o: unknown) => Promise<unknown> } }).Bun;
  if (typeof bun?.connect !== 'function') return undefined;
  const connect = bun.connect;
  const isIP = /^[\d.]+$|:/.test(host);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (verdict: 'passed' | 'failed' | Error, sock?: { end(): void }) => {
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
    type Sock = { end(): void };
    connect({
      hostname: host,
      port,
      tls: {
        ca: [tls.ca],
        cert: tls.cert,
        key: tls.key,
        // The verdict comes to handshake() below; nothing is sent either way.
        rejectUnauthorized: false,
        serverName: isIP ? undefined : host,
      },
      socket: {
        handshake: (sock: Sock, _authorized: boolean, authorizationError: Error | null) =>
          finish(authorizationError === null ? 'passed' : 'failed', sock),
        data: () => {},
        error: (sock: Sock) => finish('failed', sock),
        connectError: () => finish('failed'),
        close: () => finish('failed'),
      },
    }).catch(() => finish('failed'));
  });
}
