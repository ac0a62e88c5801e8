import { readFile } from 'node:fs/promises';
import { MachineError } from '../../errors.js';
import type { DriverJSON } from '../../store/host.js';
import { num, str } from '../base.js';
import { trustedCAs } from '../cloud/trust.js';
import type { DriverContext } from '../driver.js';
import { VimClient } from './soap/client.js';
import { VimFault } from './soap/fault.js';

/** The machine's vSphere credentials; a machine of the original may keep them in the environment. */
export function username(json: DriverJSON): string {
  return str(json, 'Username') || process.env.VSPHERE_USERNAME || '';
}
export function password(json: DriverJSON): string {
  return str(json, 'Password') || process.env.VSPHERE_PASSWORD || '';
}

/** A logged-in vim25 session, opened once per command and logged out by the outermost `run`. */
export class VimSession {
  private client: VimClient | undefined;

  constructor(private readonly json: () => DriverJSON) {}

  async connect(ctx?: Pick<DriverContext, 'debug'>): Promise<VimClient> {
    if (this.client) return this.client;
    const json = this.json();
    // A machine of the original has neither setting (it never verified): the environment's, if any.
    const original = !('Insecure' in json);
    const cacert = original ? process.env.VSPHERE_CACERT || '' : str(json, 'CACert');
    let ca: string[] | undefined;
    if (cacert) {
      const pem = await readFile(cacert, 'utf8').catch(() => '');
      if (!pem.includes('BEGIN CERTIFICATE'))
        throw new MachineError(`--vmwarevsphere-cacert ${cacert} is not a readable PEM certificate file`);
      ca = [...trustedCAs(), pem];
    }
    const c = new VimClient({
      host: str(json, 'IP'),
      port: num(json, 'Port') || 443,
      insecure: original ? /^(1|true)$/i.test(process.env.VSPHERE_INSECURE ?? '') : json.Insecure === true,
      ca,
      debug: ctx?.debug,
    });
    await c.connect();
    try {
      await c.login(username(json), password(json));
    } catch (err) {
      await c.logout();
      if (err instanceof VimFault && err.code === 'InvalidLogin')
        throw new MachineError(
          `vSphere at ${c.base} refused the user name or password (--vmwarevsphere-username, --vmwarevsphere-password): ${err.apiMessage}`,
        );
      throw err;
    }
    this.client = c;
    return c;
  }

  async run<T>(ctx: Pick<DriverContext, 'debug'> | undefined, fn: (c: VimClient) => Promise<T>): Promise<T> {
    const outer = !this.client;
    const c = await this.connect(ctx);
    try {
      return await fn(c);
    } finally {
      if (outer) {
        this.client = undefined;
        await c.logout();
      }
    }
  }
}
