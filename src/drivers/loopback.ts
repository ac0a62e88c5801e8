import { createConnection, createServer } from 'node:net';
import { errorMessage, MachineError } from '../errors.js';
import type { DriverJSON } from '../store/host.js';
import { num, str } from './base.js';
import type { Driver } from './driver.js';

/**
 * What drivers whose machines are reached through ports on 127.0.0.1 (containers, VMs behind
 * user networking) need: free ports, taken ports, whether sshd behind a port has answered, and
 * the SSH accessors that follow from the address.
 */

/**
 * The driver JSON and SSH accessors of such a driver. This host reaches the machine only through
 * a forward (a published port, QEMU's hostfwd), so IP and SSH host are 127.0.0.1 and the port is
 * the forward saved as SSHPort. The login user stays with each driver: its default is the image's.
 */
export abstract class LoopbackDriver
  implements Pick<Driver, 'toJSON' | 'getIP' | 'getSSHHostname' | 'getSSHPort' | 'getSSHKeyPath'>
{
  protected json: DriverJSON;

  constructor(json: DriverJSON) {
    this.json = json;
  }

  toJSON(): DriverJSON {
    return this.json;
  }

  async getIP(): Promise<string> {
    return '127.0.0.1';
  }
  async getSSHHostname(): Promise<string> {
    return '127.0.0.1';
  }
  async getSSHPort(): Promise<number> {
    return num(this.json, 'SSHPort');
  }
  getSSHKeyPath(): string {
    return str(this.json, 'SSHKeyPath');
  }
}

/** A port free on 127.0.0.1 now: bind to 0, read it, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Whether something already listens on 127.0.0.1:port (tcp). */
export async function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

/**
 * Resolves when an SSH server's banner arrives on host:port. QEMU's user-mode forward accepts a
 * connection before the guest listens, so a connect alone says nothing; the banner does.
 */
export function sshBanner(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host, port });
    let got = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(got.split('\r\n')[0]);
    };
    const timer = setTimeout(() => done(new Error(`no SSH banner within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      got += d;
      if (got.includes('\n')) {
        if (got.startsWith('SSH-')) done();
        else done(new Error(`not an SSH server: ${JSON.stringify(got.slice(0, 40))}`));
      }
    });
    sock.on('error', (err) => done(err));
    sock.on('close', () =>
      done(new Error(got ? 'connection closed mid-banner' : 'connection closed without a banner')),
    );
  });
}

/**
 * Resolves when an SSH server greets on 127.0.0.1:port within `budgetMs` (tried every 100 ms).
 * A published port accepts connections before sshd runs (the engine's proxy takes them and
 * closes them), so only the server's `SSH-` banner counts.
 */
export async function awaitSSHBanner(port: number, budgetMs: number): Promise<void> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    try {
      await sshBanner('127.0.0.1', port, Math.max(100, deadline - Date.now()));
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw new MachineError(errorMessage(err));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
