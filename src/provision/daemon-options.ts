import { quoteFor } from '../shell/quote.js';
import type { EngineOptions } from '../store/host.js';
import { environmentWord, execStartWord } from './systemd-quote.js';

/** Where the engine's TLS files live on the machine (the original's DockerOptionsDir). */
export const REMOTE_CERT_DIR = '/etc/docker';

export interface DaemonSetup {
  dockerd: string;
  port: number;
  /** systemd passes the unix socket (Debian's docker.socket): listen on fd:// then. */
  socketActivated: boolean;
  driverName: string;
  engine: EngineOptions;
  /** Where the TLS files are on the machine; default REMOTE_CERT_DIR. */
  certDir?: string;
  /** The machine is to be a Swarm-mode node: the engine refuses swarm with live-restore on. */
  swarm?: boolean;
}

/**
 * The dockerd command line: TLS on the machine's port, the engine options of create, and
 * live-restore so that later restarts (regenerate-certs, upgrade) keep containers running.
 * The storage driver is only set when asked for: changing it would hide a host's images.
 */
export function dockerdArgs(s: DaemonSetup): string[] {
  const e = s.engine;
  const dir = s.certDir ?? REMOTE_CERT_DIR;
  const args = [
    '-H',
    s.socketActivated ? 'fd://' : 'unix:///var/run/docker.sock',
    // An SSH-only engine (--engine-endpoint ssh) listens on its socket alone: no port, no TLS.
    ...(e.EngineEndpoint === 'ssh'
      ? []
      : [
          '-H',
          `tcp://0.0.0.0:${s.port}`,
          '--tlsverify',
          '--tlscacert',
          `${dir}/ca.pem`,
          '--tlscert',
          `${dir}/server.pem`,
          '--tlskey',
          `${dir}/server-key.pem`,
        ]),
    ...liveRestore(s),
  ];
  if (e.StorageDriver) args.push('--storage-driver', e.StorageDriver);
  args.push(...optionFlags(s).flat());
  return args;
}

/**
 * Swarm init and join fail with "--live-restore daemon configuration is incompatible with swarm
 * mode": a swarm node's containers stop with its engine, and swarm reschedules them.
 */
function liveRestore(s: DaemonSetup): string[] {
  return s.swarm ? [] : ['--live-restore'];
}

/** The machine's own options, each flag with its value, in the original's order. */
function optionFlags(s: DaemonSetup): string[][] {
  const e = s.engine;
  return [
    ...e.Labels.map((l) => ['--label', l]),
    ['--label', `provider=${s.driverName}`],
    ...e.InsecureRegistry.map((r) => ['--insecure-registry', r]),
    ...e.RegistryMirror.map((m) => ['--registry-mirror', m]),
    ...e.ArbitraryFlags.map((o) => [`--${o}`]),
  ];
}

/** A systemd drop-in replacing the unit's ExecStart, with --engine-env as Environment. */
export function systemdDropIn(s: DaemonSetup): string {
  let out = '';
  // The machine images (docker and qemu drivers) start the engine only once a server
  // certificate is there, i.e. once provisioned; an SSH-only engine never gets one. An empty
  // assignment clears that condition, and this drop-in sorts after theirs.
  if (s.engine.EngineEndpoint === 'ssh') out += '[Unit]\nConditionPathExists=\n\n';
  out += '[Service]\nExecStart=\n';
  out += `ExecStart=${[s.dockerd, ...dockerdArgs(s)].map(execStartWord).join(' ')}\n`;
  if (s.engine.Env.length > 0) out += `Environment=${s.engine.Env.map(environmentWord).join(' ')}\n`;
  return out;
}

/**
 * boot2docker's /var/lib/boot2docker/profile, which its init script sources (spec §5.3.8): the
 * original's file as its shell left it after expanding the quoted command, plus live-restore.
 */
export function boot2dockerProfile(s: DaemonSetup): string {
  const dir = s.certDir ?? REMOTE_CERT_DIR;
  // Inside the profile's single quotes only a ' needs care.
  const extra = [...liveRestore(s), ...optionFlags(s).map((f) => f.join(' '))].map((a) =>
    a.replaceAll("'", "'\\''"),
  );
  let out = `\nEXTRA_ARGS='\n${extra.join('\n')}\n\n'\n`;
  if (s.engine.EngineEndpoint === 'ssh') {
    // boot2docker's init script always listens on the unix socket; DOCKER_HOST adds the port.
    out += "DOCKER_HOST=''\n";
    out += `DOCKER_STORAGE=${s.engine.StorageDriver || 'overlay2'}\n`;
    out += 'DOCKER_TLS=no\n\n';
  } else {
    out += `CACERT=${dir}/ca.pem\n`;
    out += `DOCKER_HOST='-H tcp://0.0.0.0:${s.port}'\n`;
    out += `DOCKER_STORAGE=${s.engine.StorageDriver || 'overlay2'}\n`;
    out += 'DOCKER_TLS=auto\n';
    out += `SERVERKEY=${dir}/server-key.pem\n`;
    out += `SERVERCERT=${dir}/server.pem\n\n`;
  }
  // The init script sources the profile: a value is quoted so that it runs nothing.
  for (const e of s.engine.Env) out += `export ${quoteFor('sh', 'Env', e)}\n`;
  return `${out}\n`;
}
