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
