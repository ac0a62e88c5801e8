import type { EngineOptions } from '../store/host.js';

/** Where the engine's TLS files live on the machine (the original's DockerOptionsDir). */
export const REMOTE_CERT_DIR = '/etc/docker';

export interface DaemonSetup {
  dockerd: string;
  port: number;
  /** systemd passes the unix socket (Debian's docker.socket): listen on fd:// then. */
  socketActivated: boolean;
  driverName: string;
  engine: EngineOptions;
}

/**
 * The dockerd command line: TLS on the machine's port, the engine options of create, and
 * live-restore so that later restarts (regenerate-certs, upgrade) keep containers running.
 * The storage driver is only set when asked for: changing it would hide a host's images.
 */
export function dockerdArgs(s: DaemonSetup): string[] {
  const e = s.engine;
  const args = [
    '-H',
    s.socketActivated ? 'fd://' : 'unix:///var/run/docker.sock',
    '-H',
    `tcp://0.0.0.0:${s.port}`,
    '--tlsverify',
    '--tlscacert',
    `${REMOTE_CERT_DIR}/ca.pem`,
    '--tlscert',
    `${REMOTE_CERT_DIR}/server.pem`,
    '--tlskey',
    `${REMOTE_CERT_DIR}/server-key.pem`,
    '--live-restore',
  ];
  if (e.StorageDriver) args.push('--storage-driver', e.StorageDriver);
  for (const l of e.Labels) args.push('--label', l);
  args.push('--label', `provider=${s.driverName}`);
  for (const r of e.InsecureRegistry) args.push('--insecure-registry', r);
  for (const m of e.RegistryMirror) args.push('--registry-mirror', m);
  for (const o of e.ArbitraryFlags) args.push(`--${o}`);
  return args;
}

/** A systemd drop-in replacing the unit's ExecStart, with --engine-env as Environment. */
export function systemdDropIn(s: DaemonSetup): string {
  const quote = (a: string) =>
    /^[A-Za-z0-9_./:=,@%+-]+$/.test(a) ? a : `"${a.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  let out = '[Service]\nExecStart=\n';
  out += `ExecStart=${[s.dockerd, ...dockerdArgs(s)].map(quote).join(' ')}\n`;
  if (s.engine.Env.length > 0)
    out += `Environment=${s.engine.Env.map((e) => `"${e.replaceAll('"', '\\"')}"`).join(' ')}\n`;
  return out;
}
