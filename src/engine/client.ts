import type { IncomingMessage } from 'node:http';
import type { Agent } from 'node:https';
import type { Socket } from 'node:net';
import { traceRequest } from '../debug.js';
import { MachineError } from '../errors.js';
import { ipVersion } from '../ip.js';
import type { SSHTarget } from '../ssh/client.js';
import { isSSHURL } from './endpoint.js';
import { dialErrorText } from './errors.js';
import { sessionFile } from './session-file.js';
import type { TLSMaterial } from './tls.js';
import { connectVerified } from './verified-tls.js';

export interface EngineVersion {
  Version: string;
  ApiVersion: string;
  Os?: string;
  Arch?: string;
  [k: string]: unknown;
}

/**
 * The engine answered with an error status. The message keeps the original's wording
 * (`<status>: <body>`, or the body for a 404); status and the engine's own `message` field are
 * there for callers that tell errors apart (swarm's "not part of a swarm", "no leader").
 */
export class EngineRequestError extends MachineError {
  readonly status: number;
  readonly engineMessage: string;
  constructor(status: number, body: string) {
    super(status === 404 ? body || 'Not found' : `${status}: ${body}`);
    this.status = status;
    let text = body;
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed?.message === 'string') text = parsed.message;
    } catch {}
    this.engineMessage = text;
  }
}

export interface EngineResponse {
  status: number;
  body: Buffer;
  json(): unknown;
}

// One keep-alive agent per client identity: `ls` over many machines of one store reuses
// connections instead of a TLS handshake per request. The map holds the promise, set before the
// first await: a hundred rows asking at once must find the one agent the first of them makes.
const agents = new Map<string, Promise<Pool>>();

/** Bound of a connection attempt; each request has its own, usually shorter, timer as well. */
const CONNECT_TIMEOUT_MS = 30_000;

/** Connections, and so requests in flight, per engine and client identity. */
const MAX_SOCKETS = 8;

/**
 * An agent and its own bound on requests in flight per engine. Node's agent counts a connection
 * only once it exists, and ours come asynchronously (connectVerified): without this bound every
 * request that finds no free connection opens one, a hundred TLS handshakes for `ls` over a
 * hundred machines on one engine instead of eight.
 */
interface Pool {
  agent: Agent;
  slots(hostPort: string): Slots;
}

class Slots {
  private free = MAX_SOCKETS;
  private readonly waiting: (() => void)[] = [];

  take(): Promise<void> | undefined {
    if (this.free > 0) {
      this.free--;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

function agentFor(tls: TLSMaterial | null, sessionsDir: string | undefined): Promise<Pool> | undefined {
  if (!tls) return undefined;
  // The whole identity: two stores' certificates are often of one length and start alike.
  const key = `${tls.ca.toString('latin1')}\0${tls.cert.toString('latin1')}\0${tls.key.toString('latin1')}\0${sessionsDir ?? ''}`;
  let a = agents.get(key);
  if (!a) {
    a = makePool(tls, sessionsDir);
    agents.set(key, a);
  }
  return a;
}

async function makePool(tls: TLSMaterial, sessionsDir: string | undefined): Promise<Pool> {
  const https = await import('node:https');
  const agent = new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  // Connections come from connectVerified, which skips Node's root store (see there); the
  // agent asks with a callback and gets the socket once its peer has been verified.
  Object.assign(agent, {
    createConnection(
      o: { host?: string; port?: number | string },
      done: (err: Error | null, s?: Socket) => void,
    ) {
      const host = (o.host ?? '').replace(/^\[|\]$/g, '');
      const port = Number(o.port) || 2376;
      (sessionsDir === undefined ? Promise.resolve(undefined) : sessionFile(sessionsDir, host, port, tls))
        .then((sessions) =>
          connectVerified({ host, port, tls, timeoutMs: CONNECT_TIMEOUT_MS, sessions, waitForTicket: false }),
        )
        .then(
          (sock) => done(null, sock),
          (err) => done(err as Error),
        );
      return undefined;
    },
  });
  const byHost = new Map<string, Slots>();
  return {
    agent,
    slots(hostPort) {
      let s = byHost.get(hostPort);
      if (!s) {
        s = new Slots();
        byHost.set(hostPort, s);
      }
      return s;
    },
  };
}

/**
 * The original's "Cannot connect to the docker engine endpoint", followed by the URL and why (it
 * said neither). `ls`, whose URL column already names the endpoint, prints `shortMessage`.
 */
export class EngineUnreachableError extends MachineError {
  constructor(
    readonly url: string,
    readonly reason: string,
    /** Node's error code (ECONNREFUSED, ERR_TLS_CERT_ALTNAME_INVALID, ...), when there was one. */
    readonly code?: string,
  ) {
    super(`Cannot connect to the docker engine endpoint ${url}: ${reason}`);
  }

  /** Without the URL, and without the address Go's dial text repeats: `...endpoint: connect: connection refused`. */
  get shortMessage(): string {
    return `Cannot connect to the docker engine endpoint: ${this.reason.replace(/^(dial|read|write) tcp( \S+)?: /, '')}`;
  }
}

/**
 * A Docker Engine API client over TLS with node:https and nothing else. Errors are MachineErrors
 * in the original's words (`Cannot connect to the docker engine endpoint`), plus what was seen.
 */
export class EngineClient {
  readonly url: string;
  private readonly tls: TLSMaterial | null;
  private readonly timeoutMs: number;
  /** For an ssh:// URL: the machine's SSH login the engine is reached through. */
  private readonly ssh?: SSHTarget;

  /** The store's cache folder: TLS sessions are kept there for the next command to resume. */
  private readonly sessionsDir?: string;

  constructor(
    url: string,
    tls: TLSMaterial | null,
    opts: { timeoutMs?: number; ssh?: SSHTarget; sessionsDir?: string } = {},
  ) {
    this.url = url;
    this.tls = tls;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.ssh = opts.ssh;
    this.sessionsDir = opts.sessionsDir;
    if (isSSHURL(url) && !this.ssh)
      throw new MachineError(`The engine at ${url} is reached over SSH, and no SSH login was given`);
  }

  async version(signal?: AbortSignal): Promise<EngineVersion> {
    const r = await this.request('GET', '/version', undefined, signal);
    return r.json() as EngineVersion;
  }

  async info(signal?: AbortSignal): Promise<Record<string, unknown>> {
    const r = await this.request('GET', '/info', undefined, signal);
    return r.json() as Record<string, unknown>;
  }

  request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<EngineResponse> {
    return traceRequest(
      `engine ${this.url}`,
      method,
      path,
      this.send(method, path, body, signal),
      (r) => r.status,
    );
  }

  private async send(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<EngineResponse> {
    if (this.ssh) return this.sendOverSSH(this.ssh, method, path, body, signal);
    const u = new URL(this.url.replace(/^tcp:/, this.tls ? 'https:' : 'http:'));
    const hostPort = u.host;
    const mod = this.tls ? await import('node:https') : await import('node:http');
    const pool = await agentFor(this.tls, this.sessionsDir);
    if (!pool) return this.exchange(mod, undefined, u, hostPort, method, path, body, signal);
    const slots = pool.slots(hostPort);
    // The request's time bound counts its wait for a slot, as it counted the agent's queue.
    const started = Date.now();
    await slots.take();
    try {
      return await this.exchange(mod, pool.agent, u, hostPort, method, path, body, signal, started);
    } finally {
      slots.give();
    }
  }

  private async sendOverSSH(
    target: SSHTarget,
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<EngineResponse> {
    const { sshEngineAgent } = await import('./ssh-dial.js');
    const agent = await sshEngineAgent(target, Math.min(this.timeoutMs, CONNECT_TIMEOUT_MS));
    try {
      // The host is the HTTP Host header only: the agent's channel reaches the engine's socket.
      const u = new URL('http://docker/');
      return await this.exchange(await import('node:http'), agent, u, '', method, path, body, signal);
    } catch (err) {
      // The remote command's own failure says more than the broken stream it left; its exit
      // status can arrive just after the stream's end.
      for (let i = 0; i < 20 && !agent.failure && err instanceof EngineUnreachableError; i++)
        await new Promise((r) => setTimeout(r, 25));
      if (agent.failure && err instanceof EngineUnreachableError)
        throw new EngineUnreachableError(this.url, agent.failure, err.code);
      throw err;
    } finally {
      agent.destroy();
    }
  }

  private exchange(
    mod: typeof import('node:http') | typeof import('node:https'),
    agent: Agent | import('node:http').Agent | undefined,
    u: URL,
    hostPort: string,
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    started = Date.now(),
  ): Promise<EngineResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<EngineResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        req.destroy();
        reject(err);
      };
      const onAbort = () => fail(new EngineUnreachableError(this.url, 'request aborted'));
      const timer = setTimeout(
        () =>
          fail(
            new MachineError(`The engine at ${this.url} did not answer within ${this.timeoutMs / 1000} s`),
          ),
        Math.max(0, started + this.timeoutMs - Date.now()),
      );
      const req = mod.request(
        {
          method,
          host: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port || (this.ssh ? 80 : 2376),
          path,
          agent: agent as never,
          headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
          // SNI takes host names only; an IP there is deprecated (RFC 6066).
          servername: this.ssh || ipVersion(u.hostname.replace(/^\[|\]$/g, '')) ? undefined : u.hostname,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            const data = Buffer.concat(chunks);
            const status = res.statusCode ?? 0;
            if (status >= 400) return reject(new EngineRequestError(status, data.toString().trim()));
            resolve({
              status,
              body: data,
              json: () => {
                try {
                  return JSON.parse(data.toString());
                } catch {
                  throw new MachineError(`The engine at ${this.url} answered ${path} with invalid JSON`);
                }
              },
            });
          });
        },
      );
      req.on('error', (err) =>
        fail(
          new EngineUnreachableError(
            this.url,
            this.ssh ? err.message : dialErrorText(hostPort, err),
            (err as NodeJS.ErrnoException).code,
          ),
        ),
      );
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
  }
}
