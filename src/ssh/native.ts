import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { errnoText, MachineError } from '../errors.js';
import {
  describeTarget,
  type ExecResult,
  type RunOptions,
  type SSHClient,
  type SSHTarget,
} from './client.js';
import { fingerprint } from './keys.js';
import { blobType, pinKey, pinnedKeys } from './known-hosts.js';

/**
 * One logged-in ssh2 connection to the target, its host key checked against the machine's
 * known_hosts (pinned on first contact unless `strict`, which refuses a host with no pin).
 */
export async function openNative(
  target: SSHTarget,
  opts: { connectTimeoutMs?: number; strict?: boolean } = {},
): Promise<Client> {
  const { Client: SSH2Client } = await import('ssh2');
  return new Promise<Client>((resolve, reject) => {
    const c = new SSH2Client();
    let hostKeyError: MachineError | undefined;
    let toPin: Buffer | undefined;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: opts.connectTimeoutMs ?? 10_000,
      keepaliveInterval: 60_000,
      hostVerifier: (key: Buffer) => {
        const offered = `${blobType(key)} ${key.toString('base64')}`;
        const pinned = pinnedKeys(target.knownHostsPath, target.host, target.port);
        if (pinned.length === 0 && !opts.strict) {
          toPin = key;
          return true;
        }
        if (pinned.length === 0) {
          hostKeyError = new MachineError(
            `SSH host key for [${target.host}]:${target.port} is not pinned in ${target.knownHostsPath}; 'docker-machine ssh' to the machine once pins it`,
          );
          return false;
        }
        if (pinned.includes(offered)) return true;
        hostKeyError = new MachineError(
          `SSH host key for [${target.host}]:${target.port} changed: expected ${pinned.map(fingerprint).join(' or ')}, got ${fingerprint(offered)}; if the machine was re-created on purpose, remove ${target.knownHostsPath} and retry`,
        );
        return false;
      },
      ...credentials(target),
    };
    // Nagle's algorithm holds each small packet of a command (channel open, exec, stdin, EOF)
    // until the last is acknowledged, and the server delays its acknowledgements: tens of ms
    // a command. OpenSSH turns it off for interactive sessions; so does this.
    c.once('connect', () => c.setNoDelay(true));
    c.once('ready', async () => {
      if (toPin) await pinKey(target.knownHostsPath, target.host, target.port, toPin);
      resolve(c);
    });
    // `on`, not `once`: a connection that drops (a rebooting server) can emit several errors,
    // and an unhandled one would end the process; after the first, reject is a no-op.
    c.on('error', (err: Error & { code?: string; level?: string }) => {
      reject(hostKeyError ?? translate(target, err));
    });
    // A socket that closes during the handshake can end with neither 'ready' nor 'error'.
    c.once('close', () =>
      reject(
        hostKeyError ??
          new MachineError(`ssh: connection to ${target.host} port ${target.port} closed before login`),
      ),
    );
    c.connect(config);
  });
}

/**
 * The built-in client (ssh2, loaded only when used): one connection for every command of a run,
 * host keys pinned in the machine's known_hosts exactly as the external ssh pins them.
 */
export async function nativeClient(
  target: SSHTarget,
  opts: { connectTimeoutMs?: number } = {},
): Promise<SSHClient> {
  let conn: Promise<Client> | undefined;
  const connect = () => openNative(target, opts);

  const client: SSHClient = {
    async run(command: string, ro: RunOptions = {}): Promise<ExecResult> {
      conn ??= connect();
      const c = await conn.catch((err) => {
        conn = undefined;
        throw err;
      });
      return new Promise((resolve, reject) => {
        // The timer and the close handler come before exec: a connection that dies before the
        // channel opens never calls exec's callback, and with nothing pending Node would exit 0
        // in the middle of the command.
        let stream: ClientChannel | undefined;
        const timer = ro.timeoutMs
          ? setTimeout(() => {
              stream?.close();
              done();
              reject(
                new MachineError(
                  `ssh to ${describeTarget(target)}: "${command}" did not finish within ${ro.timeoutMs! / 1000} s`,
                ),
              );
            }, ro.timeoutMs)
          : undefined;
        const onClose = () => {
          conn = undefined;
          done();
          reject(new MachineError(`ssh: connection to ${target.host} port ${target.port} closed`));
        };
        const done = () => {
          clearTimeout(timer);
          c.off('close', onClose);
        };
        c.once('close', onClose);
        c.exec(command, (err, ch) => {
          if (err) {
            done();
            return reject(new MachineError(`ssh to ${describeTarget(target)}: ${err.message}`));
          }
          stream = ch;
          let stdout = '';
          let stderr = '';
          ch.on('data', (d: Buffer) => (stdout += d));
          ch.stderr.on('data', (d: Buffer) => (stderr += d));
          ch.on('close', (code: number | null) => {
            done();
            resolve({ code: code ?? 255, stdout, stderr });
          });
          ch.end(ro.input ?? '');
        });
      });
    },
    async attach(command: string | null, _tty: boolean): Promise<number> {
      if (command === null) {
        throw new MachineError('an interactive login needs the system ssh client (run without --native-ssh)');
      }
      const r = await client.run(command, {});
      // A reader that went away (`ssh m cmd | head -1`) is no failure of the command: its exit
      // status is still the remote one. Unheard, the stream's EPIPE would end the process.
      for (const out of [process.stdout, process.stderr]) {
        out.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code !== 'EPIPE') throw e;
        });
      }
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    },
    async close() {
      const c = await conn?.catch(() => undefined);
      c?.end();
    },
  };
  return client;
}

function credentials(t: SSHTarget): Partial<ConnectConfig> {
  if (t.keyPath) {
    try {
      return { privateKey: readFileSync(t.keyPath) };
    } catch (err) {
      throw new MachineError(`cannot read SSH key ${t.keyPath}: ${errnoText(err)}`);
    }
  }
  // No key given: the user's agent, else the usual default keys, as ssh would try them.
  if (process.env.SSH_AUTH_SOCK) return { agent: process.env.SSH_AUTH_SOCK };
  for (const f of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    try {
      return { privateKey: readFileSync(join(homedir(), '.ssh', f)) };
    } catch {}
  }
  return {};
}

function translate(t: SSHTarget, err: Error & { code?: string; level?: string }): MachineError {
  const where = `${t.host} port ${t.port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return new MachineError(`ssh: connect to ${where}: connection refused`);
    case 'ETIMEDOUT':
      return new MachineError(`ssh: connect to ${where}: connection timed out`);
    case 'EHOSTUNREACH':
      return new MachineError(`ssh: connect to ${where}: no route to host`);
  }
  if (err.level === 'client-authentication') {
    return new MachineError(
      `SSH authentication failed for ${describeTarget(t)} with ${t.keyPath ? `key ${t.keyPath}` : 'your default keys'}`,
    );
  }
  if (/Timed out while waiting for handshake/.test(err.message)) {
    return new MachineError(`ssh: connect to ${where}: connection timed out`);
  }
  return new MachineError(`ssh: connection to ${where} failed: ${err.message}`);
}
