import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MachineError } from '../errors.js';
import {
  describeTarget,
  type ExecResult,
  type RunOptions,
  type SSHClient,
  type SSHTarget,
} from './client.js';
import { fingerprint } from './keys.js';
import { pinnedKeys } from './known-hosts.js';
import { optionArgs, sshOptions, sshPath } from './options.js';

/**
 * The system `ssh` binary, as the original used it by default, with two fixes: host keys are
 * pinned on first contact in the machine's own known_hosts (the original ignored them), and one
 * master connection carries every command of a run (the original connected once per command).
 */
export function externalClient(target: SSHTarget, opts: { connectTimeoutMs?: number } = {}): SSHClient {
  const controlDir = mkdtempSync(join(tmpdir(), 'dm-ssh-'));
  const base = [
    '-F',
    '/dev/null',
    ...optionArgs([
      ...sshOptions(target, opts),
      ['ControlMaster', 'auto'],
      ['ControlPath', sshPath(join(controlDir, 'cm'))],
      ['ControlPersist', '60'],
    ]),
    '-p',
    String(target.port),
    `${target.user}@${target.host}`,
  ];

  return {
    run: (command: string, ro: RunOptions = {}) => runSSH(target, [...base, '--', command], ro),
    async attach(command: string | null, tty: boolean) {
      // Open the master connection first: a refused key or a changed host key then fails with
      // our one-line error instead of ssh's banner on the user's terminal, and the session
      // itself reuses the connection.
      // ConnectTimeout bounds the TCP connect and the banner; authentication and the first
      // command on a loaded host (a VM under software emulation) take longer, so the whole
      // opening gets a wider bound.
      await runSSH(target, [...base, '--', 'true'], { timeoutMs: 3 * (opts.connectTimeoutMs ?? 10_000) });
      const args = [...(tty ? ['-t'] : []), ...base, ...(command === null ? [] : ['--', command])];
      return new Promise<number>((resolve, reject) => {
        const child = spawn('ssh', args, { stdio: 'inherit' });
        child.on('error', (err) => reject(new MachineError(`cannot run ssh: ${err.message}`)));
        child.on('close', (code) => resolve(code ?? 255));
      });
    },
    async close() {
      await runSSH(target, ['-O', 'exit', ...base], { timeoutMs: 5000 }).catch(() => {});
      rmSync(controlDir, { recursive: true, force: true });
    },
  };
}

function runSSH(target: SSHTarget, args: string[], opts: RunOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
          reject(
            new MachineError(
              `ssh to ${describeTarget(target)}: no answer within ${opts.timeoutMs! / 1000} s`,
            ),
          );
        }, opts.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new MachineError(`cannot run ssh: ${err.message}; install an OpenSSH client or use --native-ssh`),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const failure = code === 255 ? connectionFailure(target, stderr) : undefined;
      if (failure) reject(failure);
      else resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** ssh's own failures (exit 255 with its messages) as one clear line; undefined for a remote 255. */
export function connectionFailure(t: SSHTarget, stderr: string): MachineError | undefined {
  const where = `${t.host} port ${t.port}`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/.test(stderr)) {
    const got = /(SHA256:[A-Za-z0-9+/]+)/.exec(stderr)?.[1] ?? 'a different key';
    return new MachineError(
      `SSH host key for [${t.host}]:${t.port} changed: expected ${pinnedFingerprints(t).join(' or ') || 'the pinned key'}, got ${got}; if the machine was re-created on purpose, remove ${t.knownHostsPath} and retry`,
    );
  }
  if (/Connection refused/i.test(stderr))
    return new MachineError(`ssh: connect to ${where}: connection refused`);
  if (/timed out/i.test(stderr)) return new MachineError(`ssh: connect to ${where}: connection timed out`);
  if (/No route to host/i.test(stderr)) return new MachineError(`ssh: connect to ${where}: no route to host`);
  if (/Permission denied/i.test(stderr)) {
    return new MachineError(
      `SSH authentication failed for ${describeTarget(t)} with ${t.keyPath ? `key ${t.keyPath}` : 'your default keys'}`,
    );
  }
  if (/Connection closed|Connection reset|kex_exchange_identification/i.test(stderr)) {
    return new MachineError(`ssh: connection to ${where} closed: ${stderr.trim().split('\n').pop()}`);
  }
  return undefined;
}

function pinnedFingerprints(t: SSHTarget): string[] {
  return pinnedKeys(t.knownHostsPath, t.host, t.port).map(fingerprint);
}
