import { randomBytes } from 'node:crypto';
import { chmod, copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagSlice, flagString } from '../../flags/def.js';
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
import { hetznerConnection } from './connection.js';
import { hcloudToken } from './credentials.js';
import { DEFAULT_ENDPOINT, flags } from './flags.js';
import { machineState, parseLabels, serverNameProblem } from './state.js';

/**
 * The `hetzner` driver (the flags of the JonasProgrammer plugin, built in): a Hetzner Cloud server
 * reached as root over SSH. What it makes (its SSH key, the server, an auto-spread placement
 * group) carries the label docker-machine-id=<this machine's id> and is in the ledger; rm deletes
 * those and nothing a user made (an existing key, networks, firewalls, volumes, primary IPs).
 * Primary IPs Hetzner makes with the server are auto_delete and go with it.
 */

/** The label every resource this machine makes carries: rm finds them by it after a kill. */
const ID_LABEL = 'docker-machine-id';
/** The plugin's shared group for --hetzner-auto-spread, and the label that says it made it. */
const SPREAD_GROUP = 'docker-machine';
const AUTO_LABEL = 'docker-machine/auto-created';
/** Hetzner takes at most 32 KiB of user data. */
const MAX_USER_DATA = 32 * 1024;
const ACTION_TIMEOUT_MS = 5 * 60_000;
const TOKEN_HELP =
  'hetzner driver requires the --hetzner-api-token option (or HETZNER_API_TOKEN, HCLOUD_TOKEN, or a context of the hcloud CLI: hcloud context create)';

class HetznerDriver extends CloudDriver {
  readonly driverName = 'hetzner';
  protected readonly provider = 'Hetzner Cloud';
  protected readonly serverNoun = 'server';
  private conn: CloudConnection | undefined;
  private lastServer: api.Server | undefined;

  constructor(json: DriverJSON) {
    super(json);
    const t = num(json, 'WaitForRunningTimeout');
    if (t > 0) this.runningTimeoutMs = t * 1000;
  }

  /** --hetzner-wait-on-polling (the plugin's 1 s): Hetzner documents no faster rate. */
  protected get pollIntervalMs(): number {
    return Math.max(1, num(this.json, 'WaitOnPolling') || 1) * 1000;
  }

  private api(ctx?: Pick<DriverContext, 'debug' | 'signal'>): CloudConnection {
    if (ctx) return hetznerConnection({ endpoint: this.endpoint, token: this.token(), ctx });
    this.conn ??= hetznerConnection({ endpoint: this.endpoint, token: this.token() });
    return this.conn;
  }

  private get endpoint(): string {
    return str(this.json, 'Endpoint') || process.env.HCLOUD_ENDPOINT || DEFAULT_ENDPOINT;
  }

  /** The token from config.json (given by flag or env at create), else the environment, else hcloud's. */
  private token(): string {
    const t =
      str(this.json, 'AccessToken') ||
      process.env.HETZNER_API_TOKEN ||
      process.env.HCLOUD_TOKEN ||
      hcloudToken();
    if (!t) throw new MachineError(TOKEN_HELP);
    return t;
  }

  private get serverId(): string {
    const id = num(this.json, 'ServerID');
    return id ? String(id) : '';
  }

  private get machineId(): string {
    return str(this.json, 'MachineID');
  }

  protected serverLabel(): string {
    const id = this.serverId;
    return `server ${this.machineName}${id ? ` (id ${id})` : ''}`;
  }

  private list(key: string): string[] {
    const v = this.json[key];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }

  private labels(key: string): Record<string, string> {
    const v = this.json[key];
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  }

  /** Everything the server needs exists and is allowed, before anything is made. */
  async preCreateCheck(ctx: DriverContext): Promise<void> {
    const name = this.machineName;
    const bad = serverNameProblem(name);
    if (bad)
      throw new MachineError(
        `Hetzner Cloud refuses the server name ${name}: ${bad}; choose another machine name`,
      );
    const userDataFile = str(this.json, 'UserDataFile');
    if (userDataFile && str(this.json, 'UserData'))
      throw new MachineError('give either --hetzner-user-data or --hetzner-user-data-file, not both');
    if (userDataFile) {
      const st = await stat(userDataFile).catch(() => undefined);
      if (!st?.isFile()) throw new MachineError(`user-data file ${userDataFile} could not be found`);
      if (st.size > MAX_USER_DATA)
        throw new MachineError(
          `user-data file ${userDataFile} is ${st.size} bytes; Hetzner Cloud takes at most 32 KiB`,
        );
    } else if (Buffer.byteLength(str(this.json, 'UserData')) > MAX_USER_DATA) {
      throw new MachineError('--hetzner-user-data is longer than the 32 KiB Hetzner Cloud takes');
    }
    const keyPath = str(this.json, 'ExistingKeyPath');
    const keyId = num(this.json, 'ExistingKeyID');
    if (keyId && !keyPath)
      throw new MachineError(
        '--hetzner-existing-key-id needs --hetzner-existing-key-path (the private key of that key)',
      );
    if (keyPath) {
      if (!(await stat(keyPath).catch(() => undefined)))
        throw new MachineError(`SSH key does not exist: ${keyPath}`);
      if (!(await stat(`${keyPath}.pub`).catch(() => undefined)))
        throw new MachineError(
          `the public key ${keyPath}.pub of --hetzner-existing-key-path could not be found`,
        );
    }
    const networks = this.list('Networks');
    if (bool(this.json, 'UsePrivateNetwork') && networks.length === 0)
      throw new MachineError('--hetzner-use-private-network needs a network: give --hetzner-networks');
    if (
      bool(this.json, 'DisablePublic4') &&
      bool(this.json, 'DisablePublic6') &&
      !bool(this.json, 'UsePrivateNetwork')
    )
      throw new MachineError(
        'with both public addresses disabled the server can only be reached on a private network: give --hetzner-networks and --hetzner-use-private-network',
      );

    const c = this.api(ctx);
    const locName = str(this.json, 'Location');
    if (locName) {
      const [loc] = await api.locations(c, locName);
      if (!loc) {
        const all = await api.allLocations(c);
        throw new MachineError(
          `location ${locName} does not exist; locations: ${all
            .map((l: api.Location) => l.name)
            .sort()
            .join(', ')}`,
        );
      }
    }
    const typeName = str(this.json, 'Type');
    const [type] = await api.serverTypes(c, typeName);
    if (!type)
      throw new MachineError(
        `server type ${typeName} does not exist; see hcloud server-type list (names are lower-case)`,
      );
    if (type.deprecation && Date.parse(type.deprecation.unavailable_after) <= Date.now())
      throw new MachineError(
        `server type ${typeName} can no longer be ordered; choose another --hetzner-server-type`,
      );
    if (locName && type.locations && !type.locations.some((l) => l.name === locName)) {
      throw new MachineError(
        `server type ${typeName} is not available in location ${locName} (it is in ${type.locations.map((l) => l.name).join(', ')}); choose another --hetzner-server-type or --hetzner-server-location`,
      );
    }
    const arch = str(this.json, 'ImageArch') || type.architecture;
    if (arch !== type.architecture)
      throw new MachineError(
        `--hetzner-image-arch ${arch} does not match server type ${typeName}, which is ${type.architecture}`,
      );
    const imageId = num(this.json, 'ImageID');
    let img: api.Image | undefined;
    if (imageId) {
      img = await api.image(c, imageId).catch((err) => {
        if (isGone(err)) return undefined;
        throw err;
      });
      if (!img) throw new MachineError(`image ${imageId} does not exist in this project`);
      if (img.architecture !== arch)
        throw new MachineError(
          `image ${imageId} is for ${img.architecture}, server type ${typeName} is ${arch}`,
        );
    } else {
      const imageName = str(this.json, 'Image');
      [img] = await api.imagesNamed(c, imageName, arch);
      if (!img)
        throw new MachineError(
          `image ${imageName} does not exist for ${arch}; see hcloud image list --type system (e.g. ubuntu-24.04), or give --hetzner-image-id`,
        );
    }
    if (img.status !== 'available')
      throw new MachineError(`image ${imageId || str(this.json, 'Image')} is ${img.status}, not available`);

    const resolved: DriverJSON = { ResolvedImage: String(img.id) };
    const need = async (collection: string, key: string, ref: string, what: string) => {
      const r = await api.byIdOrName<api.Named>(c, collection, key, ref);
      if (!r) throw new MachineError(`${what} ${ref} does not exist in this project`);
      return r.id;
    };
    resolved.NetworkIDs = await Promise.all(networks.map((n) => need('networks', 'networks', n, 'network')));
    resolved.FirewallIDs = await Promise.all(
      this.list('Firewalls').map((f) => need('firewalls', 'firewalls', f, 'firewall')),
    );
    resolved.VolumeIDs = await Promise.all(
      this.list('Volumes').map((v) => need('volumes', 'volumes', v, 'volume')),
    );
    const group = str(this.json, 'PlacementGroup');
    if (group && bool(this.json, 'AutoSpread'))
      throw new MachineError('give either --hetzner-placement-group or --hetzner-auto-spread, not both');
    if (group)
      resolved.PlacementGroupID = await need(
        'placement_groups',
        'placement_groups',
        group,
        'placement group',
      );
    for (const [field, want] of [
      ['PrimaryIPv4', 'ipv4'],
      ['PrimaryIPv6', 'ipv6'],
    ] as const) {
      const ref = str(this.json, field);
      if (!ref) continue;
      const ip = /[.:]/.test(ref)
        ? (await c.get<{ primary_ips: api.PrimaryIP[] }>(`/primary_ips?ip=${encodeURIComponent(ref)}`))
            .primary_ips[0]
        : await api.byIdOrName<api.PrimaryIP>(c, 'primary_ips', 'primary_ips', ref);
      if (!ip) throw new MachineError(`primary IP ${ref} does not exist in this project`);
      if (ip.type !== want) throw new MachineError(`primary IP ${ref} is an ${ip.type} address, not ${want}`);
      if (ip.assignee_id) throw new MachineError(`primary IP ${ref} is assigned to server ${ip.assignee_id}`);
      if (locName && ip.location?.name && ip.location.name !== locName)
        throw new MachineError(`primary IP ${ref} is in ${ip.location.name}, not ${locName}`);
      resolved[`${field}ID`] = ip.id;
    }
    if (keyId) {
      const key = await api.sshKey(c, keyId).catch((err) => {
        if (isGone(err)) return undefined;
        throw err;
      });
      if (!key) throw new MachineError(`no SSH key with id ${keyId} in this Hetzner Cloud project`);
      const local = md5Fingerprint(await readFile(`${keyPath}.pub`, 'utf8'));
      if (key.fingerprint !== local)
        throw new MachineError(
          `SSH key ${keyId} (${key.fingerprint}) is not the key of ${keyPath}.pub (${local})`,
        );
    }
    if ((await api.serversNamed(c, name)).length > 0)
      throw new MachineError(
        `a server named ${name} already exists in this Hetzner Cloud project; choose another machine name`,
      );
    this.set(resolved);
  }

  protected async createKey(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = this.api(ctx);
    const dir = join(str(this.json, 'StorePath'), 'machines', this.machineName);
    const dest = join(dir, 'id_rsa');
    const given = str(this.json, 'ExistingKeyPath');
    let publicLine: string;
    if (given) {
      await copyFile(given, dest);
      await chmod(dest, 0o600);
      publicLine = await readFile(`${given}.pub`, 'utf8');
      await copyFile(`${given}.pub`, `${dest}.pub`);
    } else {
      const { generateSSHKeyPair } = await import('../../ssh/keys.js');
      ({ publicLine } = await generateSSHKeyPair(dest));
    }
    this.set({ SSHKeyPath: dest });
    const existingId = num(this.json, 'ExistingKeyID');
    if (given) {
      // The user's key already in the project (by id, or found by its fingerprint): used, never deleted.
      const fp = md5Fingerprint(publicLine);
      const found = existingId ? await api.sshKey(c, existingId) : (await api.keysWithFingerprint(c, fp))[0];
      if (found) {
        this.set({ KeyID: found.id, IsExistingKey: true });
        await ctx.save();
        ctx.log(`Using SSH key ${found.name} (id ${found.id}) of the project`);
        await this.additionalKeys(ctx, ledger);
        return;
      }
    }
    const keyName = `${this.machineName}-${this.machineId}`;
    const entry = await ledger.intend(
      'ssh_key',
      { by: 'label', value: `${ID_LABEL}=${this.machineId}` },
      `SSH key ${keyName}`,
    );
    const key = await api.createKey(c, {
      name: keyName,
      public_key: publicLine.trim(),
      labels: { ...this.labels('KeyLabels'), [ID_LABEL]: this.machineId },
    });
    await ledger.made(entry, String(key.id));
    this.set({ KeyID: key.id, IsExistingKey: false });
    await ctx.save();
    ctx.log(`SSH key ${keyName} added to the project (id ${key.id})`);
    await this.additionalKeys(ctx, ledger);
  }

  /**
   * --hetzner-additional-key: public keys the server also accepts. One the project has already
   * (by fingerprint) is used and kept; another is added as <machine>-additional-<n>-<id>, recorded by
   * its fingerprint, and deleted by rm.
   */
  private async additionalKeys(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = this.api(ctx);
    const ids: number[] = [];
    for (const [i, line] of this.list('AdditionalKeys').entries()) {
      const fp = md5Fingerprint(line);
      const found = (await api.keysWithFingerprint(c, fp))[0];
      if (found) {
        ids.push(found.id);
        continue;
      }
      const name = `${this.machineName}-additional-${i + 1}-${this.machineId}`;
      const entry = await ledger.intend('ssh_key', { by: 'fingerprint', value: fp }, `SSH key ${name}`);
      const key = await api.createKey(c, {
        name,
        public_key: line.trim(),
        labels: { ...this.labels('KeyLabels'), [ID_LABEL]: this.machineId },
      });
      await ledger.made(entry, String(key.id));
      ids.push(key.id);
    }
    this.set({ AdditionalKeyIDs: ids });
    await ctx.save();
  }

  /** --hetzner-auto-spread: the plugin's shared spread group, made (and recorded) when missing. */
  private async spreadGroup(ctx: DriverContext, ledger: Ledger): Promise<number> {
    const c = this.api(ctx);
    const mine = (await api.groupsNamed(c, SPREAD_GROUP))[0];
    // Every machine on the group records it: the last one removed deletes it when it is empty.
    const entry = await ledger.intend(
      'placement_group',
      { by: 'auto-spread', value: SPREAD_GROUP },
      `placement group ${SPREAD_GROUP}`,
    );
    if (mine) return mine.id;
    ctx.log(`Creating placement group ${SPREAD_GROUP}...`);
    try {
      const g = await api.createGroup(c, {
        name: SPREAD_GROUP,
        type: 'spread',
        labels: { [AUTO_LABEL]: 'true' },
      });
      return g.id;
    } catch (err) {
      // Another machine's create made it meanwhile: use that one.
      const again = (await api.groupsNamed(c, SPREAD_GROUP))[0];
      if (again) return again.id;
      await ledger.forget(entry);
      throw err;
    }
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = this.api(ctx);
    const numList = (k: string) => (Array.isArray(this.json[k]) ? (this.json[k] as number[]) : []);
    const placement = bool(this.json, 'AutoSpread')
      ? await this.spreadGroup(ctx, ledger)
      : num(this.json, 'PlacementGroupID');
    const userDataFile = str(this.json, 'UserDataFile');
    const userData = userDataFile ? await readFile(userDataFile, 'utf8') : str(this.json, 'UserData');
    const v4 = num(this.json, 'PrimaryIPv4ID');
    const v6 = num(this.json, 'PrimaryIPv6ID');
    const no4 = bool(this.json, 'DisablePublic4');
    const no6 = bool(this.json, 'DisablePublic6');
    const location = str(this.json, 'Location');
    const req: api.ServerRequest = {
      name: this.machineName,
      server_type: str(this.json, 'Type'),
      image: str(this.json, 'ResolvedImage') || str(this.json, 'Image'),
      // IDs as strings: the description types the items as strings (names or IDs).
      ssh_keys: [num(this.json, 'KeyID'), ...numList('AdditionalKeyIDs')].map(String),
      labels: { ...this.labels('ServerLabels'), [ID_LABEL]: this.machineId },
      ...(location ? { location } : {}),
      ...(userData ? { user_data: userData } : {}),
      ...(numList('NetworkIDs').length ? { networks: numList('NetworkIDs') } : {}),
      ...(numList('FirewallIDs').length
        ? { firewalls: numList('FirewallIDs').map((firewall) => ({ firewall })) }
        : {}),
      ...(numList('VolumeIDs').length ? { volumes: numList('VolumeIDs') } : {}),
      ...(placement ? { placement_group: placement } : {}),
      ...(no4 || no6 || v4 || v6
        ? {
            public_net: {
              enable_ipv4: !no4,
              enable_ipv6: !no6,
              ...(v4 && !no4 ? { ipv4: v4 } : {}),
              ...(v6 && !no6 ? { ipv6: v6 } : {}),
            },
          }
        : {}),
    };
    const entry = await ledger.intend(
      'server',
      { by: 'label', value: `${ID_LABEL}=${this.machineId}` },
      `server ${req.name}`,
    );
    const r = await api.createServer(c, req);
    await ledger.made(entry, String(r.server.id));
    this.set({ ServerID: r.server.id, CreateActionID: r.action.id, CreateActionDone: false });
    await ctx.save();
  }

  /**
   * First the create action (running → success, with its progress), then the server's status: a
   * server is running when both say so. Nothing is cached between polls.
   */
  protected async serverStatus(signal?: AbortSignal): Promise<ServerStatus> {
    const c = this.api({ debug: () => {}, signal });
    const actionId = num(this.json, 'CreateActionID');
    if (actionId && !bool(this.json, 'CreateActionDone')) {
      const a = await api.getAction(c, actionId);
      if (a.status === 'error')
        return { state: 'create failed', running: false, failed: `${a.error?.code}: ${a.error?.message}` };
      if (a.status === 'running') return { state: `creating (${a.progress}%)`, running: false };
      this.set({ CreateActionDone: true });
    }
    const s = await api.getServer(c, this.serverId);
    this.lastServer = s.status === 'running' ? s : undefined;
    // Hetzner attaches networks once the server runs: the private address comes a little later.
    if (s.status === 'running' && bool(this.json, 'UsePrivateNetwork') && !s.private_net.some((n) => n.ip))
      return { state: 'running, without its private network address yet', running: false };
    return { state: s.status, running: s.status === 'running' };
  }

  protected async serverAddress(ctx: DriverContext): Promise<string> {
    const s = this.lastServer ?? (await api.getServer(this.api(ctx), this.serverId));
    if (bool(this.json, 'UsePrivateNetwork')) {
      const ip = s.private_net.find((n) => n.ip)?.ip;
      if (!ip)
        throw new MachineError(`${this.serverLabel()} runs but has no address on its private network yet`);
      return ip;
    }
    if (bool(this.json, 'DisablePublic4')) {
      // Hetzner gives the server a /64; the server itself answers on its ::1.
      const net = s.public_net.ipv6?.ip ?? '';
      if (!net) throw new MachineError(`${this.serverLabel()} runs but has no public IPv6 network`);
      return `${net.replace(/\/\d+$/, '').replace(/::$/, '')}::1`;
    }
    const ip = s.public_net.ipv4?.ip;
    if (!ip) throw new MachineError(`${this.serverLabel()} runs but has no public IPv4 address`);
    return ip;
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    const c = this.api(ctx);
    const ids = (xs: { id: number }[]) => xs.map((x) => String(x.id));
    return {
      server: {
        lookup: (f) => api.serversLabelled(c, f.value).then(ids),
        delete: async (id) => {
          const a = await api.deleteServer(c, id);
          // The server is gone once its delete action is: what it used (a placement group) is free then.
          if (a) await this.waitAction(c, a, `delete of server ${id}`);
        },
        byHand: (id) => `hcloud server delete ${id}`,
      },
      ssh_key: {
        // The machine's key by its label; an additional key by its fingerprint (its label is
        // the machine's too, so a lookup by label would find the main key as well).
        lookup: (f) =>
          (f.by === 'fingerprint' ? api.keysWithFingerprint(c, f.value) : api.keysLabelled(c, f.value)).then(
            ids,
          ),
        delete: (id) => api.deleteKey(c, id),
        byHand: (id) => `hcloud ssh-key delete ${id}`,
      },
      placement_group: {
        // Only the group the plugin's auto-spread made, and only once no server is in it.
        lookup: async (f) =>
          ids(
            (await api.groupsNamed(c, f.value)).filter(
              (g) => g.labels?.[AUTO_LABEL] === 'true' && g.servers.length === 0,
            ),
          ),
        delete: (id) => api.deleteGroup(c, id),
        byHand: (id) => `hcloud placement-group delete ${id}`,
      },
    };
  }

  /** An action, polled until Hetzner says it succeeded. */
  private async waitAction(c: CloudConnection, first: api.Action, what: string): Promise<void> {
    let a = first;
    const started = Date.now();
    while (a.status === 'running') {
      if (Date.now() - started > ACTION_TIMEOUT_MS)
        throw new MachineError(`${what} still running after ${ACTION_TIMEOUT_MS / 1000} s (action ${a.id})`);
      await new Promise((r) => setTimeout(r, this.pollIntervalMs));
      a = await api.getAction(c, a.id);
    }
    if (a.status === 'error')
      throw new MachineError(`${what} failed: ${a.error?.code}: ${a.error?.message} (action ${a.id})`);
  }

  private async power(ctx: DriverContext, command: string): Promise<void> {
    const id = this.serverId;
    if (!id)
      throw new MachineError(
        `machine "${this.machineName}" has no server (its create did not finish); remove it with rm`,
      );
    const c = this.api(ctx);
    await this.waitAction(c, await api.serverAction(c, id, command), `${command} of ${this.serverLabel()}`);
  }

  async start(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'poweron');
  }
  async stop(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'shutdown');
  }
  async restart(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'reboot');
  }
  async kill(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'poweroff');
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    const id = this.serverId;
    if (!id) return 'NotFound';
    try {
      return machineState(
        (await api.getServer(this.api(signal ? { debug: () => {}, signal } : undefined), id)).status,
      );
    } catch (err) {
      if (isGone(err)) return 'NotFound';
      throw err;
    }
  }
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  const flagToken = flagString(p, 'hetzner-api-token');
  if (!flagToken && !process.env.HCLOUD_TOKEN && !hcloudToken()) throw new MachineError(TOKEN_HELP);
  const endpoint = flagString(p, 'hetzner-api-endpoint') || DEFAULT_ENDPOINT;
  try {
    const u = new URL(endpoint);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new MachineError(`--hetzner-api-endpoint "${endpoint}" is not an http(s) URL`);
  }
  const serverLabels = parseLabels(flagSlice(p, 'hetzner-server-label'), 'hetzner-server-label');
  if (serverLabels.problem) throw new MachineError(serverLabels.problem);
  const keyLabels = parseLabels(flagSlice(p, 'hetzner-key-label'), 'hetzner-key-label');
  if (keyLabels.problem) throw new MachineError(keyLabels.problem);
  const type = flagString(p, 'hetzner-server-type');
  if (type !== type.toLowerCase())
    throw new MachineError(
      `--hetzner-server-type ${type}: Hetzner's type names are lower-case (${type.toLowerCase()})`,
    );
  const arch = flagString(p, 'hetzner-image-arch');
  if (arch && arch !== 'x86' && arch !== 'arm')
    throw new MachineError(`--hetzner-image-arch ${arch}: expected x86 or arm`);
  const disableAll = flagBool(p, 'hetzner-disable-public');
  const additional = flagSlice(p, 'hetzner-additional-key').map((k) => k.trim());
  for (const k of additional) {
    const [type, blob] = k.split(/\s+/);
    if (
      !/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-\S+)$/.test(type ?? '') ||
      !/^[A-Za-z0-9+/]+=*$/.test(blob ?? '')
    )
      throw new MachineError(
        `--hetzner-additional-key ${k.slice(0, 40)}${k.length > 40 ? '...' : ''}: not a public key line (type, base64 key, optional comment, as in a .pub file)`,
      );
  }
  const json: DriverJSON = {
    ...base,
    SSHUser: flagString(p, 'hetzner-ssh-user') || 'root',
    SSHPort: flagInt(p, 'hetzner-ssh-port'),
    EnginePort: flagInt(p, 'hetzner-engine-port'),
    // Kept as the plugin did, so that later commands work without the environment; a token from
    // HCLOUD_TOKEN or hcloud's file is read from there again instead.
    AccessToken: flagToken,
    Endpoint: endpoint === DEFAULT_ENDPOINT ? '' : endpoint,
    Image: flagString(p, 'hetzner-image'),
    ImageID: flagInt(p, 'hetzner-image-id'),
    ImageArch: arch,
    Type: type,
    Location: flagString(p, 'hetzner-server-location'),
    ExistingKeyPath: flagString(p, 'hetzner-existing-key-path'),
    ExistingKeyID: flagInt(p, 'hetzner-existing-key-id'),
    UserData: flagString(p, 'hetzner-user-data'),
    UserDataFile: flagString(p, 'hetzner-user-data-file'),
    Volumes: flagSlice(p, 'hetzner-volumes'),
    Networks: flagSlice(p, 'hetzner-networks'),
    UsePrivateNetwork: flagBool(p, 'hetzner-use-private-network'),
    DisablePublic4: disableAll || flagBool(p, 'hetzner-disable-public-ipv4'),
    DisablePublic6: disableAll || flagBool(p, 'hetzner-disable-public-ipv6'),
    PrimaryIPv4: flagString(p, 'hetzner-primary-ipv4'),
    PrimaryIPv6: flagString(p, 'hetzner-primary-ipv6'),
    Firewalls: flagSlice(p, 'hetzner-firewalls'),
    ServerLabels: serverLabels.labels,
    KeyLabels: keyLabels.labels,
    AdditionalKeys: additional,
    PlacementGroup: flagString(p, 'hetzner-placement-group'),
    AutoSpread: flagBool(p, 'hetzner-auto-spread'),
    WaitOnPolling: flagInt(p, 'hetzner-wait-on-polling'),
    WaitForRunningTimeout: flagInt(p, 'hetzner-wait-for-running-timeout'),
    MachineID: randomBytes(5).toString('hex'),
    ServerID: 0,
    KeyID: 0,
    Ledger: [],
  };
  return new HetznerDriver(json);
}

export const hetznerDriver: DriverModule = {
  name: 'hetzner',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new HetznerDriver(mergeDriverJSON(json, {}));
  },
};
