import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessEnd } from './cleanup.js';
import { freePort } from './ports.js';

/**
 * A real dockerd (Debian's docker.io) for tests: its own data, exec root and socket in a temp
 * folder, TLS on a loopback port. Only the pid it started is ever signalled.
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
  const dir = await mkdtemp(join(tmpdir(), 'dm-dockerd-'));
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
  const child = spawn('dockerd', args, { stdio: ['ignore', fd, fd], detached: false });
  const forget = onProcessEnd(() => child.kill('SIGKILL'));
  let exited = false;
  child.once('exit', () => {
    exited = true;
    forget();
  });

  const stop = async () => {
    if (!exited && child.pid) {
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
      return { url: `tcp://127.0.0.1:${port}`, port, pid: child.pid!, dir, socket, stop };
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
  await stop();
  throw new Error(`dockerd did not answer on ${socket} within 30 s; its last log lines:\n${tail}`);
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
