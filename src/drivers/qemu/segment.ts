/**
 * The shared L2 segment of a store's qemu machines, so that they reach each other (swarm).
 * qemu's socket netdevs are point to point, so a hub process forwards frames between them
 * (segment-hub.ts). Order for a machine:
 *   create:  allocateSegmentAddress (address, MAC, localPort: record them)
 *   start:   ensureSegment -> start qemu with the segment NIC -> joinSegment with qemu's pid
 *   stop:    nothing (the hub sees the qemu gone)
 *   rm:      leaveSegment (releases the address; the hub ends once no member VM lives)
 * Every function takes the store's cache folder (${storePath}/cache); the state is in
 * segmentDir(storeCacheDir) = ${storePath}/cache/qemu/segment.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MachineError } from '../../errors.js';
import { processRuns } from '../../process-alive.js';
import { writeFileAtomic } from '../../store/atomic.js';
import { withFileLock } from '../../store/lock.js';
import { askHub, type HubStatus, pingHub, RESCAN } from './segment-control.js';
import {
  hostOf,
  type MemberRecord,
  macForHost,
  paths,
  qemuAlive,
  readMembers,
  SEGMENT_SUBNET,
  segmentDir,
  segmentLock,
  validMemberName,
} from './segment-members.js';

export type { HubStatus } from './segment-control.js';
export { type MemberRecord, SEGMENT_SUBNET, segmentDir } from './segment-members.js';

export interface SegmentAddress {
  /** Address and prefix, e.g. 10.251.0.2/24, as `ip addr add` and systemd-networkd's Address= take it. */
  address: string;
  /** The address alone, e.g. 10.251.0.2. */
  ip: string;
  /** MAC for the segment NIC (-device virtio-net-pci,mac=...). */
  mac: string;
  /** UDP port on 127.0.0.1 for the machine's qemu (localaddr=), unique among the store's machines. */
  localPort: number;
}

export interface EnsureOptions {
  /** Idle time after which a hub started now ends itself (default 30 s). */
  idleMs?: number;
  /**
   * The program (default: this process's own, process.execPath), the arguments that make it run
   * the hub entry, and the folder to run them in (default: defaultHubCommand()).
   */
  hubCommand?: HubCommand;
  /** Where waiting for the segment's lock is reported. */
  log?: (line: string) => void;
}

const START_TIMEOUT_MS = 15_000;
const LOG_LIMIT = 1024 * 1024;

export interface HubCommand {
  program?: string;
  args: string[];
  cwd?: string;
}

declare const __DM_SEGMENT_HUB__: string | undefined;
declare const __DM_SEGMENT_HUB_ARG__: string | undefined;

/**
 * How to run the hub entry: the single-file executable runs itself with the hub's argument
 * (src/main-standalone.ts); the Node build runs the file beside its bundle; from source, the
 * TypeScript entry under tsx, from the source tree's root so that `--import tsx` resolves.
 */
export function defaultHubCommand(): HubCommand {
  if (typeof __DM_SEGMENT_HUB_ARG__ === 'string') return { args: [__DM_SEGMENT_HUB_ARG__] };
  if (typeof __DM_SEGMENT_HUB__ === 'string') return { args: [join(__dirname, __DM_SEGMENT_HUB__)] };
  // Only reached from source: the bundles define import.meta.url away (scripts/build.mjs).
  const here = fileURLToPath(new URL('.', import.meta.url));
  return { args: ['--import', 'tsx', join(here, 'segment-hub-main.ts')], cwd: join(here, '..', '..', '..') };
}

/**
 * Make sure the store's hub runs, starting it when none answers, and say where it listens.
 * Call it right before starting qemu: a hub that no member holds ends idleMs after the last ping.
 */
export async function ensureSegment(
  storeCacheDir: string,
  opts: EnsureOptions = {},
): Promise<{ hubPort: number; dir: string }> {
  const dir = segmentDir(storeCacheDir);
  await mkdir(paths.members(dir), { recursive: true, mode: 0o700 });
  return withFileLock(paths.lock(dir), segmentLock('starting its hub', opts.log), async () => {
    const running = await runningHub(dir);
    if (running !== undefined) return { hubPort: running, dir };
    return { hubPort: await startHub(dir, opts), dir };
  });
}

/** The running hub's status (endpoints, learned MACs, frame count), or undefined when none answers. */
export async function segmentStatus(storeCacheDir: string): Promise<HubStatus | undefined> {
  const port = await runningHub(segmentDir(storeCacheDir));
  return port === undefined ? undefined : pingHub(port);
}

/** Every machine holding an address on the store's segment. */
export function segmentMembers(storeCacheDir: string): Promise<MemberRecord[]> {
  return readMembers(segmentDir(storeCacheDir));
}

/** The port of the hub running for this folder, if one runs and answers. */
async function runningHub(dir: string): Promise<number | undefined> {
  const pid = await readNumber(paths.pid(dir));
  const port = await readNumber(paths.port(dir));
  if (pid === undefined || port === undefined || !processRuns(pid)) return undefined;
  const status = await pingHub(port, 1000);
  return status?.pid === pid ? port : undefined;
}

async function startHub(dir: string, opts: EnsureOptions): Promise<number> {
  const previousPort = await readNumber(paths.port(dir));
  await rotateLog(paths.log(dir));
  const command = opts.hubCommand ?? defaultHubCommand();
  const args = [...command.args, dir];
  if (previousPort !== undefined) args.push('--port', String(previousPort));
  if (opts.idleMs !== undefined) args.push('--idle-ms', String(opts.idleMs));
  const logFd = openSync(paths.log(dir), 'a', 0o600);
  let exited: string | undefined;
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(command.program ?? process.execPath, args, {
      cwd: command.cwd ?? dir,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  child.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `exit code ${code}`));
  child.once('error', (err) => (exited = err.message));
  child.unref();

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && exited === undefined) {
    const pid = await readNumber(paths.pid(dir));
    const port = await readNumber(paths.port(dir));
    if (pid === child.pid && port !== undefined) {
      const status = await pingHub(port, 1000);
      if (status?.pid === pid) return port;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (exited === undefined && child.pid !== undefined) {
    // Ours, started just now, and not answering: end it rather than leave it behind.
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }
  const tail = (await readFile(paths.log(dir), 'utf8').catch(() => ''))
    .trim()
    .split('\n')
    .slice(-3)
    .join(' | ');
  throw new MachineError(
    `The qemu network segment hub did not start (${exited ?? `no answer within ${START_TIMEOUT_MS / 1000} s`})${tail ? `: ${tail}` : ''}; see ${paths.log(dir)}`,
  );
}

/**
 * The machine's address, MAC and vmPort on the segment: the recorded ones when it has them,
 * else the lowest free address, recorded under the lock so that parallel creates never share one.
 * Until the machine joins, this process keeps the hub from ending.
 */
export async function allocateSegmentAddress(
  storeCacheDir: string,
  machineName: string,
): Promise<SegmentAddress> {
  checkName(machineName);
  const dir = segmentDir(storeCacheDir);
  await mkdir(paths.members(dir), { recursive: true, mode: 0o700 });
  return withFileLock(
    paths.lock(dir),
    segmentLock(`choosing the address of machine ${machineName}`),
    async () => {
      const members = await readMembers(dir);
      const others = members.filter((m) => m.name !== machineName);
      const otherPorts = new Set(others.map((m) => m.vmPort));
      const own = members.find((m) => m.name === machineName);
      let rec: MemberRecord;
      if (own) {
        rec = { ...own };
        // Keep the port unless it was taken meanwhile (by anything but this machine's own qemu).
        if (otherPorts.has(rec.vmPort) || (!qemuAlive(rec) && !(await udpPortFree(rec.vmPort)))) {
          rec.vmPort = await freeUdpPort(otherPorts);
        }
      } else {
        const used = new Set(others.map((m) => hostOf(m.ip)));
        let host: number = SEGMENT_SUBNET.firstHost;
        while (host <= SEGMENT_SUBNET.lastHost && used.has(host)) host++;
        if (host > SEGMENT_SUBNET.lastHost) {
          throw new MachineError(
            `The qemu network segment of this store has no free address (${used.size} machines hold one); remove machines you no longer need`,
          );
        }
        rec = {
          name: machineName,
          ip: `${SEGMENT_SUBNET.prefix}.${host}`,
          mac: macForHost(host),
          vmPort: await freeUdpPort(otherPorts),
        };
      }
      if (!qemuAlive(rec)) {
        rec.ownerPid = process.pid;
        rec.ownerSince = Date.now();
      }
      await writeFileAtomic(paths.member(dir, machineName), `${JSON.stringify(rec)}\n`, 0o600);
      return toAddress(rec);
    },
  );
}

/** Record that the machine's qemu (pid) now sends from vmPort; the hub floods to it from now on. */
export async function joinSegment(
  storeCacheDir: string,
  machineName: string,
  vm: { vmPort: number; qemuPid: number },
): Promise<void> {
  checkName(machineName);
  const dir = segmentDir(storeCacheDir);
  await withFileLock(paths.lock(dir), segmentLock(`recording machine ${machineName} on it`), async () => {
    const own = (await readMembers(dir)).find((m) => m.name === machineName);
    if (!own) {
      throw new MachineError(
        `Machine ${machineName} has no address on the qemu network segment (${paths.member(dir, machineName)} is missing); remove the machine and create it again`,
      );
    }
    const rec: MemberRecord = {
      name: own.name,
      ip: own.ip,
      mac: own.mac,
      vmPort: vm.vmPort,
      qemuPid: vm.qemuPid,
    };
    await writeFileAtomic(paths.member(dir, machineName), `${JSON.stringify(rec)}\n`, 0o600);
  });
  await pokeHub(dir);
}

/** Release the machine's address (rm). Nothing to do when it has none. */
export async function leaveSegment(storeCacheDir: string, machineName: string): Promise<void> {
  checkName(machineName);
  const dir = segmentDir(storeCacheDir);
  await withFileLock(paths.lock(dir), segmentLock(`releasing the address of machine ${machineName}`), () =>
    rm(paths.member(dir, machineName), { force: true }),
  );
  await pokeHub(dir);
}

/** Tell a running hub to read the members folder now rather than at its next check. */
async function pokeHub(dir: string): Promise<void> {
  const port = await readNumber(paths.port(dir));
  const pid = await readNumber(paths.pid(dir));
  if (port !== undefined && pid !== undefined && processRuns(pid)) await askHub(port, RESCAN, 500);
}

function toAddress(r: MemberRecord): SegmentAddress {
  return { address: `${r.ip}/${SEGMENT_SUBNET.prefixLength}`, ip: r.ip, mac: r.mac, localPort: r.vmPort };
}

function checkName(name: string): void {
  if (!validMemberName(name)) throw new MachineError(`Invalid machine name for the qemu segment: ${name}`);
}

async function readNumber(file: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

async function rotateLog(file: string): Promise<void> {
  try {
    if ((await stat(file)).size > LOG_LIMIT) await rename(file, `${file}.1`);
  } catch {}
}

/** A UDP port on 127.0.0.1 that binds right now and is none of `exclude`. */
async function freeUdpPort(exclude: Set<number>): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await bindProbe(0);
    if (port !== undefined && !exclude.has(port)) return port;
  }
  throw new MachineError('No free UDP port on 127.0.0.1 for the qemu network segment');
}

async function udpPortFree(port: number): Promise<boolean> {
  return (await bindProbe(port)) !== undefined;
}

/** Bind 127.0.0.1:port exclusively and let go; the bound port, or undefined when it is taken. */
function bindProbe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}
