import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sshEngineURL } from '../../engine/endpoint.js';
import { errorMessage, MachineError } from '../../errors.js';
import { dockerHost, intRange, matching } from '../../flags/checks.js';
import type { FlagDef, ParsedFlags } from '../../flags/def.js';
import { flagInt, flagSlice, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { mergeDriverJSON, num, sshOnlyEngine, str } from '../base.js';
import type { Driver, DriverContext, DriverModule, EngineEndpoint, MachineState } from '../driver.js';
import { ERR_HOST_NOT_RUNNING } from '../driver.js';
import { awaitSSHBanner, freePort, LoopbackDriver, portTaken } from '../loopback.js';
import { chooseAddress, isAddressConflict, isFixedAddressRefused } from './address.js';
import {
  checkImage,
  createContainer,
  createVolume,
  injectAuthorizedKey,
  inspectContainer,
  LABEL_MACHINE,
  labelled,
  removeContainer,
  removeVolume,
  stateOf,
} from './container.js';
import { diskSizeRefusal, parseDiskSize, type StorageInfo } from './disk-size.js';
import { DockerAPI, EngineAPIError, parseDockerHost, query } from './engine-api.js';
import { DEFAULT_MIRROR, ensureImage } from './image.js';
import { DEFAULT_NETWORK, dynamicAddressNote, ensureNetwork } from './network.js';
import { ENGINE_PORT, isPortConflict, parsePublish } from './ports.js';

/**
 * The `docker` driver: a machine is a container on a local Docker engine, running systemd, sshd
 * and a Docker engine of its own (as kind and minikube run their nodes). Its SSH and engine ports
 * are published on 127.0.0.1; the generic flow then provisions it over SSH like any server.
 */
const flags: FlagDef[] = [
  {
    name: 'docker-host',
    kind: 'string',
    default: 'unix:///var/run/docker.sock',
    envVar: 'DOCKER_HOST',
    usage: 'The local Docker engine that runs the machine (unix:///PATH or tcp://HOST:PORT)',
    check: dockerHost,
  },
  {
    name: 'docker-cert-path',
    kind: 'string',
    envVar: 'DOCKER_CERT_PATH',
    usage: 'Folder with ca.pem, cert.pem and key.pem for a tcp:// --docker-host with TLS',
  },
  {
    name: 'docker-image',
    kind: 'string',
    envVar: 'MACHINE_DOCKER_IMAGE',
    usage:
      "Image with systemd and sshd for the machine (default: the driver's Debian image, built on first use)",
  },
  {
    name: 'docker-debian-mirror',
    kind: 'string',
    default: DEFAULT_MIRROR,
    envVar: 'MACHINE_DOCKER_DEBIAN_MIRROR',
    usage: "Debian mirror that the driver's own image is built from",
  },
  {
    name: 'docker-cpus',
    kind: 'string',
    envVar: 'MACHINE_DOCKER_CPUS',
    usage: 'Number of CPUs the machine may use, e.g. 2 or 1.5 (default: no limit)',
    check: matching(/^(0|[1-9][0-9]{0,3})(\.[0-9]{1,2})?$/, 'a number of CPUs, e.g. 2 or 1.5'),
  },
  {
    name: 'docker-memory',
    kind: 'int',
    default: 0,
    envVar: 'MACHINE_DOCKER_MEMORY',
    usage: 'Memory limit of the machine in MB (0: no limit)',
    check: intRange(64, 64 * 1024 * 1024, 'MB of memory', 'no limit'),
  },
  {
    name: 'docker-disk-size',
    kind: 'string',
    envVar: 'MACHINE_DOCKER_DISK_SIZE',
    usage:
      "Bound of the machine's own file system, e.g. 20G, 512M or a number of MB, where the engine's storage driver can set one (default: no limit)",
  },
  {
    name: 'docker-network',
    kind: 'string',
    default: DEFAULT_NETWORK,
    envVar: 'MACHINE_DOCKER_NETWORK',
    usage: 'User-defined network the machine joins; machines on one network reach each other',
  },
  {
    name: 'docker-publish',
    kind: 'stringSlice',
    envVar: 'MACHINE_DOCKER_PUBLISH',
    usage: 'Extra port to publish on 127.0.0.1, HOSTPORT[:CONTAINERPORT][/udp] (repeatable)',
  },
];

/** An interrupted fleet (Ctrl-C) stops each create between steps; what it made is recorded. */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MachineError('interrupted before it finished');
}

/** Attempts at a start whose random host ports another process took meanwhile. */
const PORT_ATTEMPTS = 3;
/** Addresses tried that another program's container took between our choice and the start. */
const ADDRESS_ATTEMPTS = 5;

class DockerDriver extends LoopbackDriver implements Driver {
  readonly driverName = 'docker';
  private apiClient: DockerAPI | undefined;

  private set(fields: DriverJSON): void {
    this.json = { ...this.json, ...fields };
  }

  private get api(): DockerAPI {
    this.apiClient ??= new DockerAPI({
      host: str(this.json, 'DockerHost'),
      certPath: str(this.json, 'CertPath'),
    });
    return this.apiClient;
  }

  private get name(): string {
    return str(this.json, 'MachineName');
  }

  private get id(): string {
    return str(this.json, 'ContainerID');
  }

  private publish() {
    const v = this.json.Publish;
    return (Array.isArray(v) ? v : []).map((s) => parsePublish(String(s)));
  }

  async preCreateCheck(): Promise<void> {
    const api = this.api;
    try {
      await api.json('GET', '/version', undefined, 10_000);
    } catch (err) {
      throw new MachineError(`${errorMessage(err)}; give --docker-host the address of a running engine`);
    }
    const name = str(this.json, 'ContainerName');
    // A lookup by name also matches id prefixes: only the same name counts.
    if ((await inspectContainer(api, name))?.Name === `/${name}`) {
      throw new MachineError(
        `a container named "${name}" already exists on ${api.where}; remove it or choose another machine name`,
      );
    }
    const diskSize = num(this.json, 'DiskSize');
    if (diskSize > 0) {
      const refusal = diskSizeRefusal(await api.json<StorageInfo>('GET', '/info'), api.where, diskSize);
      if (refusal) throw new MachineError(refusal);
    }
    for (const p of this.publish()) {
      if (p.proto === 'tcp' && (await portTaken(p.hostPort))) {
        throw new MachineError(
          `port ${p.hostPort} on 127.0.0.1 is already in use; choose another host port for --docker-publish`,
        );
      }
    }
  }

  async create(ctx: DriverContext): Promise<void> {
    const api = this.api;
    const { generateSSHKeyPair } = await import('../../ssh/keys.js');
    const machineDir = join(str(this.json, 'StorePath'), 'machines', this.name);
    ctx.log('Creating SSH key...');
    const keyPath = join(machineDir, 'id_rsa');
    // The key is made (off the main thread) while the engine finds the image, makes the network,
    // the volume and the container and starts it: it is needed only once the container runs.
    const sshKey = generateSSHKeyPair(keyPath);
    sshKey.catch(() => {});

    ctx.log('Finding the machine image...');
    const image = await ensureImage({
      api,
      image: str(this.json, 'Image'),
      mirror: str(this.json, 'DebianMirror') || DEFAULT_MIRROR,
      cacheDir: join(str(this.json, 'StorePath'), 'cache'),
      log: ctx.log,
    });
    stopIfAborted(ctx.signal);
    const network = str(this.json, 'Network');
    const storePath = str(this.json, 'StorePath');
    const { withFileLock } = await import('../../store/lock.js');
    // One lock for the store's creates: who makes the network, and who takes which address on it.
    // Held only for engine calls that answer in seconds, never across an image build or import.
    const underNetworkLock = <T>(fn: () => Promise<T>) =>
      withFileLock(
        join(storePath, 'cache', 'docker-driver', 'network.lock'),
        {
          what: `Network ${network}`,
          doing: `choosing the network and the address of machine ${this.name}`,
          log: ctx.log,
        },
        fn,
      );
    const net = await underNetworkLock(() => ensureNetwork(api, network, ctx.log));
    let fixed = net.addressing !== 'dynamic';
    if (!fixed) ctx.log(dynamicAddressNote(network));
    const info = await api.json<{ CgroupVersion?: string }>('GET', '/info');

    const volume = str(this.json, 'VolumeName');
    ctx.log(`Creating volume ${volume} for the machine's Docker data...`);
    await createVolume(api, volume, str(this.json, 'MachineID'), this.name);

    const taken: string[] = [];
    for (let portAttempt = 1; ; ) {
      stopIfAborted(ctx.signal);
      const sshPort = await freePort();
      // An SSH-only engine is reached through the SSH port: nothing is published for 2376.
      let enginePort = sshOnlyEngine(this.json) ? 0 : await freePort();
      while (enginePort !== 0 && enginePort === sshPort) enginePort = await freePort();
      this.set({ SSHPort: sshPort, EnginePort: enginePort, NetworkAddress: '' });
      if (fixed) {
        // Recorded before the container exists and before the lock is let go: the store's next
        // create sees it here even while this container is not made yet.
        await underNetworkLock(async () => {
          const now = await ensureNetwork(api, network, ctx.log);
          this.set({ NetworkAddress: await chooseAddress(api, now, storePath, this.name, taken) });
          await ctx.save();
        });
      } else {
        await ctx.save();
      }
      const address = str(this.json, 'NetworkAddress');
      ctx.log(
        `Creating container ${str(this.json, 'ContainerName')} from ${image}${address ? ` at ${address} on network ${network}` : ''}...`,
      );
      const id = await createContainer(api, {
        name: str(this.json, 'ContainerName'),
        machineId: str(this.json, 'MachineID'),
        image,
        volume,
        network,
        address,
        sshPort,
        enginePort,
        publish: this.publish(),
        cpus: Number(str(this.json, 'CPUs') || 0),
        memoryMB: num(this.json, 'Memory'),
        cgroupVersion: info.CgroupVersion ?? '1',
        diskSizeMB: num(this.json, 'DiskSize'),
      });
      this.set({ ContainerID: id });
      await ctx.save();
      await checkImage(api, id, image);
      stopIfAborted(ctx.signal);
      ctx.log('Starting the container...');
      try {
        await api.call('POST', `/containers/${id}/start`, { timeoutMs: 60_000 });
      } catch (err) {
        const msg = errorMessage(err);
        let retry: string | undefined;
        if (address && isAddressConflict(msg)) {
          // Another program's container took the address since we chose it: choose again.
          taken.push(address);
          if (taken.length < ADDRESS_ATTEMPTS) retry = `address ${address} is taken; choosing another`;
        } else if (address && isFixedAddressRefused(msg)) {
          // Someone else's network, made without --subnet: the engine gives the address.
          fixed = false;
          ctx.log(dynamicAddressNote(network));
          retry = 'the network takes no fixed address';
        } else if (isPortConflict(msg) && portAttempt++ < PORT_ATTEMPTS) {
          // Another process took one of the random host ports since we chose them: choose again.
          retry = 'choosing other ports';
        }
        if (!retry) throw await this.startError(err);
        ctx.debug(`start failed (${msg}); ${retry}`);
        await removeContainer(api, id);
        this.set({ ContainerID: '' });
        await ctx.save();
        continue;
      }
      // Into the running container: sshd refuses every key until it is there, and nothing
      // connects before this create returns.
      const { publicLine } = await sshKey;
      this.set({ SSHKeyPath: keyPath });
      await ctx.save();
      await injectAuthorizedKey(api, id, publicLine);
      // sshd answers within a second or two of the start: polling for its banner every 100 ms
      // spares provisioning its 1 s retries of a full SSH connection.
      await ctx.waitFor(`SSH of container ${str(this.json, 'ContainerName')} on 127.0.0.1:${sshPort}`, () =>
        awaitSSHBanner(sshPort, 1000),
      );
      return;
    }
  }

  private async startError(err: unknown): Promise<MachineError> {
    const msg = errorMessage(err);
    const address = str(this.json, 'NetworkAddress');
    if (address && isAddressConflict(msg)) {
      const network = str(this.json, 'Network');
      const holder = await this.holderOf(network, address).catch(() => '');
      const who = holder ? `container "${holder}"` : 'another container';
      return new MachineError(
        `starting container ${str(this.json, 'ContainerName')}: its address ${address} on network ${network} is held by ${who} (${msg}); stop that container or disconnect it (docker network disconnect ${network} ${holder || 'CONTAINER'}), then start the machine again`,
      );
    }
    if (isPortConflict(msg)) {
      return new MachineError(
        `starting container ${str(this.json, 'ContainerName')}: a published port on 127.0.0.1 is taken (${msg}); free it, or recreate the machine with other --docker-publish ports`,
      );
    }
    return new MachineError(`starting container ${str(this.json, 'ContainerName')}: ${msg}`);
  }

  /** The name of the running container that holds `address` on `network`, if any. */
  private async holderOf(network: string, address: string): Promise<string> {
    const n = await this.api.jsonOrNull<{
      Containers: Record<string, { Name: string; IPv4Address: string }> | null;
    }>('GET', `/networks/${encodeURIComponent(network)}`);
    return (
      Object.values(n?.Containers ?? {}).find((e) => e.IPv4Address.split('/')[0] === address)?.Name ?? ''
    );
  }

  async remove(ctx: DriverContext): Promise<void> {
    const api = this.api;
    const machineId = str(this.json, 'MachineID');
    const found = machineId ? await labelled(api, machineId) : { containers: [], volumes: [] };
    const containers = new Set([...(this.id ? [this.id] : []), ...found.containers]);
    for (const c of containers) {
      ctx.debug(`removing container ${c.slice(0, 12)}`);
      await removeContainer(api, c);
    }
    const volumes = new Set([
      ...(str(this.json, 'VolumeName') && machineId ? [str(this.json, 'VolumeName')] : []),
      ...found.volumes,
    ]);
    for (const v of volumes) {
      // Only volumes this machine made: a volume of that name without our label is someone else's.
      const vol = await api.jsonOrNull<{ Labels: Record<string, string> | null }>(
        'GET',
        `/volumes/${encodeURIComponent(v)}`,
      );
      if (vol && vol.Labels?.[LABEL_MACHINE] === machineId) await removeVolume(api, v);
    }
  }

  private async lifecycle(what: string, path: string, timeoutMs = 90_000): Promise<void> {
    if (!this.id)
      throw new MachineError(
        `machine "${this.name}" has no container (its create did not finish); remove it with rm`,
      );
    try {
      await this.api.call('POST', `/containers/${this.id}${path}`, { timeoutMs });
    } catch (err) {
      if (err instanceof EngineAPIError && err.status === 404) {
        throw new MachineError(
          `container ${this.id.slice(0, 12)} of machine "${this.name}" no longer exists on ${this.api.where}`,
        );
      }
      if (what === 'start') throw await this.startError(err);
      throw new MachineError(`${what} container ${str(this.json, 'ContainerName')}: ${errorMessage(err)}`);
    }
  }

  async start(): Promise<void> {
    await this.lifecycle('start', '/start');
  }
  async stop(): Promise<void> {
    // systemd halts on SIGRTMIN+3 (the container's stop signal): give it time to stop dockerd.
    await this.lifecycle('stop', `/stop${query({ t: 60 })}`);
  }
  async restart(): Promise<void> {
    await this.lifecycle('restart', `/restart${query({ t: 60 })}`);
  }
  async kill(): Promise<void> {
    await this.lifecycle('kill', `/kill${query({ signal: 'SIGKILL' })}`);
  }

  async getState(): Promise<MachineState> {
    if (!this.id) return 'NotFound';
    return stateOf(await inspectContainer(this.api, this.id));
  }

  async getURL(): Promise<string> {
    if ((await this.getState()) !== 'Running') throw new MachineError(ERR_HOST_NOT_RUNNING);
    // The SSH port it publishes: an SSH-only engine has no engine port on the host.
    if (sshOnlyEngine(this.json))
      return sshEngineURL({
        user: this.getSSHUsername(),
        host: '127.0.0.1',
        port: num(this.json, 'SSHPort'),
      });
    return `tcp://127.0.0.1:${num(this.json, 'EnginePort')}`;
  }

  /**
   * The machine's address on its network: the fixed one recorded at create, else (a network
   * without a configured subnet) the one the engine gave at the last start.
   */
  private async networkAddress(): Promise<string> {
    const fixed = str(this.json, 'NetworkAddress');
    if (fixed) return fixed;
    const info = this.id ? await inspectContainer(this.api, this.id) : null;
    return info?.NetworkSettings.Networks[str(this.json, 'Network')]?.IPAddress ?? '';
  }

  /** The engine listens on 2376 inside; its certificate also names the address on the network. */
  async engineEndpoint(): Promise<EngineEndpoint> {
    const ip = await this.networkAddress();
    return { port: ENGINE_PORT, certSANs: [...(ip ? [ip] : []), this.name] };
  }

  /** The container's address on its network: the other machines on that network reach it there. */
  async clusterAddress(): Promise<string> {
    const network = str(this.json, 'Network');
    const ip = await this.networkAddress();
    if (!ip) {
      throw new MachineError(
        `container ${str(this.json, 'ContainerName')} has no address on network ${network}; is the machine running?`,
      );
    }
    return ip;
  }

  getSSHUsername(): string {
    return str(this.json, 'SSHUser') || 'root';
  }
}

function driverFromFlags(base: BaseDriverFields, parsed: ParsedFlags): Driver {
  const host = flagString(parsed, 'docker-host') || 'unix:///var/run/docker.sock';
  const target = parseDockerHost(host);
  const cpus = flagString(parsed, 'docker-cpus');
  const memory = flagInt(parsed, 'docker-memory');
  const publish = flagSlice(parsed, 'docker-publish');
  publish.forEach(parsePublish);
  const diskSize = parseDiskSize(flagString(parsed, 'docker-disk-size'));
  const network = flagString(parsed, 'docker-network') || DEFAULT_NETWORK;
  const machineId = randomBytes(8).toString('hex');
  return new DockerDriver({
    ...base,
    IPAddress: '127.0.0.1',
    SSHUser: 'root',
    DockerHost: host,
    CertPath: target.socketPath ? '' : flagString(parsed, 'docker-cert-path'),
    Image: flagString(parsed, 'docker-image'),
    DebianMirror: flagString(parsed, 'docker-debian-mirror'),
    CPUs: cpus,
    Memory: memory,
    DiskSize: diskSize,
    Network: network,
    NetworkAddress: '',
    Publish: publish,
    MachineID: machineId,
    ContainerName: base.MachineName,
    VolumeName: `${base.MachineName}-docker-${machineId.slice(0, 6)}`,
    ContainerID: '',
    EnginePort: 0,
  });
}

export const dockerDriver: DriverModule = {
  name: 'docker',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new DockerDriver(mergeDriverJSON(json, {}));
  },
};
