import { MachineError } from '../../errors.js';

/**
 * The machine's ports, published on 127.0.0.1 only: SSH (22), the engine (2376) and what the
 * user asks for with --docker-publish. Host ports are chosen once, at create, and recorded, so
 * that they stay the same across stop and start (an engine-chosen port would change each start).
 */

export const SSH_PORT = 22;
export const ENGINE_PORT = 2376;

export interface Publish {
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

/** `8080`, `8080:80`, `8080:80/udp` (the host side is always 127.0.0.1). */
export function parsePublish(spec: string): Publish {
  const m = /^(?:127\.0\.0\.1:)?(\d+)(?::(\d+))?(?:\/(tcp|udp))?$/.exec(spec.trim());
  const bad = () =>
    new MachineError(
      `--docker-publish ${spec}: expected HOSTPORT[:CONTAINERPORT][/tcp|/udp], e.g. 8080:80 (published on 127.0.0.1)`,
    );
  if (!m) throw bad();
  const hostPort = Number(m[1]);
  const containerPort = Number(m[2] ?? m[1]);
  if (!validPort(hostPort) || !validPort(containerPort)) throw bad();
  return { hostPort, containerPort, proto: (m[3] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p > 0 && p < 65536;
}

/** A port free on 127.0.0.1 now: bind to 0, read it, close. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Whether something already listens on 127.0.0.1:port (tcp). */
export async function portTaken(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

/** HostConfig.PortBindings and Config.ExposedPorts for the container. */
export function portSpec(all: Publish[]): {
  exposed: Record<string, object>;
  bindings: Record<string, { HostIp: string; HostPort: string }[]>;
} {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of all) {
    const key = `${p.containerPort}/${p.proto}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: '127.0.0.1', HostPort: String(p.hostPort) });
  }
  return { exposed, bindings };
}

/** An engine error that means a host port was taken between our check and the start. */
export function isPortConflict(message: string): boolean {
  return /port is already allocated|address already in use/i.test(message);
}

/**
 * Resolves when an SSH server greets on 127.0.0.1:port within `budgetMs` (tried every 100 ms).
 * A published port accepts connections before sshd runs (the engine's proxy takes them and
 * closes them), so only the server's `SSH-` banner counts.
 */
export async function sshBanner(port: number, budgetMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + budgetMs;
  let last = 'no answer';
  for (;;) {
    const seen = await new Promise<string>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port });
      const done = (what: string) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(what);
      };
      const timer = setTimeout(() => done('no banner yet'), Math.max(100, deadline - Date.now()));
      sock.once('data', (d) => done(d.toString('latin1').split('\n')[0].trim()));
      sock.once('close', () => done('connection closed before the SSH banner'));
      sock.once('error', (err) => done(err.message));
    });
    if (seen.startsWith('SSH-')) return;
    last = seen;
    if (Date.now() >= deadline) throw new MachineError(last);
    await new Promise((r) => setTimeout(r, 100));
  }
}
