import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { partialFile, removeLeftoversOf } from '../../src/cache/partial.js';
import { buildOnce } from './build-once.js';
import { onProcessEnd, sweepKilledDirs } from './cleanup.js';
import { cacheDir } from './testhost.js';

/**
 * govmomi's vCenter simulator for the vmwarevsphere driver's tests: a Go main of our own
 * (test/fakes/vsphere/vcsim/main.go) built offline from Debian's golang-go and
 * golang-github-vmware-govmomi-dev (scripts/build-vcsim.sh), cached in the test cache by a hash
 * of its source and of the Go and govmomi versions, and run on loopback with TLS and a login of
 * the test's own. Its guests report the addresses the test chooses (a test host's), as VMware
 * Tools would, when their VM powers on; its power events let a test start or stop that host.
 */
const run = promisify(execFile);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'test/fakes/vsphere/vcsim/main.go');
const BUILD = join(ROOT, 'scripts/build-vcsim.sh');
const GOVMOMI = 'golang-github-vmware-govmomi-dev';
const DIR_PREFIX = 'dm-vcsim-';

/** Why the simulator cannot be built here, or false when it can: a test's `skip` option. */
export function vcsimSkipReason(): string | false {
  if (!goVersion())
    return 'needs Debian golang-go (apt-get install golang-go golang-github-vmware-govmomi-dev)';
  if (!govmomiVersion()) return `needs Debian ${GOVMOMI} (apt-get install golang-go ${GOVMOMI})`;
  return false;
}

export function vcsimAvailable(): boolean {
  return vcsimSkipReason() === false;
}

function goVersion(): string | undefined {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function govmomiVersion(): string | undefined {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax
    const out = execFileSync('dpkg-query', ['-W', '-f=${Status} ${Version}', GOVMOMI], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const m = /install ok installed (\S+)/.exec(out);
    return m?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The simulator's executable, built once per source and toolchain (about a minute cold on two
 * busy cores), whoever asks first; concurrent askers wait for that build.
 */
export async function buildVcsim(log: (line: string) => void = () => {}): Promise<string> {
  const reason = vcsimSkipReason();
  if (reason) throw new Error(`cannot build the vCenter simulator: it ${reason}`);
  const key = createHash('sha256')
    .update(readFileSync(MAIN))
    .update(readFileSync(BUILD))
    .update(`${goVersion()}\n${govmomiVersion()}`)
    .digest('hex')
    .slice(0, 12);
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const target = join(dir, `vcsim-${key}`);
  await removeLeftoversOf(target);
  await buildOnce(
    target,
    async () => {
      const tmp = partialFile(target);
      log(`building the vCenter simulator ${key} with go (offline)...`);
      const started = Date.now();
      try {
        await run(BUILD, [tmp], {
          env: { ...process.env, GOCACHE: join(dir, 'go-build') },
          maxBuffer: 16 * 1024 * 1024,
        });
        renameSync(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true });
        const e = err as { stderr?: string; message: string };
        throw new Error(`building the vCenter simulator failed: ${(e.stderr || e.message).trim()}`);
      }
      log(`built the vCenter simulator in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
    { what: 'the vCenter simulator', log },
  );
  return target;
}

export interface VcsimInventory {
  datacenter: string;
  hosts: string[];
  /** Cluster shape only. */
  cluster?: string;
  /** The child pool, relative to the cluster ("Resources/DC0_C0_RP1"); cluster shape only. */
  pool?: string;
  datastores: string[];
  /** The datastore cluster holding every datastore; cluster shape only. */
  datastoreCluster?: string;
  /** "VM Network", the distributed port groups. */
  networks: string[];
  templates: string[];
  vmFolder?: string;
  /** Each datastore's folder on this machine: a VM's files are in DIR/VMNAME/. */
  datastoreDirs: Record<string, string>;
}

/** A VM's life as the simulator saw it. `poweredOn` carries the addresses its guest reported. */
export interface VcsimEvent {
  event: 'created' | 'renamed' | 'poweredOn' | 'poweredOff' | 'suspended' | 'destroyed';
  vm: string;
  /** The managed object id, e.g. vm-42. */
  id: string;
  ips?: string[];
  /** renamed: the former name. */
  from?: string;
  /** poweredOn: the VM's ExtraConfig (cloud-init's guestinfo.* among it), for a test host to act on. */
  extraConfig?: Record<string, string>;
}

export interface VcsimVm {
  name: string;
  id: string;
  powerState: 'poweredOn' | 'poweredOff' | 'suspended';
  template: boolean;
  /** What its guest reports now (guest.net), empty when off or without Tools. */
  ips: string[];
  cpus: number;
  memoryMB: number;
  /** Each disk's capacity in KB, in device order. */
  disksKB: number[];
  /** Names of its networks and datastores. */
  networks: string[];
  datastores: string[];
  /** Names of its folder, resource pool and host. */
  folder: string;
  pool: string;
  host: string;
  /** ExtraConfig (guestinfo.* and --vmwarevsphere-cfgparam keys); a key set twice has its last value. */
  extraConfig: Record<string, string>;
}

export interface VcsimOptions {
  /**
   * host: DC0 with one standalone host DC0_H0 and datastore LocalDS_0 (DefaultResourcePool has
   * one answer). cluster: DC0 with cluster DC0_C0 of two hosts, pool Resources/DC0_C0_RP1 and
   * datastore cluster DC0_POD0 holding LocalDS_0 and LocalDS_1. Both have "VM Network" and the
   * distributed port group DC0_DVPG0.
   */
  shape?: 'host' | 'cluster';
  /** Template VMs to make (one 1 GiB disk, one vmxnet3 NIC on VM Network). */
  templates?: string[];
  /** A folder to make under DC0's vm folder. */
  vmFolder?: string;
  /** Addresses for VMs that power on with none set by setGuestIp, in order, one per VM for good. */
  ipPool?: string[];
  username?: string;
  password?: string;
  log?: (line: string) => void;
}

export interface Vcsim {
  /** https://127.0.0.1:PORT/sdk */
  url: string;
  host: string;
  port: number;
  username: string;
  password: string;
  /** The server certificate's SHA-1 thumbprint, AA:BB:... as vSphere shows it. */
  thumbprint: string;
  /** The self-signed server certificate (for 127.0.0.1 and localhost), to trust it as a CA. */
  caPem: string;
  inventory: VcsimInventory;
  pid: number;
  /** The simulator's own folder (its TMPDIR; the datastores' folders are inside), removed by close. */
  dir: string;
  /** Every event so far, oldest first; it grows as events arrive. */
  events: VcsimEvent[];
  /** Called with each event as it arrives; returns a function that stops it. */
  onEvent(listener: (e: VcsimEvent) => void): () => void;
  /** The first event (already seen or still to come) matching `match`; rejects after timeoutMs. */
  waitForEvent(match: (e: VcsimEvent) => boolean, timeoutMs?: number): Promise<VcsimEvent>;
  /**
   * What the guest of VM `vm` (by name) reports from its next power-on: ips[i] on its NIC i,
   * with tools running. Applied at once when it is already on. An empty list takes it back.
   */
  setGuestIp(vm: string, ips: string | string[]): Promise<{ applied: boolean }>;
  /** Replace the pool of addresses for VMs powering on with none set. */
  setIpPool(ips: string[]): Promise<void>;
  /** Every VM as the simulator holds it (not through the SOAP API under test), by name. */
  vms(): Promise<VcsimVm[]>;
  /** Stop the simulator (its own pid only) and remove its files. */
  close(): Promise<void>;
}

interface Header {
  url: string;
  control: string;
  thumbprint: string;
  caPem: string;
  inventory: VcsimInventory;
  pid: number;
}

/** The create flags that reach `sim` as its own user, trusting its certificate as given (insecure). */
export function vcsimFlags(sim: Vcsim): string[] {
  return [
    '--vmwarevsphere-vcenter',
    sim.host,
    '--vmwarevsphere-vcenter-port',
    String(sim.port),
    '--vmwarevsphere-username',
    sim.username,
    '--vmwarevsphere-password',
    sim.password,
    '--vmwarevsphere-insecure',
  ];
}

export async function startVcsim(opts: VcsimOptions = {}): Promise<Vcsim> {
  const log = opts.log ?? (() => {});
  const bin = await buildVcsim(log);
  sweepKilledDirs(DIR_PREFIX);
  // The simulator keeps each datastore in a folder under TMPDIR: one of ours, so that what a
  // killed run leaves is found (by its owner file) and removed by the next.
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  writeFileSync(join(dir, 'owner'), String(process.pid));
  const username = opts.username ?? 'dm-test@vsphere.local';
  const password = opts.password ?? `pw-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`;
  const args = ['-shape', opts.shape ?? 'host'];
  if (opts.templates?.length) args.push('-templates', opts.templates.join(','));
  if (opts.vmFolder) args.push('-vm-folder', opts.vmFolder);
  if (opts.ipPool?.length) args.push('-ip-pool', opts.ipPool.join(','));
  // The simulator ends when its stdin closes, so it also ends when this process is killed.
  const child = spawn(bin, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: dir, VCSIM_USERNAME: username, VCSIM_PASSWORD: password },
  });
  const forget = onProcessEnd(() => {
    child.kill('SIGKILL');
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      forget();
      resolve();
    }),
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderr = (stderr + s).slice(-8000);
  });

  const events: VcsimEvent[] = [];
  const listeners = new Set<(e: VcsimEvent) => void>();
  let header: Header | undefined;
  const headerReady = new Promise<Header>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        log(`vcsim: ${line}`);
        return;
      }
      if (!header) {
        header = msg as Header;
        resolve(header);
        return;
      }
      const e = msg as VcsimEvent;
      events.push(e);
      for (const l of listeners) l(e);
    });
    void exit.then(() =>
      reject(new Error(`the vCenter simulator exited before it served: ${stderr.trim()}`)),
    );
  });

  const close = async () => {
    if (!exited) {
      child.stdin!.end();
      const stopped = await Promise.race([exit.then(() => true), sleep(10_000).then(() => false)]);
      if (!stopped) {
        child.kill('SIGKILL');
        await Promise.race([exit, sleep(5_000)]);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  let h: Header;
  try {
    h = await Promise.race([
      headerReady,
      sleep(60_000).then(() => {
        throw new Error(`the vCenter simulator did not start within 60 s: ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    await close();
    throw err;
  }
  const url = new URL(h.url);
  const control = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    controlCall(h.control, method, path, body);

  return {
    url: h.url,
    host: url.hostname,
    port: Number(url.port),
    username,
    password,
    thumbprint: h.thumbprint,
    caPem: h.caPem,
    inventory: h.inventory,
    pid: child.pid!,
    dir,
    events,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForEvent(match, timeoutMs = 30_000) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(
              `no such vCenter simulator event within ${timeoutMs} ms; events: ${JSON.stringify(events)}`,
            ),
          );
        }, timeoutMs);
        const listener = (e: VcsimEvent) => {
          if (!match(e)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(e);
        };
        listeners.add(listener);
      });
    },
    async setGuestIp(vm, ips) {
      return (await control('POST', '/ip', { vm, ips: typeof ips === 'string' ? [ips] : ips })) as {
        applied: boolean;
      };
    },
    async setIpPool(ips) {
      await control('POST', '/ip-pool', { ips });
    },
    async vms() {
      return (await control('GET', '/vms')) as VcsimVm[];
    },
    close,
  };
}

/**
 * What cloud-init's VMware datasource reads from a VM's ExtraConfig (a poweredOn event's, or
 * vms()'), decoded as it decodes it: guestinfo.userdata / .metadata / .vendordata, each with an
 * optional .encoding of base64 (b64) or gzip+base64 (gz+b64); the older
 * guestinfo.cloud-init.config.data with guestinfo.cloud-init.data.encoding stands for user-data
 * when guestinfo.userdata is absent. A test host standing in for the guest takes its keys from it.
 */
export function guestinfoData(extraConfig: Record<string, string>): {
  userData?: string;
  metaData?: string;
  vendorData?: string;
} {
  const read = (key: string, encodingKey = `${key}.encoding`): string | undefined => {
    const value = extraConfig[key];
    if (value === undefined) return undefined;
    const encoding = (extraConfig[encodingKey] ?? '').trim().toLowerCase();
    if (encoding === '') return value;
    if (encoding === 'base64' || encoding === 'b64') return Buffer.from(value, 'base64').toString('utf8');
    if (encoding === 'gzip+base64' || encoding === 'gz+b64')
      return gunzipSync(Buffer.from(value, 'base64')).toString('utf8');
    throw new Error(`${encodingKey} is ${encoding}: cloud-init knows base64, b64, gzip+base64 and gz+b64`);
  };
  return {
    userData:
      read('guestinfo.userdata') ??
      read('guestinfo.cloud-init.config.data', 'guestinfo.cloud-init.data.encoding'),
    metaData: read('guestinfo.metadata'),
    vendorData: read('guestinfo.vendordata'),
  };
}

function controlCall(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      { method, headers: data ? { 'content-type': 'application/json' } : {}, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`vCenter simulator control ${path}: ${res.statusCode} ${text.trim()}`));
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new Error(`vCenter simulator control ${path}: not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`vCenter simulator control ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(data);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
