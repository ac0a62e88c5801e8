import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessEnd } from './cleanup.js';
import { freePort } from './ports.js';

/**
 * A real dockerd (Debian's docker.io) for tests: its own data, exec root and socket in a temp
 * folder, TLS on a loopback port. Only the pid it started is ever signalled.
 *
 * Before it stops, its containers and networks are removed: a stopped engine leaves the Linux
 * bridge of each network it made on the host, with a route that covers the network's subnet,
 * and enough of those use up every engine's default address pools on this machine.
 */
export interface Dockerd {
  url: string;
  port: number;
  pid: number;
  dir: string;
  socket: string;
  stop(): Promise<void>;
}

export function dockerdAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('sh', ['-c', 'command -v dockerd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** util-linux's setpriv, to give dockerd a parent-death signal; absent off Linux. */
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export async function startDockerd(opts: {
  /** TLS on a loopback port; without it the engine listens on its unix socket only. */
  caCertPath?: string;
  serverCertPath?: string;
  serverKeyPath?: string;
  port?: number;
  apiOnly?: boolean;
  /** A bridge of the test's own for the engine's containers (see testhost.ts). */
  bridge?: string;
  /** More dockerd flags, e.g. a --default-address-pool for the networks the test makes. */
  extraArgs?: string[];
}): Promise<Dockerd> {
  sweepKilledEngines();
  const dir = await mkdtemp(join(tmpdir(), ENGINE_DIR_PREFIX));
  // Who made this engine, and the bridges it has: what a later run removes if this process
  // is killed before it can (sweepKilledEngines).
  writeFileSync(join(dir, 'owner'), String(process.pid));
  if (opts.bridge && !opts.apiOnly) appendFileSync(join(dir, 'bridges'), `${opts.bridge}\n`);
  const tls = opts.caCertPath && opts.serverCertPath && opts.serverKeyPath;
  const port = tls ? (opts.port ?? (await freePort())) : 0;
  const socket = join(dir, 'docker.sock');
  const args = [
    '--host',
    `unix://${socket}`,
    ...(tls
      ? [
          '--host',
          `tcp://127.0.0.1:${port}`,
          '--tlsverify',
          '--tlscacert',
          opts.caCertPath!,
          '--tlscert',
          opts.serverCertPath!,
          '--tlskey',
          opts.serverKeyPath!,
        ]
      : []),
    '--data-root',
    join(dir, 'root'),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'docker.pid'),
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
  ];
  if (opts.apiOnly) args.push('--bridge=none', '--storage-driver=vfs');
  else if (opts.bridge) args.push(`--bridge=${opts.bridge}`);
  args.push(...(opts.extraArgs ?? []));
  const log = join(dir, 'dockerd.log');
  const { openSync } = await import('node:fs');
  const fd = openSync(log, 'a');
  // With a parent-death signal the engine stops (and stops its containers) even when this
  // process is killed with SIGKILL, which no handler of ours sees.
  const child = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'SIGTERM', 'dockerd', ...args], { stdio: ['ignore', fd, fd] })
    : spawn('dockerd', args, { stdio: ['ignore', fd, fd] });
  const forget = onProcessEnd(() => {
    removeLeftovers(socket);
    child.kill('SIGKILL');
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    forget();
  });

  const stop = async () => {
    if (!exited && child.pid) {
      removeLeftovers(socket);
      child.kill('SIGTERM');
      const deadline = Date.now() + 15_000;
      while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (!exited) child.kill('SIGKILL');
      const killDeadline = Date.now() + 5_000;
      while (!exited && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 50));
    }
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) break;
    if (await ping(socket)) {
      const unwatch = await recordBridges(socket, join(dir, 'bridges'));
      const stopWatching = async () => {
        unwatch();
        await stop();
      };
      return { url: `tcp://127.0.0.1:${port}`, port, pid: child.pid!, dir, socket, stop: stopWatching };
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
  await stop();
  throw new Error(`dockerd did not answer on ${socket} within 30 s; its last log lines:\n${tail}`);
}

/**
 * Remove the engine's containers (their shims outlive the engine) and the networks it made,
 * then any of those networks' bridges still on the host, by the exact names the engine gave
 * them. Synchronous, so that it also runs in a process's last moments; every call is bounded.
 */
function removeLeftovers(socket: string): void {
  const docker = (args: string[]) =>
    execFileSync('docker', ['-H', `unix://${socket}`, ...args], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    })
      .toString()
      .split('\n')
      .filter(Boolean);
  try {
    const ids = docker(['ps', '-aq']);
    if (ids.length) docker(['rm', '-f', '-v', ...ids]);
  } catch {}
  let bridges: string[] = [];
  try {
    const nets = docker(['network', 'ls', '-q', '--filter', 'type=custom', '--filter', 'driver=bridge']);
    if (nets.length) {
      bridges = docker([
        'network',
        'inspect',
        '-f',
        '{{with index .Options "com.docker.network.bridge.name"}}{{.}}{{else}}br-{{printf "%.12s" .Id}}{{end}}',
        ...nets,
      ]);
    }
    for (const n of docker(['network', 'ls', '-q', '--filter', 'type=custom'])) {
      try {
        docker(['network', 'rm', n]);
      } catch {}
    }
  } catch {}
  for (const b of bridges) {
    if (!/^[\w.-]{1,15}$/.test(b) || !existsSync(`/sys/class/net/${b}`)) continue;
    try {
      execFileSync('ip', ['link', 'del', b], { stdio: 'ignore', timeout: 10_000 });
    } catch {}
  }
}

const ENGINE_DIR_PREFIX = 'dm-dockerd-';

/**
 * Append the bridge of every network the engine makes to `file`, as the engine reports it
 * (its events), so that a later run can remove them when this process never got to.
 */
async function recordBridges(socket: string, file: string): Promise<() => void> {
  const filters = encodeURIComponent(JSON.stringify({ type: ['network'], event: ['create'] }));
  let buffered = '';
  let subscribed: () => void = () => {};
  const answered = new Promise<void>((r) => {
    subscribed = r;
  });
  const req = request({ socketPath: socket, path: `/events?filters=${filters}` }, (res) => {
    // The engine answers once it listens: no network made after this goes unrecorded.
    subscribed();
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const id = (JSON.parse(line) as { Actor?: { ID?: string } }).Actor?.ID;
          if (id)
            bridgeOf(socket, id).then(
              (b) => b && appendFileSync(file, `${b}\n`),
              () => {},
            );
        } catch {}
      }
    });
    res.on('error', () => {});
  });
  req.on('error', () => subscribed());
  // The watch alone never keeps a test process alive.
  req.on('socket', (sock) => sock.unref());
  req.end();
  await Promise.race([answered, new Promise((r) => setTimeout(r, 5000).unref())]);
  return () => req.destroy();
}

/** The Linux bridge of a bridge network: the name it was given, else br- and its id's start. */
function bridgeOf(socket: string, id: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: `/networks/${id}`, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => {
        try {
          const n = JSON.parse(body) as { Id: string; Driver: string; Options?: Record<string, string> };
          if (n.Driver !== 'bridge') return resolve(undefined);
          resolve(n.Options?.['com.docker.network.bridge.name'] || `br-${n.Id.slice(0, 12)}`);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * What engines of test processes that were killed left: their bridges (by the names recorded
 * in their folders), then the folder itself when nothing is mounted under it any more. Only
 * folders of this helper whose test process and engine have both ended are touched.
 */
function sweepKilledEngines(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(ENGINE_DIR_PREFIX));
  } catch {
    return;
  }
  const pidIn = (f: string) => {
    try {
      return Number.parseInt(readFileSync(f, 'utf8'), 10);
    } catch {
      return Number.NaN;
    }
  };
  for (const name of names) {
    const dir = join(tmpdir(), name);
    const owner = pidIn(join(dir, 'owner'));
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    const engine = pidIn(join(dir, 'docker.pid'));
    if (Number.isInteger(engine) && engine > 0 && alive(engine)) continue;
    let bridges: string[] = [];
    try {
      bridges = readFileSync(join(dir, 'bridges'), 'utf8').split('\n').filter(Boolean);
    } catch {}
    for (const b of bridges) {
      if (!/^[\w.-]{1,15}$/.test(b) || !existsSync(`/sys/class/net/${b}`)) continue;
      try {
        execFileSync('ip', ['link', 'del', b], { stdio: 'ignore', timeout: 10_000 });
      } catch {}
    }
    let mounted = true;
    try {
      mounted = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .some((l) => (l.split(' ')[4] ?? '').startsWith(`${dir}/`));
    } catch {}
    if (mounted) {
      rmSync(join(dir, 'bridges'), { force: true });
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}
