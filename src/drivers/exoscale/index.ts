import { randomBytes } from 'node:crypto';
import { chmod, copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagInt, flagSlice, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { mergeDriverJSON, num, sshOnlyEngine, str, strs } from '../base.js';
import type { CloudConnection } from '../cloud/connection.js';
import { CloudDriver } from '../cloud/driver.js';
import { isGone } from '../cloud/errors.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import type { ServerStatus } from '../cloud/wait.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import * as api from './api.js';
import { DEFAULT_ENDPOINT, DEFAULT_ZONE, flags, instanceTypeName, V1_ENDPOINT } from './flags.js';
import { machineState, sshUserFor } from './state.js';

/**
 * The `exoscale` driver on Exoscale's v2 API: a Compute instance in one zone, reached over SSH at
 * its public IPv4. What create makes (its SSH key, a missing security group or anti-affinity
 * group, the instance) is in the ledger; rm deletes those, and a group only once no other
 * instance uses it. Groups that existed before are used and never deleted.
 */

const ID_LABEL = 'docker-machine-id';
const CREDENTIALS_HELP =
  'missing an API key (--exoscale-api-key) or API secret key (--exoscale-api-secret-key); or set $EXOSCALE_API_KEY and $EXOSCALE_API_SECRET';
/** user-data is sent base64-encoded; Exoscale takes at most 32 KiB of that. */
const MAX_USER_DATA_B64 = 32_768;
const DEFAULT_USER_DATA = '#cloud-config\nmanage_etc_hosts: localhost\n';
const OPERATION_TIMEOUT_MS = 10 * 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const GROUP_DESCRIPTION = 'Created by docker-machine';
const WORLD = { 'flow-direction': 'ingress', network: '0.0.0.0/0' };
const ENGINE_RULE = {
  ...WORLD,
  protocol: 'tcp',
  'start-port': 2376,
  'end-port': 2376,
  description: 'Docker',
};

/**
 * The original's rules for a security group it makes: SSH, ping and the engine from anywhere;
 * swarm from the group. An SSH-only engine's group keeps 2376 closed (2377 stays: Swarm mode).
 */
export function defaultRules(groupId: string, sshOnly = false): Record<string, unknown>[] {
  const world = WORLD;
  const group = { 'flow-direction': 'ingress', 'security-group': { id: groupId } };
  return [
    { ...world, protocol: 'tcp', 'start-port': 22, 'end-port': 22, description: 'SSH' },
    { ...world, protocol: 'icmp', icmp: { type: 8, code: 0 }, description: 'Ping' },
    sshOnly
      ? { ...world, protocol: 'tcp', 'start-port': 2377, 'end-port': 2377, description: 'Docker Swarm' }
      : { ...world, protocol: 'tcp', 'start-port': 2376, 'end-port': 2377, description: 'Docker' },
    {
      ...world,
      protocol: 'tcp',
      'start-port': 3376,
      'end-port': 3377,
      description: 'Legacy Standalone Swarm',
    },
    { ...group, protocol: 'tcp', 'start-port': 7946, 'end-port': 7946, description: 'Swarm gossip' },
    { ...group, protocol: 'udp', 'start-port': 7946, 'end-port': 7946, description: 'Swarm gossip' },
    { ...group, protocol: 'udp', 'start-port': 4789, 'end-port': 4789, description: 'Swarm overlay' },
  ];
}

/** Whether the rules let anyone reach 2376/tcp. */
export function opensEnginePort(rules: api.SecurityGroupRule[]): boolean {
  return rules.some(
    (r) =>
      r['flow-direction'] === 'ingress' &&
      r.protocol === 'tcp' &&
      r.network === '0.0.0.0/0' &&
      (r['start-port'] ?? 0) <= 2376 &&
      2376 <= (r['end-port'] ?? 0),
  );
}

class ExoscaleDriver extends CloudDriver {
  readonly driverName = 'exoscale';
  protected readonly provider = 'Exoscale';
  protected readonly serverNoun = 'instance';
  /** Exoscale documents no poll rate; its own CLI polls operations every few seconds. */
  protected readonly pollIntervalMs = Number(process.env.MACHINE_EXOSCALE_POLL_MS) || 3000;
  private conn: CloudConnection | undefined;
  private lastInstance: api.Instance | undefined;

  private key(): { key: string; secret: string } {
    const key = str(this.json, 'APIKey') || process.env.EXOSCALE_API_KEY || '';
    const secret =
      str(this.json, 'APISecretKey') ||
      process.env.EXOSCALE_API_SECRET ||
      process.env.EXOSCALE_API_SECRET_KEY ||
      '';
    if (!key || !secret) throw new MachineError(CREDENTIALS_HELP);
    return { key, secret };
  }

  /** The zone list's endpoint: --exoscale-url, else Exoscale's. The original's v1 URL means the default. */
  private get listEndpoint(): string {
    const u = str(this.json, 'URL');
    return !u || u === V1_ENDPOINT ? DEFAULT_ENDPOINT : u;
  }

  private connect(endpoint: string, ctx?: Pick<DriverContext, 'debug' | 'signal'>): CloudConnection {
    return api.exoscaleConnection({ endpoint, ...this.key(), ctx });
  }

  /** The zone's own API, found at create. */
  private api(ctx?: Pick<DriverContext, 'debug' | 'signal'>): CloudConnection {
    const endpoint = str(this.json, 'ZoneEndpoint');
    if (!endpoint)
      throw new MachineError(
        `machine "${this.machineName}" has no Exoscale zone endpoint (its create did not get that far); remove it with rm`,
      );
    if (ctx) return this.connect(endpoint, ctx);
    this.conn ??= this.connect(endpoint);
    return this.conn;
  }

  private get zone(): string {
    return str(this.json, 'AvailabilityZone').toLowerCase() || DEFAULT_ZONE;
  }

  private get instanceId(): string {
    return str(this.json, 'ID');
  }

  private get machineId(): string {
    return str(this.json, 'MachineID');
  }

  protected serverLabel(): string {
    const id = this.instanceId;
    return `instance ${this.machineName}${id ? ` (id ${id})` : ''}`;
  }

  private opts(signal?: AbortSignal) {
    return { intervalMs: this.pollIntervalMs, timeoutMs: OPERATION_TIMEOUT_MS, signal };
  }

  /** Zone, template, instance type, key and user-data: everything checked before anything is made. */
  async preCreateCheck(ctx: DriverContext): Promise<void> {
    const name = this.machineName;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(name))
      throw new MachineError(
        `Exoscale refuses the instance name ${name}: letters, digits, . and - only, at most 63; choose another machine name`,
      );
    const keyPath = str(this.json, 'SSHKey');
    if (keyPath) {
      if (!(await stat(keyPath).catch(() => undefined)))
        throw new MachineError(`SSH key does not exist: ${keyPath}`);
      if (!(await stat(`${keyPath}.pub`).catch(() => undefined)))
        throw new MachineError(`the public key ${keyPath}.pub of --exoscale-ssh-key could not be found`);
    }
    const userData = await this.userData();
    if (Buffer.from(userData).toString('base64').length > MAX_USER_DATA_B64)
      throw new MachineError(
        `user-data ${str(this.json, 'UserDataFile')} is too long: Exoscale takes at most 32 KiB once base64-encoded (about 24 KiB)`,
      );

    const all = await api.zones(this.connect(this.listEndpoint, ctx));
    const zone = all.find((z) => z.name === this.zone);
    if (!zone)
      throw new MachineError(
        `availability zone ${this.zone} does not exist; zones: ${all
          .map((z) => z.name)
          .sort()
          .join(', ')}`,
      );
    const zoneEndpoint = zoneURL(zone, this.listEndpoint);
    this.set({ ZoneEndpoint: zoneEndpoint });
    const c = this.connect(zoneEndpoint, ctx);

    const profile = str(this.json, 'InstanceProfile');
    const typeName = instanceTypeName(profile);
    const types = await api.instanceTypes(c);
    const type = types.find((t) => `${t.family}.${t.size}` === typeName);
    if (!type)
      throw new MachineError(
        `instance type ${profile} does not exist; e.g. ${types
          .filter((t) => t.family === 'standard')
          .map((t) => `${t.family}.${t.size}`)
          .slice(0, 8)
          .join(
            ', ',
          )} (or the original's names: Micro, Tiny, Small, Medium, Large, Extra-large, Huge, Mega, Titan, Jumbo)`,
      );
    if (type.authorized === false)
      throw new MachineError(
        `instance type ${typeName} needs Exoscale's authorization for this organization (ask their support), or choose another --exoscale-instance-profile`,
      );
    if (type.zones && !type.zones.includes(this.zone))
      throw new MachineError(
        `instance type ${typeName} is not offered in ${this.zone} (it is in ${type.zones.join(', ')})`,
      );

    const tpl = await this.findTemplate(c);
    const sshUser = str(this.json, 'SSHUser') || tpl['default-user'] || sshUserFor(tpl.name);
    this.set({ InstanceTypeID: type.id, TemplateID: tpl.id, SSHUser: sshUser });
  }

  private async findTemplate(c: CloudConnection): Promise<api.Template> {
    const image = str(this.json, 'Image');
    if (UUID.test(image)) {
      const t = await api.template(c, image).catch((err) => {
        if (isGone(err)) return undefined;
        throw err;
      });
      if (!t) throw new MachineError(`template ${image} does not exist in zone ${this.zone}`);
      return t;
    }
    const inZone = (t: api.Template) => !t.zones || t.zones.includes(this.zone);
    const newest = (ts: api.Template[]) =>
      ts.sort((a, b) => String(b['created-at'] ?? '').localeCompare(String(a['created-at'] ?? '')))[0];
    const pub = (await api.templates(c, 'public')).filter(inZone);
    const exact = pub.filter((t) => t.name === image);
    if (exact.length) return newest(exact);
    const mine = (await api.templates(c, 'private')).filter((t) => t.name === image && inZone(t));
    if (mine.length) return newest(mine);
    // The original's short form: "ubuntu-24.04" for "Linux Ubuntu 24.04 LTS 64-bit".
    const short = /^([a-z]+)-([0-9][0-9.]*)$/i.exec(image);
    if (short) {
      const [distro, version] = [short[1].toLowerCase(), short[2]];
      const hits = pub.filter((t) => {
        const words = t.name.toLowerCase().split(/\s+/);
        return words.includes(distro) && words.includes(version);
      });
      if (hits.length) return newest(hits);
    }
    const some = [...new Set(pub.map((t) => t.name).filter((n) => /ubuntu|debian/i.test(n)))].slice(0, 3);
    throw new MachineError(
      `template '${image}' does not exist in zone ${this.zone}; give a template's name or id (exo compute instance-template list), e.g. ${some.map((n) => `'${n}'`).join(' or ')}`,
    );
  }

  private async userData(): Promise<string> {
    const file = str(this.json, 'UserDataFile');
    let text = DEFAULT_USER_DATA;
    if (file) {
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) throw new MachineError(`user-data file ${file} could not be found`);
      text = await readFile(file, 'utf8');
    }
    const keyPath = str(this.json, 'SSHKey');
    if (!keyPath) return text;
    // The user's own key goes to cloud-init, as the original gave it; nothing is registered.
    if (!text.startsWith('#cloud-config'))
      throw new MachineError(
        `--exoscale-ssh-key needs #cloud-config user-data to carry the key; ${file} is not #cloud-config`,
      );
    if (/^ssh_authorized_keys:/m.test(text))
      throw new MachineError(
        `${file} already has ssh_authorized_keys: add the key of --exoscale-ssh-key there, or leave --exoscale-ssh-key out`,
      );
    const pub = (await readFile(`${keyPath}.pub`, 'utf8')).trim();
    return `${text.replace(/\n*$/, '\n')}ssh_authorized_keys:\n  - ${JSON.stringify(pub)}\n`;
  }

  protected async createKey(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const dest = join(str(this.json, 'StorePath'), 'machines', this.machineName, 'id_rsa');
    const given = str(this.json, 'SSHKey');
    if (given) {
      await copyFile(given, dest);
      await chmod(dest, 0o600);
      await copyFile(`${given}.pub`, `${dest}.pub`);
      this.set({ SSHKeyPath: dest });
      await ctx.save();
      return;
    }
    const { generateSSHKeyPair } = await import('../../ssh/keys.js');
    const { publicLine } = await generateSSHKeyPair(dest);
    this.set({ SSHKeyPath: dest });
    const c = this.api(ctx);
    const keyName = `docker-machine-${this.machineName}-${this.machineId}`;
    const entry = await ledger.intend('ssh_key', { by: 'name', value: keyName }, `SSH key ${keyName}`);
    const op = await api.mutate(c, 'POST', '/ssh-key', { name: keyName, 'public-key': publicLine.trim() });
    await api.waitOperation(c, op, `registering SSH key ${keyName}`, this.opts(ctx.signal));
    await ledger.made(entry, keyName);
    this.set({ KeyPair: keyName });
    await ctx.save();
    ctx.log(`SSH key ${keyName} registered`);
  }

  /**
   * A group docker-machine made for an SSH-only machine has no rule for 2376: a machine with a
   * TCP engine that joins it adds one (an engine rule from anywhere, as the group would have had).
   */
  private async openEnginePort(
    ctx: DriverContext,
    found: api.SecurityGroup,
    c: CloudConnection,
  ): Promise<void> {
    const group = await api.securityGroup(c, found.id);
    if (opensEnginePort(group.rules ?? [])) return;
    ctx.log(`Adding the engine's port 2376 to security group ${found.name}...`);
    await api.waitOperation(
      c,
      await api.mutate(c, 'POST', `/security-group/${found.id}/rules`, ENGINE_RULE),
      `adding a rule to security group ${found.name}`,
      this.opts(ctx.signal),
    );
  }

  /** Each named security group and anti-affinity group: the existing one, or one made and recorded. */
  protected override async createFirewall(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = this.api(ctx);
    const sgIds: string[] = [];
    const existingSG = await api.securityGroups(c);
    for (const name of strs(this.json, 'SecurityGroups')) {
      const found = existingSG.find((g) => g.name === name);
      if (found) {
        if (!sshOnlyEngine(this.json) && found.description === GROUP_DESCRIPTION)
          await this.openEnginePort(ctx, found, c);
        sgIds.push(found.id);
        continue;
      }
      ctx.log(`Creating security group ${name}...`);
      const entry = await ledger.intend(
        'security_group',
        { by: 'name', value: name },
        `security group ${name}`,
      );
      const op = await api.waitOperation(
        c,
        await api.mutate(c, 'POST', '/security-group', {
          name,
          description: GROUP_DESCRIPTION,
        }),
        `creating security group ${name}`,
        this.opts(ctx.signal),
      );
      const id = op.reference?.id ?? '';
      if (!id) throw new MachineError(`Exoscale did not say which security group it made for ${name}`);
      await ledger.made(entry, id);
      for (const rule of defaultRules(id, sshOnlyEngine(this.json))) {
        await api.waitOperation(
          c,
          await api.mutate(c, 'POST', `/security-group/${id}/rules`, rule),
          `adding a rule to security group ${name}`,
          this.opts(ctx.signal),
        );
      }
      sgIds.push(id);
    }
    const aagIds: string[] = [];
    const wanted = strs(this.json, 'AffinityGroups');
    const existingAAG = wanted.length ? await api.antiAffinityGroups(c) : [];
    for (const name of wanted) {
      const found = existingAAG.find((g) => g.name === name);
      if (found) {
        aagIds.push(found.id);
        continue;
      }
      ctx.log(`Creating anti-affinity group ${name}...`);
      const entry = await ledger.intend(
        'anti_affinity_group',
        { by: 'name', value: name },
        `anti-affinity group ${name}`,
      );
      const op = await api.waitOperation(
        c,
        await api.mutate(c, 'POST', '/anti-affinity-group', {
          name,
          description: GROUP_DESCRIPTION,
        }),
        `creating anti-affinity group ${name}`,
        this.opts(ctx.signal),
      );
      const id = op.reference?.id ?? '';
      if (!id) throw new MachineError(`Exoscale did not say which anti-affinity group it made for ${name}`);
      await ledger.made(entry, id);
      aagIds.push(id);
    }
    this.set({ SecurityGroupIDs: sgIds, AffinityGroupIDs: aagIds });
    await ctx.save();
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = this.api(ctx);
    const userData = await this.userData();
    const keyPair = str(this.json, 'KeyPair');
    const body = {
      name: this.machineName,
      template: { id: str(this.json, 'TemplateID') },
      'instance-type': { id: str(this.json, 'InstanceTypeID') },
      'disk-size': num(this.json, 'DiskSize') || 50,
      'public-ip-assignment': 'inet4',
      labels: { [ID_LABEL]: this.machineId },
      'user-data': Buffer.from(userData).toString('base64'),
      ...(strs(this.json, 'SecurityGroupIDs').length
        ? { 'security-groups': strs(this.json, 'SecurityGroupIDs').map((id) => ({ id })) }
        : {}),
      ...(strs(this.json, 'AffinityGroupIDs').length
        ? { 'anti-affinity-groups': strs(this.json, 'AffinityGroupIDs').map((id) => ({ id })) }
        : {}),
      ...(keyPair ? { 'ssh-keys': [{ name: keyPair }] } : {}),
    };
    const entry = await ledger.intend(
      'instance',
      { by: 'label', value: `${ID_LABEL}=${this.machineId}` },
      `instance ${this.machineName}`,
    );
    const op = await api.mutate(c, 'POST', '/instance', body);
    const id = op.reference?.id ?? '';
    if (id) await ledger.made(entry, id);
    this.set({ ID: id, CreateOperationID: op.id, CreateOperationDone: false });
    await ctx.save();
  }

  /** The create operation first, then the instance's own state; nothing cached between polls. */
  protected async serverStatus(signal?: AbortSignal): Promise<ServerStatus> {
    const c = this.api({ debug: () => {}, signal });
    const opId = str(this.json, 'CreateOperationID');
    if (opId && this.json.CreateOperationDone !== true) {
      const op = await api.operation(c, opId);
      if (op.state === 'pending') return { state: 'creating', running: false };
      if (op.state !== 'success')
        return {
          state: op.state,
          running: false,
          failed: `${op.reason ?? op.state}${op.message ? `: ${op.message}` : ''}`,
        };
      if (!this.instanceId && op.reference?.id) this.set({ ID: op.reference.id });
      this.set({ CreateOperationDone: true });
    }
    const i = await api.instance(c, this.instanceId);
    this.lastInstance = i.state === 'running' ? i : undefined;
    return {
      state: i.state,
      running: i.state === 'running',
      failed: i.state === 'error' ? 'error' : undefined,
    };
  }

  protected async serverAddress(ctx: DriverContext): Promise<string> {
    const i = this.lastInstance ?? (await api.instance(this.api(ctx), this.instanceId));
    const ip = i['public-ip'];
    if (!ip) throw new MachineError(`${this.serverLabel()} runs but has no public IPv4 address`);
    return ip;
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    // Connected on first use: a machine whose create stopped before it knew its zone has nothing to delete.
    let conn: CloudConnection | undefined;
    const c = () => {
      conn ??= this.api(ctx);
      return conn;
    };
    const wait = (op: api.Operation, what: string) => api.waitOperation(c(), op, what, this.opts(ctx.signal));
    const usedBy = async (sg: string) =>
      (await api.instances(c())).filter((i) => i['security-groups']?.some((g) => g.id === sg));
    return {
      instance: {
        lookup: async (f) => {
          const [k, v] = f.value.split('=');
          return (await api.instances(c())).filter((i) => i.labels?.[k] === v).map((i) => i.id);
        },
        // Waited for: the groups and key it uses can go only once it has.
        delete: async (id) => {
          await wait(await api.mutate(c(), 'DELETE', `/instance/${id}`), `deleting instance ${id}`);
        },
        byHand: (id) => `exo compute instance delete --zone ${this.zone} ${id}`,
      },
      ssh_key: {
        lookup: async (f) => (await api.sshKeys(c())).filter((k) => k.name === f.value).map((k) => k.name),
        delete: async (name) => {
          await wait(
            await api.mutate(c(), 'DELETE', `/ssh-key/${encodeURIComponent(name)}`),
            `deleting SSH key ${name}`,
          );
        },
        byHand: (name) => `exo compute ssh-key delete ${name}`,
      },
      security_group: {
        lookup: async (f) =>
          (await api.securityGroups(c())).filter((g) => g.name === f.value).map((g) => g.id),
        keep: async (id) => {
          const users = await usedBy(id);
          return users.length
            ? `other instances use it (${users.map((i) => i.name).join(', ')}); delete it once they are gone`
            : '';
        },
        delete: async (id) => {
          await wait(
            await api.mutate(c(), 'DELETE', `/security-group/${id}`),
            `deleting security group ${id}`,
          );
        },
        byHand: (id) => `exo compute security-group delete ${id}`,
      },
      anti_affinity_group: {
        lookup: async (f) =>
          (await api.antiAffinityGroups(c())).filter((g) => g.name === f.value).map((g) => g.id),
        keep: async (id) => {
          const n = (await api.antiAffinityGroup(c(), id)).instances?.length ?? 0;
          return n ? `${n} other instance(s) are in it; delete it once they are gone` : '';
        },
        delete: async (id) => {
          await wait(
            await api.mutate(c(), 'DELETE', `/anti-affinity-group/${id}`),
            `deleting anti-affinity group ${id}`,
          );
        },
        byHand: (id) => `exo compute anti-affinity-group delete ${id}`,
      },
    };
  }

  private async power(ctx: DriverContext, command: 'start' | 'stop' | 'reboot'): Promise<void> {
    const id = this.instanceId;
    if (!id)
      throw new MachineError(
        `machine "${this.machineName}" has no instance (its create did not finish); remove it with rm`,
      );
    const c = this.api(ctx);
    await api.waitOperation(
      c,
      await api.mutate(c, 'PUT', `/instance/${id}:${command}`),
      `${command} of ${this.serverLabel()}`,
      this.opts(ctx.signal),
    );
  }

  async start(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'start');
  }
  async stop(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'stop');
  }
  async restart(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'reboot');
  }
  /** Exoscale has no forced power-off: the original's Kill was Stop too. */
  async kill(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'stop');
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    const id = this.instanceId;
    if (!id) return 'NotFound';
    try {
      return machineState(
        (await api.instance(this.api(signal ? { debug: () => {}, signal } : undefined), id)).state,
      );
    } catch (err) {
      if (isGone(err)) return 'NotFound';
      throw err;
    }
  }
}

/** The zone's API base: its api-endpoint (with Exoscale's /v2 when it names only a host). */
function zoneURL(zone: api.Zone, fallback: string): string {
  const e = zone['api-endpoint'];
  if (!e) return fallback;
  const u = new URL(e);
  return u.pathname === '/' || u.pathname === '' ? `${u.origin}/v2` : e.replace(/\/+$/, '');
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  const key = flagString(p, 'exoscale-api-key');
  const secret = flagString(p, 'exoscale-api-secret-key') || process.env.EXOSCALE_API_SECRET_KEY || '';
  if (!key || !secret) throw new MachineError(CREDENTIALS_HELP);
  const url = flagString(p, 'exoscale-url');
  if (url && url !== V1_ENDPOINT) {
    let u: URL | undefined;
    try {
      u = new URL(url);
    } catch {}
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:'))
      throw new MachineError(`--exoscale-url "${url}" is not an http(s) URL`);
    if (/\/compute\/?$/.test(u.pathname))
      throw new MachineError(
        `--exoscale-url ${url} is a v1 (CloudStack) endpoint, which Exoscale retired; give a v2 endpoint such as ${DEFAULT_ENDPOINT}`,
      );
  }
  const profile = flagString(p, 'exoscale-instance-profile');
  if (!instanceTypeName(profile))
    throw new MachineError(
      `--exoscale-instance-profile ${profile}: expected family.size (standard.small) or one of the original's names (Micro, Tiny, Small, Medium, Large, Extra-large, Huge, Mega, Titan, Jumbo)`,
    );
  const disk = flagInt(p, 'exoscale-disk-size');
  if (disk < 10 || disk > 51200)
    throw new MachineError(`--exoscale-disk-size ${disk}: Exoscale takes 10 to 51200 (GiB)`);
  const badName = [
    ...flagSlice(p, 'exoscale-security-group'),
    ...flagSlice(p, 'exoscale-affinity-group'),
  ].find((n) => n.length > 255);
  if (badName) throw new MachineError(`group name ${badName.slice(0, 40)}... is longer than Exoscale's 255`);
  const json: DriverJSON = {
    ...base,
    URL: url,
    APIKey: key,
    APISecretKey: secret,
    InstanceProfile: profile,
    DiskSize: disk,
    Image: flagString(p, 'exoscale-image'),
    SecurityGroups: flagSlice(p, 'exoscale-security-group'),
    AffinityGroups: flagSlice(p, 'exoscale-affinity-group'),
    AvailabilityZone: flagString(p, 'exoscale-availability-zone'),
    SSHUser: flagString(p, 'exoscale-ssh-user'),
    SSHKey: flagString(p, 'exoscale-ssh-key'),
    UserDataFile: flagString(p, 'exoscale-userdata'),
    EnginePort: 2376,
    MachineID: randomBytes(5).toString('hex'),
    ID: '',
    KeyPair: '',
    Ledger: [],
  };
  return new ExoscaleDriver(json);
}

export const exoscaleDriver: DriverModule = {
  name: 'exoscale',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new ExoscaleDriver(mergeDriverJSON(json, {}));
  },
};
