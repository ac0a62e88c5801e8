import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSSHKeyPair } from '../../src/ssh/keys.js';
import { onProcessEnd } from './cleanup.js';
import { freePort } from './ports.js';

/** A real OpenSSH sshd on a loopback port, for the current (root) user, with its own keys. */
export interface Sshd {
  host: string;
  port: number;
  user: string;
  /** An authorized client key (PKCS#1 RSA, as docker-machine writes them). */
  keyPath: string;
  dir: string;
  pid: number;
  /** Lines of sshd's log so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export function sshdAvailable(): boolean {
  return existsSync('/usr/sbin/sshd') && process.getuid?.() === 0;
}

export async function startSshd(
  opts: {
    port?: number;
    dir?: string;
    newHostKey?: boolean;
    /** Every session runs this instead of the client's command (spec Appendix A). */
    forceCommand?: string;
  } = {},
): Promise<Sshd> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'dm-sshd-')));
  const port = opts.port ?? (await freePort());
  const hostKey = join(dir, 'host_ed25519');
  if (opts.newHostKey || !existsSync(hostKey)) {
    await rm(hostKey, { force: true });
    await rm(`${hostKey}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  }
  const keyPath = join(dir, 'id_rsa');
  if (!existsSync(keyPath)) {
    const { publicLine } = await generateSSHKeyPair(keyPath);
    await writeFile(join(dir, 'authorized_keys'), publicLine, { mode: 0o600 });
  }
  await writeFile(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'LogLevel INFO',
      ...(opts.forceCommand ? [`ForceCommand ${opts.forceCommand}`] : []),
      '',
    ].join('\n'),
  );
  // sshd insists on its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const logPath = join(dir, 'sshd.log');
  const log = () => readFile(logPath, 'utf8').catch(() => '');
  // A restart appends to the same log: only what this sshd writes counts as its readiness.
  const offset = (await log()).length;
  const fd = openSync(logPath, 'a');
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', fd, fd],
  });
  const forget = onProcessEnd(() => child.kill('SIGKILL'));
  let exited = false;
  child.once('exit', () => {
    exited = true;
    forget();
  });
  const deadline = Date.now() + 10_000;
  while (!(await log()).slice(offset).includes('Server listening')) {
    if (exited || Date.now() > deadline) throw new Error(`sshd did not start:\n${await log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    keyPath,
    dir,
    pid: child.pid!,
    log,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const until = Date.now() + 5000;
        while (!exited && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        if (!exited) child.kill('SIGKILL');
      }
    },
  };
}
