import { chmod, copyFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorMessage, MachineError } from '../../errors.js';
import { hostOrIP, sshUser, tcpPort } from '../../flags/checks.js';
import type { FlagDef, ParsedFlags } from '../../flags/def.js';
import { flagInt, flagString } from '../../flags/def.js';
import { ipVersion } from '../../ip.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { mergeDriverJSON, num, str } from '../base.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import { ERR_HOST_NOT_RUNNING } from '../driver.js';

/**
 * The `generic` driver: an existing Linux server reached by SSH. Nothing is created or removed;
 * the server's state is whether its SSH port answers.
 */
const flags: FlagDef[] = [
  {
    name: 'generic-engine-port',
    kind: 'int',
    default: 2376,
    envVar: 'GENERIC_ENGINE_PORT',
    usage: 'Docker engine port',
    check: tcpPort,
  },
  {
    name: 'generic-ip-address',
    kind: 'string',
    envVar: 'GENERIC_IP_ADDRESS',
    usage: 'IP Address of machine',
    check: hostOrIP,
  },
  {
    name: 'generic-ssh-user',
    kind: 'string',
    default: 'root',
    envVar: 'GENERIC_SSH_USER',
    usage: 'SSH user',
    check: sshUser,
  },
  {
    name: 'generic-ssh-key',
    kind: 'string',
    envVar: 'GENERIC_SSH_KEY',
    usage: 'SSH private key path (if not provided, default SSH key will be used)',
  },
  {
    name: 'generic-ssh-port',
    kind: 'int',
    default: 22,
    envVar: 'GENERIC_SSH_PORT',
    usage: 'SSH port',
    check: tcpPort,
  },
];

/** How long a state query waits for the SSH port (the original's 15 s). */
const STATE_DIAL_MS = 15_000;

class GenericDriver implements Driver {
  readonly driverName = 'generic';
  private json: DriverJSON;

  constructor(json: DriverJSON) {
    this.json = json;
  }

  toJSON(): DriverJSON {
    return this.json;
  }

  private get machineDir(): string {
    return join(str(this.json, 'StorePath'), 'machines', str(this.json, 'MachineName'));
  }

  async preCreateCheck(): Promise<void> {
    const key = str(this.json, 'SSHKey');
    if (!key) return;
    const { privateKeyProblem } = await import('../../ssh/key-file.js');
    const problem = await privateKeyProblem(key);
    if (problem) throw new MachineError(problem);
  }

  async create(ctx: DriverContext): Promise<void> {
    const key = str(this.json, 'SSHKey');
    if (!key) {
      ctx.log('No SSH key specified. Assuming an existing key at the default location.');
      return;
    }
    ctx.log('Importing SSH key...');
    const dest = join(this.machineDir, keyFileName(key));
    try {
      await copyFile(key, dest);
      await chmod(dest, 0o600);
    } catch (err) {
      throw new MachineError(`unable to copy ssh key: ${errorMessage(err)}`);
    }
    this.json = { ...this.json, SSHKeyPath: dest };
    try {
      await copyFile(`${key}.pub`, `${dest}.pub`);
      await chmod(`${dest}.pub`, 0o600);
    } catch (err) {
      ctx.log(`Couldn't copy SSH public key : ${errorMessage(err)}`);
    }
    await ctx.save();
  }

  async remove(): Promise<void> {}

  async start(): Promise<void> {
    throw new MachineError('generic driver does not support start');
  }
  async stop(): Promise<void> {
    throw new MachineError('generic driver does not support stop');
  }
  async kill(): Promise<void> {
    throw new MachineError('generic driver does not support kill');
  }
  /**
   * Reboots the server over SSH and returns once it has booted again. The original returned as
   * soon as `shutdown` did, while the server was still up, so what followed raced the reboot.
   */
  async restart(ctx: DriverContext): Promise<void> {
    const before = await rebootOverSSH(ctx, this.sudo);
    await ctx.waitFor(
      `machine "${str(this.json, 'MachineName')}" to reboot (a new boot id, or ${REBOOT_MARKER} gone)`,
      async () => {
        const now = await bootMark(ctx);
        if (now.bootId === before && now.marker) throw new Error('still up in the same boot');
      },
    );
  }

  private get sudo(): string {
    const user = str(this.json, 'SSHUser');
    return user === 'root' || user === '' ? '' : 'sudo ';
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    const port = num(this.json, 'SSHPort') || 22;
    // Earlier versions saved any --generic-ssh-port; Node's socket would throw a RangeError.
    if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) {
      throw new MachineError(`SSHPort ${port} in config.json is not a TCP port (1-65535)`);
    }
    const ok = await dial(str(this.json, 'IPAddress'), port, STATE_DIAL_MS, signal);
    return ok ? 'Running' : 'Stopped';
  }

  async getURL(signal?: AbortSignal): Promise<string> {
    if ((await this.getState(signal)) !== 'Running') throw new MachineError(ERR_HOST_NOT_RUNNING);
    const ip = str(this.json, 'IPAddress');
    const host = ipVersion(ip) === 6 ? `[${ip}]` : ip;
    return `tcp://${host}:${num(this.json, 'EnginePort') || 2376}`;
  }

  async getIP(): Promise<string> {
    return str(this.json, 'IPAddress');
  }
  /** The server's own address: the one the other servers reach it at. */
  async clusterAddress(): Promise<string> {
    return str(this.json, 'IPAddress');
  }
  async getSSHHostname(): Promise<string> {
    return str(this.json, 'IPAddress');
  }
  async getSSHPort(): Promise<number> {
    return num(this.json, 'SSHPort') || 22;
  }
  getSSHUsername(): string {
    return str(this.json, 'SSHUser');
  }
  getSSHKeyPath(): string {
    return str(this.json, 'SSHKeyPath');
  }
}

/**
 * Proof of a reboot: the kernel's boot id changes, and /run (a tmpfs) loses the marker left there
 * before the reboot. The marker covers hosts that are containers, which share the boot id of the
 * machine they run on.
 */
const REBOOT_MARKER = '/run/docker-machine-restart';
const BOOT_ID = '/proc/sys/kernel/random/boot_id';
const REBOOTING = 'docker-machine: rebooting';

/** Leaves the marker and asks for a reboot, in one round trip; resolves to the old boot id. */
async function rebootOverSSH(ctx: DriverContext, sudo: string): Promise<string> {
  const ssh = await ctx.ssh();
  let out = '';
  let failure = '';
  // The session dies with the server: once the reboot has begun, a dropped session is success.
  let dropped = false;
  try {
    const r = await ssh.run(
      `cat ${BOOT_ID} && ${sudo}touch ${REBOOT_MARKER} && echo '${REBOOTING}' && { ${sudo}shutdown -r now || ${sudo}reboot; }`,
      { timeoutMs: 30_000 },
    );
    out = r.stdout;
    dropped = r.code === 255;
    if (r.code !== 0) failure = `exit status ${r.code}: ${(r.stderr || r.stdout).trim()}`;
  } catch (err) {
    dropped = true;
    failure = errorMessage(err);
  } finally {
    await ssh.close().catch(() => {});
  }
  if (!out.includes(REBOOTING) || (failure && !dropped)) {
    throw new MachineError(`Error restarting the machine over SSH: ${failure || 'no reboot was started'}`);
  }
  ctx.debug(`reboot requested${failure ? ` (session ended: ${failure})` : ''}`);
  return out.split('\n')[0].trim();
}

async function bootMark(ctx: DriverContext): Promise<{ bootId: string; marker: boolean }> {
  const ssh = await ctx.ssh();
  try {
    const r = await ssh.run(`cat ${BOOT_ID}; test -e ${REBOOT_MARKER} && echo marker || echo none`, {
      timeoutMs: 15_000,
    });
    const [bootId, marker] = r.stdout.trim().split('\n');
    if (r.code !== 0 || !marker) throw new Error(`boot check returned ${r.code}: ${r.stderr.trim()}`);
    return { bootId: bootId.trim(), marker: marker.trim() === 'marker' };
  } finally {
    await ssh.close().catch(() => {});
  }
}

/** Files of a machine's folder that a copied key must not replace. */
const MACHINE_FILES = /^(config\.json.*|(ca|cert|key|server|server-key)\.pem|known_hosts.*)$/;

/**
 * The key's name in the machine's folder: its own, as the original kept it, unless that is the
 * name of one of the machine's files (a key called key.pem would be overwritten by the client key).
 */
export function keyFileName(key: string): string {
  const name = basename(key);
  return MACHINE_FILES.test(name) ? `ssh-${name}` : name;
}

/** Whether a TCP connection to host:port opens within the time. */
async function dial(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const sock = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      sock.destroy();
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.once('timeout', () => done(false));
  });
}

export const genericDriver: DriverModule = {
  name: 'generic',
  flags,
  fromFlags(base: BaseDriverFields, parsed: ParsedFlags): Driver {
    const ip = flagString(parsed, 'generic-ip-address');
    if (ip === '') throw new MachineError('generic driver requires the --generic-ip-address option');
    return new GenericDriver({
      ...base,
      IPAddress: ip,
      SSHUser: flagString(parsed, 'generic-ssh-user'),
      SSHPort: flagInt(parsed, 'generic-ssh-port'),
      EnginePort: flagInt(parsed, 'generic-engine-port'),
      SSHKey: flagString(parsed, 'generic-ssh-key'),
    });
  },
  fromJSON(json: DriverJSON): Driver {
    return new GenericDriver(mergeDriverJSON(json, {}));
  },
};
