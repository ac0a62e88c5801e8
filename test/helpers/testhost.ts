import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makePartialDir, partialFile, removeLeftoversOf, removePartial } from '../../src/cache/partial.js';
import { buildOnce } from './build-once.js';
import { onProcessEnd } from './cleanup.js';
import { type Dockerd, startDockerd } from './dockerd.js';
import { freePort } from './ports.js';

/**
 * Test hosts that behave like real servers: Debian containers running systemd, sshd and (for the
 * "already runs Docker" case) dockerd, on an engine and a bridge of the test's own, reached only
 * through ports published on 127.0.0.1 (../shared/TESTING.md).
 */
const run = promisify(execFile);

const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
const BASE_PACKAGES = [
  'openssh-server',
  'iproute2',
  'ca-certificates',
  'sudo',
  'procps',
  'systemd',
  'systemd-sysv',
  'dbus',
  'curl',
  // scp --delta runs rsync on the machine.
  'rsync',
];

const DAEMON_JSON = '{ "iptables": false, "ip-forward": false }\n';

export function testHostsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('sh', ['-c', 'command -v dockerd && command -v debootstrap && command -v ip'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

export function cacheDir(): string {
  return process.env.DM_TEST_CACHE || join(tmpdir(), 'docker-machine-test-cache');
}

/**
 * A Debian root file system as a tarball, built once per recipe with debootstrap from Debian's
 * mirror (the only registry these machines reach) and cached by the recipe's hash.
 */
export async function hostRootfs(
  opts: { withDocker: boolean },
  log: (s: string) => void = () => {},
): Promise<string> {
  const packages = [...BASE_PACKAGES, ...(opts.withDocker ? ['docker.io'] : [])];
  const recipe = JSON.stringify({ v: 2, suite: SUITE, packages, daemonJson: DAEMON_JSON });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const tarball = join(dir, `debian-${SUITE}-${hash}.tar`);
  // Builds of killed test runs: removed once their process is gone (cache/partial.ts).
  await removeLeftoversOf(tarball);
  if (existsSync(tarball)) return tarball;
  await buildOnce(tarball, () => buildRootfs(tarball, hash, packages, log), {
    what: `test host root file system ${hash}`,
    log,
  });
  return tarball;
}

async function buildRootfs(
  tarball: string,
  hash: string,
  packages: string[],
  log: (s: string) => void,
): Promise<void> {
  const root = await makePartialDir(tarball);
  const tmp = partialFile(tarball);
  try {
    log(`building test host root file system ${hash} with debootstrap (${packages.length} packages)...`);
    await run('debootstrap', ['--variant=minbase', `--include=${packages.join(',')}`, SUITE, root, MIRROR], {
      maxBuffer: 64 * 1024 * 1024,
    });
    // Test hosts reach nothing: no apt sources, so a stray `apt-get update` fails at once.
    await writeFile(join(root, 'etc/apt/sources.list'), '');
    await run('chroot', [root, 'systemctl', 'enable', 'ssh']);
    // In a container /proc/sys is read-only, so the host's engine must not try to turn on IP
    // forwarding or write iptables rules; test hosts reach nothing outside their bridge anyway.
    mkdirSync(join(root, 'etc/docker'), { recursive: true });
    await writeFile(join(root, 'etc/docker/daemon.json'), DAEMON_JSON);
    mkdirSync(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
    await run('tar', ['-C', root, '-cf', tmp, '.'], { maxBuffer: 16 * 1024 * 1024 });
    renameSync(tmp, tarball);
  } finally {
    await removePartial(root);
    await rm(tmp, { force: true });
  }
}

/** An engine for test hosts, with a bridge of its own so that it disturbs nothing else. */
export interface HostEngine {
  dockerd: Dockerd;
  bridge: string;
  /** The bridge's own address: test hosts reach servers of the test there. */
  gateway: string;
  docker(args: string[], opts?: { input?: string }): Promise<string>;
  stop(): Promise<void>;
}

export async function startHostEngine(opts: { dockerdArgs?: string[] } = {}): Promise<HostEngine> {
  const bridge = `dmtb${randomBytes(3).toString('hex')}`;
  const subnet = 100 + Math.floor(Math.random() * 100);
  execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
  try {
    execFileSync('ip', ['addr', 'add', `172.30.${subnet}.1/24`, 'dev', bridge]);
    execFileSync('ip', ['link', 'set', bridge, 'up']);
    const dropBridge = onProcessEnd(() => execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' }));
    const dockerd = await startDockerd({ bridge, extraArgs: opts.dockerdArgs });
    const docker = async (args: string[]) => {
      const { stdout } = await run('docker', ['-H', `unix://${dockerd.socket}`, ...args], {
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    };
    return {
      dockerd,
      bridge,
      gateway: `172.30.${subnet}.1`,
      docker,
      async stop() {
        await dockerd.stop();
        dropBridge();
        execFileSync('ip', ['link', 'del', bridge]);
      },
    };
  } catch (err) {
    execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    throw err;
  }
}

export async function importHostImage(engine: HostEngine, tarball: string, tag: string): Promise<string> {
  await engine.docker(['import', '-c', 'CMD ["/lib/systemd/systemd"]', tarball, tag]);
  return tag;
}

export interface TestHost {
  id: string;
  sshPort: number;
  /** Extra container ports, published on 127.0.0.1 under the same number. */
  ports: number[];
  exec(cmd: string): Promise<string>;
  stop(): Promise<void>;
}

/** A running host: systemd as PID 1, sshd on 22 published at 127.0.0.1:sshPort. */
export async function startTestHost(
  engine: HostEngine,
  image: string,
  opts: {
    authorizedKey: string;
    extraPorts?: number;
    /** For tests that reboot the host: a reboot ends the container, the engine starts it again. */
    restartAlways?: boolean;
    /** A network of the engine's own and the address on it (a cloud fake's private address). */
    network?: { name: string; ip: string };
  },
): Promise<TestHost> {
  const sshPort = await freePort();
  const ports: number[] = [];
  for (let i = 0; i < (opts.extraPorts ?? 0); i++) ports.push(await freePort());
  const keyDir = await mkdtemp(join(tmpdir(), 'dm-hostkey-'));
  await writeFile(join(keyDir, 'authorized_keys'), opts.authorizedKey, { mode: 0o600 });
  const id = (
    await engine.docker([
      'run',
      '-d',
      '--cap-add=ALL',
      '--cap-drop=SYS_RESOURCE',
      '--security-opt',
      'seccomp=unconfined',
      '--security-opt',
      'apparmor=unconfined',
      '--device-cgroup-rule=a *:* rwm',
      '-v',
      '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '--tmpfs',
      '/run',
      '--tmpfs',
      '/run/lock',
      '-v',
      '/var/lib/docker',
      '--dns',
      '127.0.0.1',
      ...(opts.restartAlways ? ['--restart=always'] : []),
      ...(opts.network ? ['--network', opts.network.name, '--ip', opts.network.ip] : []),
      '-v',
      `${join(keyDir, 'authorized_keys')}:/root/.ssh/authorized_keys:ro`,
      '-p',
      `127.0.0.1:${sshPort}:22`,
      ...ports.flatMap((p) => ['-p', `127.0.0.1:${p}:${p}`]),
      image,
    ])
  ).trim();
  // Containers outlive a killed engine (their shims keep running): remove this one by id.
  const forget = onProcessEnd(() =>
    execFileSync('docker', ['-H', `unix://${engine.dockerd.socket}`, 'rm', '-f', '-v', id], {
      stdio: 'ignore',
    }),
  );
  const host: TestHost = {
    id,
    sshPort,
    ports,
    exec: (cmd) => engine.docker(['exec', id, 'sh', '-c', cmd]),
    async stop() {
      forget();
      await engine.docker(['rm', '-f', '-v', id]).catch(() => '');
      await rm(keyDir, { recursive: true, force: true });
    },
  };
  // Bounded wait for systemd to start sshd.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await host.exec('systemctl is-active ssh || true').catch(() => '');
    if (state.trim() === 'active') return host;
    if (Date.now() > deadline) {
      const logs = await engine.docker(['logs', '--tail', '20', id]).catch(() => '');
      await host.stop();
      throw new Error(`test host ${id.slice(0, 12)}: sshd not active after 60 s; last output:\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
