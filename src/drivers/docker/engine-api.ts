import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Readable } from 'node:stream';
import { traceRequest } from '../../debug.js';
import { dialErrorText } from '../../engine/errors.js';
import { readTLSConfig, type TLSMaterial } from '../../engine/tls.js';
import { errorMessage, MachineError } from '../../errors.js';

/**
 * A small client for the Docker Engine API of the engine that runs the machines (the "outer"
 * engine): a unix socket or tcp(+TLS), node:http and nothing else, so the driver needs no docker
 * CLI. Machines' own engines are reached by src/engine/client.ts.
 */

/** The API version this driver is written against; older and newer engines are met halfway. */
const WANTED_API = '1.41';

export interface DockerEndpoint {
  /** unix:///path or tcp://host:port, as in DOCKER_HOST. */
  host: string;
  /** Folder with ca.pem, cert.pem and key.pem for a tcp:// host ('' for no TLS). */
  certPath: string;
}

interface RawOptions {
  body?: unknown;
  stream?: Readable;
  contentType?: string;
  timeoutMs?: number;
  onData?: (chunk: Buffer) => void;
}

export class EngineAPIError extends MachineError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

interface Target {
  socketPath?: string;
  host?: string;
  port?: number;
}

export function parseDockerHost(host: string): Target {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath.startsWith('/'))
      throw new MachineError(`--docker-host ${host}: a unix socket needs an absolute path`);
    return { socketPath };
  }
  if (host.startsWith('tcp://')) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) || 2375 };
  }
  throw new MachineError(
    `--docker-host ${host}: the docker driver speaks to engines at unix:///PATH or tcp://HOST:PORT`,
  );
}

const versions = new Map<string, Promise<string>>();

export class DockerAPI {
  readonly endpoint: DockerEndpoint;
  private readonly target: Target;
  private tls: Promise<TLSMaterial | null> | undefined;

  constructor(endpoint: DockerEndpoint) {
    this.endpoint = endpoint;
    this.target = parseDockerHost(endpoint.host);
  }

  /** "the Docker engine at unix:///var/run/docker.sock", for messages. */
  get where(): string {
    return `the Docker engine at ${this.endpoint.host}`;
  }

  async json<T = unknown>(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    const r = await this.call(method, path, { body, timeoutMs });
    return (r.length ? JSON.parse(r.toString()) : undefined) as T;
  }

  /** A request whose 404 means "not there": null instead of an error. */
  async jsonOrNull<T = unknown>(method: string, path: string): Promise<T | null> {
    try {
      return await this.json<T>(method, path);
    } catch (err) {
      if (err instanceof EngineAPIError && err.status === 404) return null;
      throw err;
    }
  }

  async call(
    method: string,
    path: string,
    opts: {
      body?: unknown;
      stream?: Readable;
      contentType?: string;
      timeoutMs?: number;
      onData?: (chunk: Buffer) => void;
    } = {},
  ): Promise<Buffer> {
    const version = await this.apiVersion();
    return this.raw(method, `/v${version}${path}`, opts);
  }

  /** A bounded "does an engine answer here?" without the version handshake. */
  async ping(timeoutMs: number): Promise<void> {
    await this.raw('GET', '/_ping', { timeoutMs });
  }

  /** The version to speak: ours, unless the engine is older or no longer accepts it. */
  private apiVersion(): Promise<string> {
    const key = this.endpoint.host;
    let v = versions.get(key);
    if (!v) {
      v = this.raw('GET', '/version', { timeoutMs: 10_000 }).then((b) => {
        const info = JSON.parse(b.toString()) as { ApiVersion?: string; MinAPIVersion?: string };
        const server = info.ApiVersion ?? WANTED_API;
        const min = info.MinAPIVersion ?? '1.12';
        if (cmpVersion(server, WANTED_API) < 0) return server;
        if (cmpVersion(min, WANTED_API) > 0) return min;
        return WANTED_API;
      });
      v.catch(() => versions.delete(key));
      versions.set(key, v);
    }
    return v;
  }

  private async tlsMaterial(): Promise<TLSMaterial | null> {
    if (!this.target.port || this.endpoint.certPath === '') return null;
    this.tls ??= readTLSConfig({
      caCertPath: `${this.endpoint.certPath}/ca.pem`,
      clientCertPath: `${this.endpoint.certPath}/cert.pem`,
      clientKeyPath: `${this.endpoint.certPath}/key.pem`,
    });
    return this.tls;
  }

  private raw(method: string, path: string, opts: RawOptions): Promise<Buffer> {
    // The status of a success is not kept; a failure's is (EngineAPIError).
    return traceRequest(this.where, method, path, this.send(method, path, opts), () => undefined);
  }

  private async send(method: string, path: string, opts: RawOptions): Promise<Buffer> {
    const tls = await this.tlsMaterial();
    const mod = tls ? await import('node:https') : await import('node:http');
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string | number> = {};
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = payload.length;
    } else if (opts.stream) {
      headers['Content-Type'] = opts.contentType ?? 'application/x-tar';
    }
    const reqOpts: RequestOptions & { ca?: Buffer; cert?: Buffer; key?: Buffer } = {
      method,
      path,
      headers,
      ...(this.target.socketPath
        ? { socketPath: this.target.socketPath, host: 'docker' }
        : { host: this.target.host, port: this.target.port }),
      ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
    };
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise<Buffer>((resolve, reject) => {
      let settled = false;
      let req: ClientRequest | undefined;
      // An idle bound, not a total one: an image upload may take minutes while data flows.
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            fail(
              new MachineError(`${this.where} did not answer ${method} ${path} within ${timeoutMs / 1000} s`),
            ),
          timeoutMs,
        );
      };
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req?.destroy();
        reject(err);
      };
      arm();
      req = mod.request(reqOpts, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          arm();
          chunks.push(c);
          opts.onData?.(c);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const data = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 400) return reject(new EngineAPIError(status, apiMessage(data, status)));
          resolve(data);
        });
      });
      req.on('error', (err) =>
        fail(new MachineError(`Cannot connect to ${this.where}: ${this.dialError(err)}`)),
      );
      if (opts.stream) {
        opts.stream.on('data', arm);
        opts.stream.on('error', (err) =>
          fail(new MachineError(`reading the upload failed: ${errorMessage(err)}`)),
        );
        opts.stream.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  private dialError(err: unknown): string {
    const e = err as NodeJS.ErrnoException;
    if (this.target.socketPath) {
      if (e.code === 'ENOENT') return `no socket at ${this.target.socketPath} (is the engine running?)`;
      if (e.code === 'ECONNREFUSED')
        return `nothing listens on ${this.target.socketPath} (is the engine running?)`;
      if (e.code === 'EACCES') return `permission denied on ${this.target.socketPath}`;
      return errorMessage(err);
    }
    return dialErrorText(`${this.target.host}:${this.target.port}`, err);
  }
}

/** The engine's {"message": ...} as one line. */
function apiMessage(data: Buffer, status: number): string {
  try {
    const m = (JSON.parse(data.toString()) as { message?: string }).message;
    if (m) return m.trim();
  } catch {}
  return data.toString().trim() || `status ${status}`;
}

function cmpVersion(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

/** Query string from an object; undefined values are left out. */
export function query(q: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(q)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** The engine's JSON-lines progress stream (image import): its error, if it reports one. */
export function streamError(data: Buffer): string | undefined {
  for (const line of data.toString().split('\n')) {
    if (!line.trim()) continue;
    try {
      const m = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      if (m.error) return m.errorDetail?.message ?? m.error;
    } catch {}
  }
  return undefined;
}
