import { MachineError } from '../../errors.js';
import { engineURL } from '../../flags/checks.js';
import type { FlagDef, ParsedFlags } from '../../flags/def.js';
import { flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { mergeDriverJSON, str } from '../base.js';
import type { Driver, DriverModule, MachineState } from '../driver.js';

/**
 * The `none` driver: a machine that is only an engine URL. Nothing is created or removed, the
 * state is always Running, and the lifecycle commands explain that they cannot act.
 */
const flags: FlagDef[] = [
  { name: 'url', kind: 'string', usage: 'URL of host when no driver is selected', check: engineURL },
];

class NoneDriver implements Driver {
  readonly driverName = 'none';
  private json: DriverJSON;

  constructor(json: DriverJSON) {
    this.json = json;
  }

  toJSON(): DriverJSON {
    return this.json;
  }
  async preCreateCheck(): Promise<void> {}
  async create(): Promise<void> {}
  async remove(): Promise<void> {}
  async start(): Promise<void> {
    throw new MachineError('hosts without a driver cannot be started');
  }
  async stop(): Promise<void> {
    throw new MachineError('hosts without a driver cannot be stopped');
  }
  async restart(): Promise<void> {
    throw new MachineError('hosts without a driver cannot be restarted');
  }
  async kill(): Promise<void> {
    throw new MachineError('hosts without a driver cannot be killed');
  }
  async getState(): Promise<MachineState> {
    return 'Running';
  }
  async getURL(): Promise<string> {
    return str(this.json, 'URL');
  }
  async getIP(): Promise<string> {
    return str(this.json, 'IPAddress');
  }
  async getSSHHostname(): Promise<string> {
    return '';
  }
  async getSSHPort(): Promise<number> {
    return 0;
  }
  getSSHUsername(): string {
    return '';
  }
  getSSHKeyPath(): string {
    return '';
  }
}

/** url.Parse(u).Host as Go computes it: the authority without user info, port included. */
export function urlHostPort(raw: string): string {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(raw);
  if (!m) return '';
  const authority = m[1];
  const at = authority.lastIndexOf('@');
  return at >= 0 ? authority.slice(at + 1) : authority;
}

export const noneDriver: DriverModule = {
  name: 'none',
  flags,
  fromFlags(base: BaseDriverFields, parsed: ParsedFlags): Driver {
    const url = flagString(parsed, 'url');
    if (url === '') throw new MachineError('--url option is required when no driver is selected');
    const json: DriverJSON = { ...base, IPAddress: urlHostPort(url), URL: url };
    return new NoneDriver(json);
  },
  fromJSON(json: DriverJSON): Driver {
    return new NoneDriver(mergeDriverJSON(json, {}));
  },
};
