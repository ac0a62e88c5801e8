import { errorMessage, MachineError } from '../../errors.js';
import type { MachineState } from '../driver.js';
import { tarball } from './archive.js';
import { isDiskSizeRefusal } from './disk-size.js';
import { type DockerAPI, EngineAPIError, query } from './engine-api.js';
import { ENGINE_PORT, type Publish, portSpec, SSH_PORT } from './ports.js';

/**
 * How a machine's container is run: systemd as PID 1 with sshd and its own dockerd, on engines
 * that refuse --privileged. The capability set is the one verified in ../shared/TESTING.md:
 * every capability but SYS_RESOURCE, no seccomp or AppArmor profile, all devices, a writable
 * cgroup tree, tmpfs on /run, and a volume of its own for the inner engine's data.
 */

/** Labels that find what create made even when a kill -9 came before it was recorded. */
export const LABEL_MACHINE = 'io.docker-machine.machine';
export const LABEL_NAME = 'io.docker-machine.name';

export interface ContainerOptions {
  name: string;
  /** A random id of this machine, recorded before anything is created. */
  machineId: string;
  image: string;
  volume: string;
  network: string;
  /** The machine's fixed address on the network; none: the engine gives one at each start. */
  address?: string;
  sshPort: number;
  /** 0 for an SSH-only engine: no port is published for it. */
  enginePort: number;
  publish: Publish[];
  /** CPUs (may be fractional); 0 for no limit. */
  cpus: number;
  /** MiB; 0 for no limit. */
  memoryMB: number;
  /** The engine's cgroup version ("1" or "2"), from its /info. */
  cgroupVersion: string;
  /** MiB the container's writable layer may hold (the storage driver's size option); 0 for no bound. */
  diskSizeMB?: number;
}

export function containerSpec(o: ContainerOptions): Record<string, unknown> {
  const ports = portSpec([
    { hostPort: o.sshPort, containerPort: SSH_PORT, proto: 'tcp' },
    ...(o.enginePort ? [{ hostPort: o.enginePort, containerPort: ENGINE_PORT, proto: 'tcp' as const }] : []),
    ...o.publish,
  ]);
  const labels = { [LABEL_MACHINE]: o.machineId, [LABEL_NAME]: o.name };
  const binds = [`${o.volume}:/var/lib/docker`];
  // cgroup v1: the host's tree, writable, as systemd and the inner dockerd need it. cgroup v2:
  // a namespace of its own, where the container's subtree is its root.
  if (o.cgroupVersion !== '2') binds.push('/sys/fs/cgroup:/sys/fs/cgroup:rw');
  return {
    Hostname: o.name,
    Image: o.image,
    Entrypoint: [],
    Cmd: ['/lib/systemd/systemd'],
    Env: ['container=docker'],
    StopSignal: 'SIGRTMIN+3',
    Labels: labels,
    ExposedPorts: ports.exposed,
    HostConfig: {
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      DeviceCgroupRules: ['a *:* rwm'],
      Binds: binds,
      Tmpfs: { '/run': 'rw,exec', '/run/lock': 'rw' },
      ...(o.cgroupVersion === '2' ? { CgroupnsMode: 'private' } : {}),
      PortBindings: ports.bindings,
      NetworkMode: o.network,
      // The inner engine routes its containers' traffic; /proc/sys is read-only inside.
      Sysctls: { 'net.ipv4.ip_forward': '1' },
      ...(o.cpus > 0 ? { NanoCpus: Math.round(o.cpus * 1e9) } : {}),
      ...(o.memoryMB > 0 ? { Memory: o.memoryMB * 1024 * 1024 } : {}),
      ...(o.diskSizeMB ? { StorageOpt: { size: `${o.diskSizeMB}M` } } : {}),
    },
    NetworkingConfig: {
      EndpointsConfig: {
        [o.network]: {
          Aliases: [o.name],
          ...(o.address ? { IPAMConfig: { IPv4Address: o.address } } : {}),
        },
      },
    },
  };
}

export async function createVolume(
  api: DockerAPI,
  name: string,
  machineId: string,
  machine: string,
): Promise<void> {
  await api.json('POST', '/volumes/create', {
    Name: name,
    Labels: { [LABEL_MACHINE]: machineId, [LABEL_NAME]: machine },
  });
}

/** Creates the container; a name already in use is the user's to resolve. */
export async function createContainer(api: DockerAPI, o: ContainerOptions): Promise<string> {
  try {
    const r = await api.json<{ Id: string }>(
      'POST',
      `/containers/create${query({ name: o.name })}`,
      containerSpec(o),
    );
    return r.Id;
  } catch (err) {
    if (err instanceof EngineAPIError && err.status === 409) {
      throw new MachineError(
        `a container named "${o.name}" already exists on ${api.where}; remove it or choose another machine name`,
      );
    }
    // overlay2 on xfs passes the pre-create check, and only here says whether pquota is on.
    if (o.diskSizeMB && isDiskSizeRefusal(errorMessage(err))) {
      throw new MachineError(
        `${api.where} cannot bound the container's size (${errorMessage(err)}); leave out --docker-disk-size, or mount the engine's data root with pquota`,
      );
    }
    throw err;
  }
}

/** The image must run systemd and sshd: check in the created container before it starts. */
export async function checkImage(api: DockerAPI, id: string, image: string): Promise<void> {
  for (const [path, what] of [
    ['/lib/systemd/systemd', 'systemd'],
    ['/usr/sbin/sshd', 'sshd'],
  ]) {
    try {
      await api.call('HEAD', `/containers/${id}/archive${query({ path })}`);
    } catch (err) {
      if (err instanceof EngineAPIError && err.status === 404) {
        throw new MachineError(
          `image ${image} has no ${what} (${path}): the docker driver runs machines with systemd and sshd; leave out --docker-image to use the driver's own image`,
        );
      }
      throw err;
    }
  }
}

/** The machine's public key as root's only authorized key, written before the container starts. */
export async function injectAuthorizedKey(api: DockerAPI, id: string, publicLine: string): Promise<void> {
  const tar = tarball([
    { path: 'root/.ssh', mode: 0o700 },
    { path: 'root/.ssh/authorized_keys', mode: 0o600, content: publicLine },
  ]);
  const { Readable } = await import('node:stream');
  await api.call('PUT', `/containers/${id}/archive${query({ path: '/' })}`, { stream: Readable.from([tar]) });
}

export interface ContainerInfo {
  Id: string;
  Name: string;
  State: { Status: string; Running: boolean; Paused: boolean; Error?: string };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
}

export function inspectContainer(api: DockerAPI, id: string): Promise<ContainerInfo | null> {
  return api.jsonOrNull<ContainerInfo>('GET', `/containers/${encodeURIComponent(id)}/json`);
}

export function stateOf(info: ContainerInfo | null): MachineState {
  if (!info) return 'NotFound';
  switch (info.State.Status) {
    case 'running':
      return 'Running';
    case 'paused':
      return 'Paused';
    case 'exited':
    case 'created':
      return 'Stopped';
    default:
      return 'Error';
  }
}

/** Containers and volumes carrying the machine's label: what a killed create may have left. */
export async function labelled(
  api: DockerAPI,
  machineId: string,
): Promise<{ containers: string[]; volumes: string[] }> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${LABEL_MACHINE}=${machineId}`] }));
  const cs = await api.json<{ Id: string }[]>('GET', `/containers/json?all=1&filters=${filters}`);
  const vs = await api.json<{ Volumes: { Name: string }[] | null }>('GET', `/volumes?filters=${filters}`);
  return { containers: cs.map((c) => c.Id), volumes: (vs.Volumes ?? []).map((v) => v.Name) };
}

export async function removeContainer(api: DockerAPI, id: string): Promise<void> {
  try {
    await api.call('DELETE', `/containers/${encodeURIComponent(id)}${query({ force: true, v: true })}`, {
      timeoutMs: 60_000,
    });
  } catch (err) {
    if (err instanceof EngineAPIError && err.status === 404) return;
    throw err;
  }
}

export async function removeVolume(api: DockerAPI, name: string): Promise<void> {
  try {
    await api.call('DELETE', `/volumes/${encodeURIComponent(name)}`, { timeoutMs: 60_000 });
  } catch (err) {
    if (err instanceof EngineAPIError && err.status === 404) return;
    throw err;
  }
}
