import { randomBytes } from 'node:crypto';
import { chmod, copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { bool, mergeDriverJSON, num, str } from '../base.js';
import type { CloudConnection } from '../cloud/connection.js';
import { CloudDriver } from '../cloud/driver.js';
import { isGone } from '../cloud/errors.js';
import { md5Fingerprint } from '../cloud/key-fingerprint.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import type { ServerStatus } from '../cloud/wait.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import * as api from './api.js';
import { doConnection } from './connection.js';
import { doctlToken } from './credentials.js';
import { DEFAULT_API_URL, flags } from './flags.js';
import { machineState, publicIPv4 } from './state.js';

/**
 * The `digitalocean` driver: a droplet made from a slug (or numeric) image, reached as root over
 * SSH at its public IPv4. What it makes (its account SSH key, the droplet, the droplet's own tag)
 * is in the ledger; rm deletes those and nothing a user made (a key given by fingerprint, the
 * user's --digitalocean-tags).
 */

/** DigitalOcean documents no poll interval; 3 s keeps a fleet of 20 near its 250 requests/minute. */
const POLL_MS = 3000;
/** How long a power action may take before we stop waiting for it. */
const ACTION_TIMEOUT_MS = 5 * 60_000;
const MAX_USER_DATA = 64 * 1024;
const TAG_RE = /^[a-zA-Z0-9_\-:]{1,255}$/;

class DigitalOceanDriver extends CloudDriver {
  readonly driverName = 'digitalocean';
  protected readonly provider = 'DigitalOcean';
  protected readonly serverNoun = 'droplet';
  protected readonly pollIntervalMs = POLL_MS;
  private conn: CloudConnection | undefined;
  private activeDroplet: api.Droplet | undefined;

  private api(ctx?: Pick<DriverContext, 'debug' | 'signal'>): CloudConnection {
    if (ctx) return doConnection({ endpoint: this.endpoint, token: this.token(), ctx });
    this.conn ??= doConnection({ endpoint: this.endpoint, token: this.token() });
    return this.conn;
  }

  private get endpoint(): string {
    return str(this.json, 'APIURL') || DEFAULT_API_URL;
  }

  /** The token from config.json (given by flag or env at create), else the environment, else doctl's. */
  private token(): string {
    const t = str(this.json, 'AccessToken') || process.env.DIGITALOCEAN_ACCESS_TOKEN || doctlToken();
    if (!t) {
      throw new MachineError(
        "digitalocean driver requires the --digitalocean-access-token option (or DIGITALOCEAN_ACCESS_TOKEN, or a token in doctl's config file: doctl auth init)",
      );
    }
    return t;
  }

  private get dropletId(): string {
    const id = num(this.json, 'DropletID');
    return id ? String(id) : '';
  }

  protected serverLabel(): string {
    const id = this.dropletId;
    return `droplet ${str(this.json, 'DropletName')}${id ? ` (id ${id})` : ''}`;
  }

  private userTags(): string[] {
    return str(this.json, 'Tags')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
  }

  /** Everything the droplet needs exists and is allowed, before anything is made. */
  async preCreateCheck(ctx: DriverContext): Promise<void> {
    const name = str(this.json, 'DropletName');
    const bad = hostnameProblem(name);
    if (bad)
      throw new MachineError(
        `DigitalOcean refuses the droplet name ${name}: ${bad}; choose another machine name`,
      );
    for (const t of this.userTags()) {
      if (!TAG_RE.test(t)) {
        throw new MachineError(
          `--digitalocean-tags: ${t} is not a tag DigitalOcean accepts (letters, digits, _, - and :, at most 255)`,
        );
      }
    }
    const userData = str(this.json, 'UserDataFile');
    if (userData) {
      const st = await stat(userData).catch(() => undefined);
      if (!st?.isFile()) throw new MachineError(`user-data file ${userData} could not be found`);
      if (st.size > MAX_USER_DATA)
        throw new MachineError(
          `user-data file ${userData} is ${st.size} bytes; DigitalOcean takes at most 64 KiB`,
        );
    }
    const fingerprint = str(this.json, 'SSHKeyFingerprint');
    const keyPath = str(this.json, 'SSHKey');
    if (keyPath) {
      if (!fingerprint)
        throw new MachineError('ssh-key-fingerprint needs to be provided for "--digitalocean-ssh-key-path"');
      if (!(await stat(keyPath).catch(() => undefined)))
        throw new MachineError(`SSH key does not exist: ${keyPath}`);
    }

    const c = this.api(ctx);
    const acct = await api.account(c);
    if (acct.status && acct.status !== 'active') {
      throw new MachineError(
        `DigitalOcean account is ${acct.status}, not active: droplets cannot be created`,
      );
    }
    const count = await api.dropletCount(c);
    if (count >= acct.droplet_limit) {
      throw new MachineError(
        `DigitalOcean account has ${count} droplets of its limit of ${acct.droplet_limit}; remove one or ask DigitalOcean for a higher limit`,
      );
    }
    const regionSlug = str(this.json, 'Region');
    const [regions, sizes] = await Promise.all([api.regions(c), api.sizes(c)]);
    const region = regions.find((r) => r.slug === regionSlug);
    if (!region) {
      throw new MachineError(
        `region ${regionSlug} does not exist; regions: ${regions
          .map((r) => r.slug)
          .sort()
          .join(', ')}`,
      );
    }
    if (!region.available)
      throw new MachineError(
        `region ${regionSlug} takes no new droplets now; choose another --digitalocean-region`,
      );
    const sizeSlug = str(this.json, 'Size');
    const size = sizes.find((s) => s.slug === sizeSlug);
    if (!size)
      throw new MachineError(`size ${sizeSlug} does not exist; see GET /v2/sizes or doctl compute size list`);
    if (!size.available || !region.sizes.includes(sizeSlug)) {
      throw new MachineError(
        `size ${sizeSlug} is not available in region ${regionSlug}; choose another --digitalocean-size or --digitalocean-region`,
      );
    }
    const imageRef = str(this.json, 'Image');
    const img = await api.image(c, imageRef).catch((err) => {
      if (isGone(err)) {
        throw new MachineError(
          `image ${imageRef} does not exist; give a slug from doctl compute image list-distribution (e.g. ubuntu-24-04-x64) or a numeric image id`,
        );
      }
      throw err;
    });
    if (img.regions.length > 0 && !img.regions.includes(regionSlug)) {
      throw new MachineError(
        `image ${imageRef} is not available in region ${regionSlug} (it is in ${img.regions.join(', ')})`,
      );
    }
    const vpc = str(this.json, 'VPCUUID');
    if (vpc) {
      const v = await c
        .get<{ vpc: { region: string } }>(`/v2/vpcs/${encodeURIComponent(vpc)}`)
        .catch((err) => {
          if (isGone(err)) throw new MachineError(`VPC ${vpc} does not exist in this account`);
          throw err;
        });
      if (v.vpc.region !== regionSlug)
        throw new MachineError(`VPC ${vpc} is in region ${v.vpc.region}, not ${regionSlug}`);
    }
    if (fingerprint) {
      await api.keyByFingerprint(c, fingerprint).catch((err) => {
        if (isGone(err))
          throw new MachineError(`no SSH key with fingerprint ${fingerprint} in this DigitalOcean account`);
        throw err;
      });
    }
  }

  protected async createKey(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = this.api(ctx);
    const dir = join(str(this.json, 'StorePath'), 'machines', this.machineName);
    const fingerprint = str(this.json, 'SSHKeyFingerprint');
    if (fingerprint) {
      // The user's own key: used, never deleted.
      const key = await api.keyByFingerprint(c, fingerprint);
      const given = str(this.json, 'SSHKey');
      if (given) {
        const dest = join(dir, 'id_rsa');
        await copyFile(given, dest);
        await chmod(dest, 0o600);
        await copyFile(`${given}.pub`, `${dest}.pub`).catch(() => {});
        this.set({ SSHKeyPath: dest });
      }
      this.set({ SSHKeyID: key.id });
      await ctx.save();
      return;
    }
    const { generateSSHKeyPair } = await import('../../ssh/keys.js');
    const keyPath = join(dir, 'id_rsa');
    const { publicLine } = await generateSSHKeyPair(keyPath);
    this.set({ SSHKeyPath: keyPath });
    const fp = md5Fingerprint(publicLine);
    const entry = await ledger.intend(
      'ssh_key',
      { by: 'fingerprint', value: fp },
      `SSH key ${this.machineName}`,
    );
    const key = await api.createKey(c, this.machineName, publicLine.trim());
    await ledger.made(entry, String(key.id));
    this.set({ SSHKeyID: key.id, SSHKeyFingerprint: '' });
    await ctx.save();
    ctx.log(`SSH key ${this.machineName} added to the account (id ${key.id})`);
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = this.api(ctx);
    const tag = str(this.json, 'MachineTag');
    const userDataFile = str(this.json, 'UserDataFile');
    const vpc = str(this.json, 'VPCUUID');
    const image = str(this.json, 'Image');
    const req: api.DropletRequest = {
      name: str(this.json, 'DropletName'),
      region: str(this.json, 'Region'),
      size: str(this.json, 'Size'),
      image: /^\d+$/.test(image) ? Number(image) : image,
      ssh_keys: [num(this.json, 'SSHKeyID')],
      backups: bool(this.json, 'Backups'),
      ipv6: bool(this.json, 'IPv6'),
      monitoring: bool(this.json, 'Monitoring'),
      tags: [...this.userTags(), tag],
      ...(userDataFile ? { user_data: await readFile(userDataFile, 'utf8') } : {}),
      ...(vpc ? { vpc_uuid: vpc } : bool(this.json, 'PrivateNetworking') ? { private_networking: true } : {}),
    };
    // The droplet's own tag is made with it: both are found by it if the answer never arrives.
    const tagEntry = await ledger.intend('tag', { by: 'name', value: tag }, `tag ${tag}`);
    const entry = await ledger.intend('droplet', { by: 'tag', value: tag }, `droplet ${req.name}`);
    const d = await api.createDroplet(c, req);
    await ledger.made(entry, String(d.id));
    await ledger.made(tagEntry, tag);
    this.set({ DropletID: d.id });
    await ctx.save();
  }

  protected async serverStatus(signal?: AbortSignal): Promise<ServerStatus> {
    const d = await api.getDroplet(this.api({ debug: () => {}, signal }), this.dropletId);
    // The answer that said active carries the address: the next step reads it from there.
    this.activeDroplet = d.status === 'active' ? d : undefined;
    return {
      state: d.status,
      running: d.status === 'active',
      failed: d.status === 'archive' ? 'it is archived' : undefined,
    };
  }

  protected async serverAddress(ctx: DriverContext): Promise<string> {
    const d = this.activeDroplet ?? (await api.getDroplet(this.api(ctx), this.dropletId));
    const ip = publicIPv4(d);
    if (!ip) throw new MachineError(`${this.serverLabel()} is active but has no public IPv4 address`);
    this.set({ PrivateIPAddress: d.networks?.v4?.find((n) => n.type === 'private')?.ip_address ?? '' });
    return ip;
  }

  /** With private networking, the other machines of a swarm reach this one on the VPC. */
  async clusterAddress(): Promise<string> {
    return str(this.json, 'PrivateIPAddress') || this.getIP();
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    const c = this.api(ctx);
    const none = (err: unknown): string[] => {
      if (isGone(err)) return [];
      throw err;
    };
    return {
      ssh_key: {
        lookup: (f) => api.keyByFingerprint(c, f.value).then((k) => [String(k.id)], none),
        delete: (id) => api.deleteKey(c, id),
        byHand: (id) => `doctl compute ssh-key delete ${id}`,
      },
      droplet: {
        lookup: (f) => api.dropletsTagged(c, f.value).then((ds) => ds.map((d) => String(d.id))),
        delete: (id) => api.deleteDroplet(c, id),
        byHand: (id) => `doctl compute droplet delete ${id}`,
      },
      tag: {
        lookup: (f) => c.get(`/v2/tags/${encodeURIComponent(f.value)}`).then(() => [f.value], none),
        delete: (id) => api.deleteTag(c, id),
        byHand: (id) => `doctl compute tag delete ${id}`,
      },
    };
  }

  /** A power action, waited for until DigitalOcean says it completed. */
  private async power(ctx: DriverContext, type: string): Promise<void> {
    const id = this.dropletId;
    if (!id)
      throw new MachineError(
        `machine "${this.machineName}" has no droplet (its create did not finish); remove it with rm`,
      );
    const c = this.api(ctx);
    let action = await api.dropletAction(c, id, type);
    const started = Date.now();
    while (action.status === 'in-progress') {
      if (Date.now() - started > ACTION_TIMEOUT_MS) {
        throw new MachineError(
          `${type} of ${this.serverLabel()} still in progress after ${ACTION_TIMEOUT_MS / 1000} s (action ${action.id})`,
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
      action = await api.getAction(c, action.id);
    }
    if (action.status !== 'completed')
      throw new MachineError(`${type} of ${this.serverLabel()} ${action.status} (action ${action.id})`);
  }

  async start(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'power_on');
  }
  async stop(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'shutdown');
  }
  async restart(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'reboot');
  }
  async kill(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'power_off');
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    const id = this.dropletId;
    if (!id) return 'NotFound';
    try {
      return machineState(
        (await api.getDroplet(this.api(signal ? { debug: () => {}, signal } : undefined), id)).status,
      );
    } catch (err) {
      if (isGone(err)) return 'NotFound';
      throw err;
    }
  }
}

/**
 * Why DigitalOcean would refuse a droplet name ('' when it takes it): hostname characters,
 * labels of 1–63 characters that neither start nor end with '-', 253 characters in all.
 */
export function hostnameProblem(name: string): string {
  if (name.length > 253) return 'it is longer than 253 characters';
  for (const label of name.split('.')) {
    if (label.length === 0) return 'it has an empty label';
    if (label.length > 63) return `a label (${label.slice(0, 12)}...) is longer than 63 characters`;
    if (!/^[a-zA-Z0-9-]+$/.test(label)) return 'only a-z, A-Z, 0-9, . and - are allowed';
    if (label.startsWith('-') || label.endsWith('-')) return 'a label may not start or end with -';
  }
  return '';
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  const flagToken = flagString(p, 'digitalocean-access-token');
  if (!flagToken && !doctlToken()) {
    throw new MachineError(
      "digitalocean driver requires the --digitalocean-access-token option (or DIGITALOCEAN_ACCESS_TOKEN, or a token in doctl's config file: doctl auth init)",
    );
  }
  const apiURL = flagString(p, 'digitalocean-api-url') || DEFAULT_API_URL;
  try {
    const u = new URL(apiURL);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new MachineError(`--digitalocean-api-url "${apiURL}" is not an http(s) URL`);
  }
  for (const f of ['digitalocean-ssh-port', 'digitalocean-engine-port']) {
    const v = flagInt(p, f);
    if (v < 1 || v > 65535) throw new MachineError(`--${f} ${v}: expected a port number, 1 to 65535`);
  }
  const json: DriverJSON = {
    ...base,
    SSHUser: flagString(p, 'digitalocean-ssh-user') || 'root',
    SSHPort: flagInt(p, 'digitalocean-ssh-port'),
    // Kept as the original did, so that later commands work without the environment; a token
    // read from doctl's file is read from there again instead.
    AccessToken: flagToken,
    APIURL: apiURL === DEFAULT_API_URL ? '' : apiURL,
    DropletID: 0,
    DropletName: base.MachineName,
    Image: flagString(p, 'digitalocean-image'),
    Region: flagString(p, 'digitalocean-region'),
    SSHKeyID: 0,
    SSHKeyFingerprint: flagString(p, 'digitalocean-ssh-key-fingerprint'),
    SSHKey: flagString(p, 'digitalocean-ssh-key-path'),
    Size: flagString(p, 'digitalocean-size'),
    IPv6: flagBool(p, 'digitalocean-ipv6'),
    Backups: flagBool(p, 'digitalocean-backups'),
    PrivateNetworking:
      flagBool(p, 'digitalocean-private-networking') || flagString(p, 'digitalocean-vpc-uuid') !== '',
    VPCUUID: flagString(p, 'digitalocean-vpc-uuid'),
    UserDataFile: flagString(p, 'digitalocean-userdata'),
    Monitoring: flagBool(p, 'digitalocean-monitoring'),
    Tags: flagString(p, 'digitalocean-tags'),
    EnginePort: flagInt(p, 'digitalocean-engine-port'),
    MachineTag: `docker-machine-${randomBytes(5).toString('hex')}`,
    Ledger: [],
  };
  return new DigitalOceanDriver(json);
}

export const digitaloceanDriver: DriverModule = {
  name: 'digitalocean',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new DigitalOceanDriver(mergeDriverJSON(json, {}));
  },
};
