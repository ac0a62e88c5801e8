import { request as httpRequest } from 'node:http';
import { type AgentOptions, Agent as HttpsAgent, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';

/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY as curl and Go read them: the proxy for a URL, or undefined
 * for a direct connection. Loopback is never proxied (as in Go): a fake API or a local cloud on
 * 127.0.0.1 stays local whatever the environment says.
 */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return undefined;
  const raw =
    target.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  if (!raw) return undefined;
  if (
    bypassed(
      host,
      target.port || (target.protocol === 'https:' ? '443' : '80'),
      env.NO_PROXY ?? env.no_proxy ?? '',
    )
  ) {
    return undefined;
  }
  try {
    return new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
}

function bypassed(host: string, port: string, noProxy: string): boolean {
  for (let entry of noProxy.split(/[,\s]+/)) {
    entry = entry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort = '';
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !entry.includes(']') && m[1].split(':').length === 1) {
      entry = m[1];
      entryPort = m[2];
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, '.');
    if (
      entry.startsWith('.')
        ? host.endsWith(entry) || host === entry.slice(1)
        : host === entry || host.endsWith(`.${entry}`)
    ) {
      return true;
    }
  }
  return false;
}

/**
 * An HTTPS agent that reaches its hosts through an HTTP proxy's CONNECT tunnel; the TLS session
 * (and the certificate check) is end to end with the API, never with the proxy.
 */
export class ConnectProxyAgent extends HttpsAgent {
  private readonly proxy: URL;

  constructor(proxy: URL, opts: AgentOptions) {
    super(opts);
    this.proxy = proxy;
  }

  override createConnection(
    opts: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    const options = opts as RequestOptions & { servername?: string; ca?: string[] };
    const done = (err: Error | null, stream?: Duplex) => callback?.(err, stream as Duplex);
    const target = `${options.host}:${options.port ?? 443}`;
    const headers: Record<string, string> = { host: target };
    if (this.proxy.username) {
      const cred = `${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(cred).toString('base64')}`;
    }
    const req = httpRequest({
      host: this.proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.proxy.port) || 80,
      method: 'CONNECT',
      path: target,
      headers,
      timeout: options.timeout ?? undefined,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        done(
          new Error(
            `proxy ${this.proxy.host} refused CONNECT ${target}: ${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
          ),
        );
        return;
      }
      const tls = tlsConnect({
        socket,
        servername: options.servername ?? options.host ?? undefined,
        ca: options.ca,
      });
      done(null, tls);
    });
    req.once('timeout', () => req.destroy(new Error(`proxy ${this.proxy.host} did not answer`)));
    req.once('error', (err) => done(new Error(`proxy ${this.proxy.host}: ${err.message}`)));
    req.end();
    return undefined;
  }
}
