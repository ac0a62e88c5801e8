import { randomBytes } from 'node:crypto';
import { chmod, copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { bool, mergeDriverJSON, num, sshOnlyEngine, str } from '../base.js';
import type { CloudConnection } from '../cloud/connection.js';
import { CloudDriver } from '../cloud/driver.js';
import { CloudAPIError, isGone } from '../cloud/errors.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import type { ServerStatus } from '../cloud/wait.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import * as api from './api.js';
import { authenticate, type Session } from './auth/keystone.js';
import { flags, interfaceOf } from './flags.js';
import { credentialsOf, settingsFromFlags, tlsOf } from './settings.js';
import { machineState, parseMetadata, pickAddress } from './state.js';

/**
 * The `openstack` driver: a Nova server on Keystone v3, with Neutron (or nova-network) for the
 * network, floating IPs and security groups. What create makes (key pair, a security group when
 * none is named, the server, a floating IP it allocated) is in the ledger; rm deletes exactly
 * those, and a floating IP it reused from the pool stays in the pool.
 */

const TAG_KEY = 'docker-machine-id';
const MAX_USER_DATA = 65_535;

export class OpenStackDriver extends CloudDriver {
  readonly driverName: string = 'openstack';
  protected readonly provider: string = 'OpenStack';
  protected readonly serverNoun = 'server';
  /** Nova documents no poll rate; the original polled every 4 s. */
  protected readonly pollIntervalMs = Number(process.env.MACHINE_OPENSTACK_POLL_MS) || 4000;
  private session: Promise<api.OpenStackAPI> | undefined;
  private lastServer: api.Server | undefined;

  constructor(json: DriverJSON) {
    super(json);
    this.runningTimeoutMs = (num(json, 'ActiveTimeout') || 200) * 1000;
  }

  /** Whether this cloud has security groups and floating IPs this driver manages (Rackspace: no). */
  protected readonly managesNetwork: boolean = true;

  protected async authenticate(ctx?: Pick<DriverContext, 'debug' | 'signal'>): Promise<Session> {
    return authenticate(credentialsOf(this.json), tlsOf(this.json), ctx);
  }

  protected get iface(): string {
    return interfaceOf(str(this.json, 'EndpointType')) ?? 'public';
  }

  /** One token per command: every call of a create or an rm shares it. */
  protected api(ctx?: Pick<DriverContext, 'debug' | 'signal'>): Promise<api.OpenStackAPI> {
    this.session ??= this.authenticate(ctx).then(
      (s) =>
        new api.OpenStackAPI(s, this.iface, str(this.json, 'Region'), tlsOf(this.json), ctx, () =>
          this.authenticate(ctx),
        ),
    );
    this.session.catch(() => {
      this.session = undefined;
    });
    return this.session;
  }

  /** Requests made so far (bench/cloud-create.ts counts a create's). */
  async requestCount(): Promise<number> {
    return this.session ? (await this.session).requests + 1 : 0;
  }

  private async nova(ctx?: Pick<DriverContext, 'debug' | 'signal'>): Promise<CloudConnection> {
    return (await this.api(ctx)).conn('compute');
  }
  private async neutron(ctx?: Pick<DriverContext, 'debug' | 'signal'>): Promise<CloudConnection> {
    return (await this.api(ctx)).conn('network');
  }

  private get serverId(): string {
    return str(this.json, 'MachineId');
  }
  private get tag(): string {
    return str(this.json, 'MachineTag');
  }
  private get useNeutron(): boolean {
    return this.managesNetwork && !bool(this.json, 'ComputeNetwork');
  }

  protected serverLabel(): string {
    const id = this.serverId;
    return `server ${this.machineName}${id ? ` (id ${id})` : ''}`;
  }

  private list(key: string): string[] {
    const v = this.json[key];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
  }

  /**
   * Everything the server needs, found before anything is made: a bad name is one line and the
   * project is as it was. The ids found are kept, so rm and later commands need no lookups.
   */
  async preCreateCheck(ctx: DriverContext): Promise<void> {
    const keyFile = str(this.json, 'PrivateKeyFile');
    if (keyFile && !(await stat(keyFile).catch(() => undefined)))
      throw new MachineError(`--openstack-private-key-file ${keyFile} does not exist`);
    const udFile = str(this.json, 'UserDataFile');
    if (udFile) {
      const st = await stat(udFile).catch(() => undefined);
      if (!st?.isFile()) throw new MachineError(`--openstack-user-data-file ${udFile} could not be found`);
      if (st.size > MAX_USER_DATA)
        throw new MachineError(
          `--openstack-user-data-file ${udFile} is ${st.size} bytes; Nova takes at most 65535`,
        );
    }
    const os = await this.api(ctx);
    const nova = os.conn('compute');
    // A cloud without Neutron in its catalog is a nova-network one, whatever the flag says.
    if (this.managesNetwork && !os.has('network') && !bool(this.json, 'ComputeNetwork')) {
      if (str(this.json, 'NetworkName'))
        throw new MachineError(
          '--openstack-net-name needs Neutron, which this cloud lacks; give --openstack-net-id',
        );
      this.set({ ComputeNetwork: true });
    }
    ctx.log('Checking the flavor, image and network...');
    await this.checkFlavor(nova);
    await this.checkImage(os);
    if (this.managesNetwork) await this.checkNetworks(os);
    const az = str(this.json, 'AvailabilityZone');
    if (az) {
      const b = await nova.get<{
        availabilityZoneInfo?: { zoneName: string; zoneState?: { available?: boolean } }[];
      }>('os-availability-zone');
      const zones = b?.availabilityZoneInfo ?? [];
      const z = zones.find((x) => x.zoneName === az);
      if (!z)
        throw new MachineError(
          `availability zone ${az} does not exist; zones: ${zones.map((x) => x.zoneName).join(', ') || 'none'}`,
        );
      if (z.zoneState?.available === false)
        throw new MachineError(`availability zone ${az} is not available now; choose another`);
    }
    const kp = str(this.json, 'KeyPairName');
    if (kp) {
      await nova.get(`os-keypairs/${encodeURIComponent(kp)}`).catch((err) => {
        if (isGone(err))
          throw new MachineError(`key pair ${kp} (--openstack-keypair-name) does not exist in this project`);
        throw err;
      });
    }
    await this.checkServerGroup(nova);
    const vt = str(this.json, 'VolumeType');
    if (vt && os.has('volume')) {
      const types = await api.listAll<{ id: string; name: string }>(
        os.conn('volume'),
        'types',
        'volume_types',
      );
      if (!types.some((t) => t.name === vt || t.id === vt))
        throw new MachineError(
          `volume type ${vt} does not exist; types: ${types.map((t) => t.name).join(', ') || 'none'}`,
        );
    }
    await this.checkVolume(os);
  }

  /**
   * The boot volume named by Rancher's flags: an existing one (by id, or by name without
   * --openstack-boot-from-volume) must be there and detached; a new one's name must be free, so
   * that rm after a killed create finds only this machine's by it.
   */
  private async checkVolume(os: api.OpenStackAPI): Promise<void> {
    const id = str(this.json, 'VolumeId');
    const name = str(this.json, 'VolumeName');
    if (!id && !name) return;
    const flag = id ? '--openstack-volume-id' : '--openstack-volume-name';
    if (!os.has('volume'))
      throw new MachineError(
        `${flag} needs Cinder (a block-storage service), which this cloud's catalog lacks`,
      );
    const cinder = os.conn('volume');
    const named = async () =>
      (await api.listAll<api.Volume>(cinder, `volumes/detail${api.q({ name })}`, 'volumes')).filter(
        (v) => v.name === name,
      );
    if (name && bool(this.json, 'BootFromVolume')) {
      if ((await named()).length)
        throw new MachineError(
          `a volume named ${name} exists already: leave out --openstack-boot-from-volume to boot from it, or give the new one another name`,
        );
      return;
    }
    let vol: api.Volume;
    if (id) {
      const b = await cinder
        .get<{ volume?: api.Volume }>(`volumes/${encodeURIComponent(id)}`)
        .catch((err) => {
          if (isGone(err)) throw new MachineError(`volume ${id} (--openstack-volume-id) does not exist`);
          throw err;
        });
      if (!b?.volume) throw new MachineError(`OpenStack answered GET volumes/${id} without a volume`);
      vol = b.volume;
    } else {
      const hits = await named();
      if (!hits.length) throw new MachineError(`volume ${name} (--openstack-volume-name) does not exist`);
      if (hits.length > 1)
        throw new MachineError(
          `${hits.length} volumes are named ${name}: give one with --openstack-volume-id (${hits.map((v) => v.id).join(', ')})`,
        );
      vol = hits[0];
    }
    if (vol.status !== 'available')
      throw new MachineError(
        `volume ${id || name} is ${vol.status}, not available: a server can boot only from a detached volume`,
      );
    this.set({ VolumeId: vol.id, VolumeExisting: true });
  }

  private async checkFlavor(nova: CloudConnection): Promise<void> {
    const id = str(this.json, 'FlavorId');
    if (id) {
      await nova.get(`flavors/${encodeURIComponent(id)}`).catch((err) => {
        if (isGone(err)) throw new MachineError(`flavor ${id} (--openstack-flavor-id) does not exist`);
        throw err;
      });
      return;
    }
    const name = str(this.json, 'FlavorName');
    const all = await api.listAll<api.Flavor>(nova, 'flavors/detail', 'flavors');
    const f = all.find((x) => x.name === name);
    if (!f)
      throw new MachineError(
        `flavor ${name} (--openstack-flavor-name) does not exist; flavors: ${
          all
            .map((x) => x.name)
            .slice(0, 12)
            .join(', ') || 'none'
        }`,
      );
    this.set({ FlavorId: f.id });
  }

  private async checkImage(os: api.OpenStackAPI): Promise<void> {
    const id = str(this.json, 'ImageId');
    const name = str(this.json, 'ImageName');
    const glance = os.has('image');
    const c = glance ? os.conn('image') : os.conn('compute');
    if (id) {
      const img = await c
        .get<api.Image & { image?: api.Image }>(`images/${encodeURIComponent(id)}`)
        .catch((err) => {
          if (isGone(err)) throw new MachineError(`image ${id} (--openstack-image-id) does not exist`);
          throw err;
        });
      const status = (img?.image ?? img)?.status;
      if (status && !/^active$/i.test(status)) throw new MachineError(`image ${id} is ${status}, not active`);
      return;
    }
    const found = glance
      ? await api.listAll<api.Image>(c, `images${api.q({ name })}`, 'images')
      : await api.listAll<api.Image>(c, `images/detail${api.q({ name })}`, 'images');
    const hits = found.filter((i) => i.name === name && (!i.status || /^active$/i.test(i.status)));
    if (!hits.length)
      throw new MachineError(`image ${name} (--openstack-image-name) does not exist or is not active`);
    if (hits.length > 1)
      throw new MachineError(
        `${hits.length} images are named ${name}: give one by id with --openstack-image-id (${hits.map((i) => i.id).join(', ')})`,
      );
    this.set({ ImageId: hits[0].id });
  }

  private async checkNetworks(os: api.OpenStackAPI): Promise<void> {
    const nova = os.conn('compute');
    const netId = str(this.json, 'NetworkId');
    const netName = str(this.json, 'NetworkName');
    const pool = str(this.json, 'FloatingIpPool');
    if (!this.useNeutron) {
      if (pool) {
        const b = await nova.get<{ floating_ip_pools?: { name: string }[] }>('os-floating-ip-pools');
        const pools = b?.floating_ip_pools ?? [];
        if (!pools.some((p) => p.name === pool))
          throw new MachineError(
            `floating IP pool ${pool} does not exist; pools: ${pools.map((p) => p.name).join(', ') || 'none'}`,
          );
      }
      if (this.list('SecurityGroups').length === 0) this.set({ SecurityGroups: ['default'] });
      return;
    }
    const neutron = os.conn('network');
    if (netId) {
      await neutron.get(`networks/${encodeURIComponent(netId)}`).catch((err) => {
        if (isGone(err)) throw new MachineError(`network ${netId} (--openstack-net-id) does not exist`);
        throw err;
      });
    } else if (netName) {
      const nets = (
        await api.listAll<api.Network>(neutron, `networks${api.q({ name: netName })}`, 'networks')
      ).filter((n) => n.name === netName);
      if (!nets.length) throw new MachineError(`network ${netName} (--openstack-net-name) does not exist`);
      if (nets.length > 1)
        throw new MachineError(
          `${nets.length} networks are named ${netName}: give one with --openstack-net-id`,
        );
      this.set({ NetworkId: nets[0].id });
    }
    if (pool) {
      const nets = (
        await api.listAll<api.Network>(neutron, `networks${api.q({ name: pool })}`, 'networks')
      ).filter((n) => n.name === pool || n.id === pool);
      if (!nets.length)
        throw new MachineError(
          `floating IP pool ${pool} (--openstack-floatingip-pool) is not a network here`,
        );
      if (nets[0]['router:external'] === false)
        throw new MachineError(
          `network ${pool} is not external: it cannot give floating IPs; name an external network`,
        );
      this.set({ FloatingIpPoolId: nets[0].id });
    }
    const groups = this.list('SecurityGroups');
    if (groups.length) {
      const all = await api.listAll<api.SecurityGroup>(neutron, 'security-groups', 'security_groups');
      const missing = groups.filter((g) => !all.some((x) => x.name === g || x.id === g));
      if (missing.length)
        throw new MachineError(
          `security group ${missing.join(', ')} (--openstack-sec-groups) does not exist; leave it out to have one made for this machine`,
        );
    }
  }

  private async checkServerGroup(nova: CloudConnection): Promise<void> {
    const id = str(this.json, 'ServerGroupID');
    const name = str(this.json, 'ServerGroupName');
    if (!id && !name) return;
    const b = await nova.get<{ server_groups?: { id: string; name: string }[] }>('os-server-groups');
    const groups = b?.server_groups ?? [];
    const g = groups.find((x) => (id ? x.id === id : x.name === name));
    if (!g)
      throw new MachineError(
        `server group ${id || name} does not exist; groups: ${groups.map((x) => x.name).join(', ') || 'none'}`,
      );
    this.set({ ServerGroupID: g.id });
  }

  protected async createKey(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const dest = join(str(this.json, 'StorePath'), 'machines', this.machineName, 'id_rsa');
    const nova = await this.nova(ctx);
    const given = str(this.json, 'KeyPairName');
    if (given) {
      // The user's own key pair: its private key is copied, its public key is the project's.
      const b = await nova.get<{ keypair?: { public_key?: string } }>(
        `os-keypairs/${encodeURIComponent(given)}`,
      );
      await copyFile(str(this.json, 'PrivateKeyFile'), dest);
      await chmod(dest, 0o600);
      if (b?.keypair?.public_key) await writeFile(`${dest}.pub`, `${b.keypair.public_key.trim()}\n`);
      this.set({ SSHKeyPath: dest });
      await ctx.save();
      return;
    }
    const { generateSSHKeyPair } = await import('../../ssh/keys.js');
    const { publicLine } = await generateSSHKeyPair(dest);
    const name = `${this.machineName}-${this.tag}`.replace(/\./g, '_');
    this.set({ SSHKeyPath: dest });
    const entry = await ledger.intend('keypair', { by: 'name', value: name }, `key pair ${name}`);
    await nova.post('os-keypairs', { keypair: { name, public_key: publicLine.trim() } });
    await ledger.made(entry, name);
    this.set({ KeyPairName: name, KeyPairMade: true });
    await ctx.save();
  }

  /**
   * Ingress this machine needs: SSH and the engine from anywhere; a swarm manager's ports (Swarm
   * mode's 2377 and the original's standalone port) from anywhere; and a swarm member's gossip
   * and overlay ports from its network's subnets, where the other members are (each machine has
   * a group of its own, so a rule naming the group would admit no other member).
   */
  private rules(cidrs: string[]): { protocol: string; port: number; from?: string }[] {
    const r: { protocol: string; port: number; from?: string }[] = [
      { protocol: 'tcp', port: num(this.json, 'SSHPort') || 22 },
      ...(sshOnlyEngine(this.json) ? [] : [{ protocol: 'tcp', port: num(this.json, 'EnginePort') || 2376 }]),
    ];
    if (bool(this.json, 'SwarmMaster')) {
      const m = /:(\d+)\/?$/.exec(str(this.json, 'SwarmHost'));
      r.push({ protocol: 'tcp', port: 2377 }, { protocol: 'tcp', port: m ? Number(m[1]) : 3376 });
    }
    if (str(this.json, 'SwarmHost'))
      for (const from of cidrs)
        r.push(
          { protocol: 'tcp', port: 7946, from },
          { protocol: 'udp', port: 7946, from },
          { protocol: 'udp', port: 4789, from },
        );
    return r.filter(
      (x, i) => r.findIndex((y) => y.port === x.port && y.protocol === x.protocol && y.from === x.from) === i,
    );
  }

  /** The CIDRs of the machine's network, of its IP version, for a swarm member's rules. */
  private async memberCIDRs(ctx: DriverContext, neutron: CloudConnection): Promise<string[]> {
    if (!str(this.json, 'SwarmHost')) return [];
    const net = str(this.json, 'NetworkId');
    if (!net) {
      ctx.log(
        'Swarm ports 7946 and 4789 are not opened: give the network (--openstack-net-name) to open them to it',
      );
      return [];
    }
    const v = num(this.json, 'IpVersion') || 4;
    const subnets = await api.listAll<{ network_id: string; cidr: string; ip_version: number }>(
      neutron,
      `subnets${api.q({ network_id: net })}`,
      'subnets',
    );
    return subnets.filter((x) => x.network_id === net && Number(x.ip_version) === v).map((x) => x.cidr);
  }

  /** A security group of this machine's own when none is named (Neutron only). */
  protected override async createFirewall(ctx: DriverContext, ledger: Ledger): Promise<void> {
    if (!this.useNeutron || this.list('SecurityGroups').length) return;
    const neutron = await this.neutron(ctx);
    const name = `docker-machine-${this.machineName}-${this.tag}`;
    const cidrs = await this.memberCIDRs(ctx, neutron);
    const entry = await ledger.intend(
      'security_group',
      { by: 'name', value: name },
      `security group ${name}`,
    );
    const b = await neutron.post<{ security_group?: { id: string } }>('security-groups', {
      security_group: { name, description: `docker-machine ${this.machineName}` },
    });
    const id = b?.security_group?.id ?? '';
    if (!id) throw new MachineError(`OpenStack did not say which security group it made for ${name}`);
    await ledger.made(entry, id);
    this.set({ SecurityGroupID: id });
    await ctx.save();
    const v6 = num(this.json, 'IpVersion') === 6;
    for (const rule of this.rules(cidrs)) {
      await neutron.post('security-group-rules', {
        security_group_rule: {
          security_group_id: id,
          direction: 'ingress',
          ethertype: v6 ? 'IPv6' : 'IPv4',
          protocol: rule.protocol,
          port_range_min: rule.port,
          port_range_max: rule.port,
          remote_ip_prefix: rule.from ?? (v6 ? '::/0' : '0.0.0.0/0'),
        },
      });
    }
  }

  /** POST /servers's body: the request the original sent, with the additions. */
  async serverBody(): Promise<Record<string, unknown>> {
    const udFile = str(this.json, 'UserDataFile');
    const userData = udFile ? await readFile(udFile) : undefined;
    const md = parseMetadata(str(this.json, 'Metadata'));
    const groups = str(this.json, 'SecurityGroupID')
      ? [str(this.json, 'SecurityGroupID')]
      : this.list('SecurityGroups');
    const image = str(this.json, 'ImageId');
    const existingVolume = bool(this.json, 'VolumeExisting') ? str(this.json, 'VolumeId') : '';
    const madeVolume = str(this.json, 'BootVolumeId');
    const bfv = bool(this.json, 'BootFromVolume') || !!existingVolume;
    const device = str(this.json, 'VolumeDevicePath');
    const net = str(this.json, 'NetworkId');
    const server: Record<string, unknown> = {
      name: this.machineName,
      flavorRef: str(this.json, 'FlavorId'),
      ...(bfv ? {} : { imageRef: image }),
      key_name: str(this.json, 'KeyPairName'),
      metadata: { ...(typeof md === 'string' ? {} : md), [TAG_KEY]: this.tag },
      ...(userData ? { user_data: userData.toString('base64') } : {}),
      ...(groups.length ? { security_groups: groups.map((name) => ({ name })) } : {}),
      ...(str(this.json, 'AvailabilityZone')
        ? { availability_zone: str(this.json, 'AvailabilityZone') }
        : {}),
      ...(bool(this.json, 'ConfigDrive') ? { config_drive: true } : {}),
      ...(net ? { networks: [{ uuid: net }] } : {}),
    };
    if (existingVolume || madeVolume) {
      // An existing volume is the user's: the server's delete leaves it.
      server.block_device_mapping_v2 = [
        {
          boot_index: 0,
          uuid: existingVolume || madeVolume,
          source_type: 'volume',
          destination_type: 'volume',
          delete_on_termination: !existingVolume,
          ...(device ? { device_name: device } : {}),
        },
      ];
    } else if (bfv) {
      server.block_device_mapping_v2 = [
        {
          boot_index: 0,
          uuid: image,
          source_type: 'image',
          destination_type: 'volume',
          delete_on_termination: true,
          ...(num(this.json, 'VolumeSize') ? { volume_size: num(this.json, 'VolumeSize') } : {}),
          ...(str(this.json, 'VolumeType') ? { volume_type: str(this.json, 'VolumeType') } : {}),
          ...(device ? { device_name: device } : {}),
        },
      ];
    }
    const group = str(this.json, 'ServerGroupID');
    return { server, ...(group ? { 'os:scheduler_hints': { group } } : {}) };
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const nova = await this.nova(ctx);
    if (bool(this.json, 'BootFromVolume') && !bool(this.json, 'VolumeExisting')) {
      await this.bootVolumeSize(nova);
      if (str(this.json, 'VolumeName') && !str(this.json, 'BootVolumeId'))
        await this.createBootVolume(ctx, ledger);
    }
    const body = await this.serverBody();
    const entry = await ledger.intend(
      'server',
      { by: 'metadata', value: this.tag },
      `server ${this.machineName}`,
    );
    const b = await nova.post<{ server?: { id: string } }>('servers', body);
    const id = b?.server?.id ?? '';
    if (!id) throw new MachineError('OpenStack did not say which server it made');
    await ledger.made(entry, id);
    this.set({ MachineId: id });
    await ctx.save();
  }

  /** Nova and Cinder need a new volume's size: --openstack-volume-size, else the flavor's disk. */
  private async bootVolumeSize(nova: CloudConnection): Promise<void> {
    if (num(this.json, 'VolumeSize') > 0) return;
    const b = await nova.get<{ flavor?: api.Flavor }>(
      `flavors/${encodeURIComponent(str(this.json, 'FlavorId'))}`,
    );
    const disk = Number(b?.flavor?.disk) || 0;
    if (disk <= 0)
      throw new MachineError(
        `flavor ${str(this.json, 'FlavorName') || str(this.json, 'FlavorId')} has no disk size to make the boot volume with: give --openstack-volume-size`,
      );
    this.set({ VolumeSize: disk });
  }

  /** The boot volume named by --openstack-volume-name, from the image, made before the server. */
  private async createBootVolume(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const os = await this.api(ctx);
    const cinder = os.conn('volume');
    const name = str(this.json, 'VolumeName');
    const entry = await ledger.intend('volume', { by: 'name', value: name }, `volume ${name}`);
    const b = await cinder.post<{ volume?: api.Volume }>('volumes', {
      volume: {
        name,
        size: num(this.json, 'VolumeSize'),
        imageRef: str(this.json, 'ImageId'),
        ...(str(this.json, 'VolumeType') ? { volume_type: str(this.json, 'VolumeType') } : {}),
        metadata: { [TAG_KEY]: this.tag },
      },
    });
    const id = b?.volume?.id ?? '';
    if (!id) throw new MachineError(`OpenStack did not say which volume it made for ${name}`);
    await ledger.made(entry, id);
    this.set({ BootVolumeId: id });
    await ctx.save();
    ctx.log(`Volume ${name} (${id}) made from the image; waiting for it to be available...`);
    const started = Date.now();
    for (;;) {
      const v = (await cinder.get<{ volume?: api.Volume }>(`volumes/${id}`))?.volume;
      if (v?.status === 'available') return;
      if (v?.status === 'error')
        throw new MachineError(`volume ${name} (${id}) ended in error while Cinder made it from the image`);
      if (Date.now() - started > this.runningTimeoutMs)
        throw new MachineError(
          `volume ${name} (${id}) was still ${v?.status ?? 'unknown'} after ${Math.round(this.runningTimeoutMs / 1000)} s (--openstack-active-timeout)`,
        );
      await new Promise((r) => setTimeout(r, this.pollIntervalMs));
    }
  }

  protected async serverStatus(signal?: AbortSignal): Promise<ServerStatus> {
    const s = await api.server(await this.nova({ debug: () => {}, signal }), this.serverId);
    this.lastServer = s.status === 'ACTIVE' ? s : undefined;
    const state = machineState(s.status) || s.status;
    return {
      state: s.status === 'BUILD' ? 'Starting (BUILD)' : state,
      running: s.status === 'ACTIVE',
      failed:
        s.status === 'ERROR'
          ? s.fault?.message || 'the server is in ERROR state, without a fault message'
          : undefined,
    };
  }

  protected async serverAddress(ctx: DriverContext): Promise<string> {
    const nova = await this.nova(ctx);
    if (this.managesNetwork && str(this.json, 'FloatingIpPool')) await this.floatingIP(ctx);
    const wanted = {
      version: num(this.json, 'IpVersion') || 4,
      floating: !!str(this.json, 'FloatingIpPool'),
      network: str(this.json, 'NetworkName') || undefined,
    };
    const found = await ctx.waitFor(`an IPv${wanted.version} address of ${this.serverLabel()}`, async () => {
      const s = this.lastServer && !wanted.floating ? this.lastServer : await api.server(nova, this.serverId);
      this.lastServer = undefined;
      const ip = this.addressOf(s, wanted);
      if (!ip)
        throw new MachineError(
          `no ${wanted.floating ? 'floating' : 'fixed'} IPv${wanted.version} address yet (it has: ${
            Object.values(s.addresses ?? {})
              .flat()
              .map((a) => a.addr)
              .join(', ') || 'none'
          })`,
        );
      return ip;
    });
    return found;
  }

  protected addressOf(
    s: api.Server,
    wanted: { version: number; floating: boolean; network?: string },
  ): string {
    return pickAddress(s.addresses, wanted);
  }

  /** A free floating IP of the pool, else one allocated (and recorded: rm releases only that one). */
  private async floatingIP(ctx: DriverContext): Promise<void> {
    const ledger = this.ledger(ctx);
    const pool = str(this.json, 'FloatingIpPool');
    if (!this.useNeutron) {
      const nova = await this.nova(ctx);
      const b = await nova.get<{
        floating_ips?: { id: string; ip: string; pool: string; instance_id?: string | null }[];
      }>('os-floating-ips');
      let ip = (b?.floating_ips ?? []).find((f) => f.pool === pool && !f.instance_id);
      if (!ip) {
        const entry = await ledger.intend(
          'nova_floating_ip',
          { by: 'pool', value: pool },
          `floating IP from ${pool}`,
        );
        const made = await nova.post<{ floating_ip?: { id: string; ip: string; pool: string } }>(
          'os-floating-ips',
          { pool },
        );
        if (!made?.floating_ip)
          throw new MachineError(`OpenStack did not say which floating IP it allocated from ${pool}`);
        ip = made.floating_ip;
        await ledger.made(entry, String(ip.id));
        this.set({ FloatingIpAllocated: true });
      }
      this.set({ FloatingIpID: String(ip.id), FloatingIp: ip.ip });
      await ctx.save();
      await api.action(nova, this.serverId, { addFloatingIp: { address: ip.ip } });
      ctx.log(
        `Floating IP ${ip.ip} ${bool(this.json, 'FloatingIpAllocated') ? 'allocated' : 'reused'} from ${pool}`,
      );
      return;
    }
    const neutron = await this.neutron(ctx);
    const poolId = str(this.json, 'FloatingIpPoolId');
    const port = await ctx.waitFor(`the network port of ${this.serverLabel()}`, async () => {
      const ports = await api.listAll<api.Port>(
        neutron,
        `ports${api.q({ device_id: this.serverId, network_id: str(this.json, 'NetworkId') })}`,
        'ports',
      );
      const p = ports.find((x) => x.device_id === this.serverId);
      if (!p) throw new MachineError('no port yet');
      return p;
    });
    const free = (
      await api.listAll<api.FloatingIP>(
        neutron,
        `floatingips${api.q({ floating_network_id: poolId })}`,
        'floatingips',
      )
    ).filter((f) => !f.port_id && (!f.floating_network_id || f.floating_network_id === poolId));
    for (const f of free) {
      try {
        await neutron.request('PUT', `floatingips/${f.id}`, { floatingip: { port_id: port.id } });
        this.set({ FloatingIpID: f.id, FloatingIp: f.floating_ip_address, FloatingIpAllocated: false });
        await ctx.save();
        ctx.log(`Floating IP ${f.floating_ip_address} reused from ${pool}`);
        return;
      } catch (err) {
        // Another machine took it meanwhile: try the next, or allocate.
        if (!(err instanceof CloudAPIError && err.status === 409)) throw err;
      }
    }
    const description = `docker-machine ${this.machineName} ${this.tag}`;
    const entry = await ledger.intend(
      'floating_ip',
      { by: 'description', value: description },
      `floating IP from ${pool}`,
    );
    const b = await neutron.post<{ floatingip?: api.FloatingIP }>('floatingips', {
      floatingip: { floating_network_id: poolId, port_id: port.id, description },
    });
    const f = b?.floatingip;
    if (!f?.id) throw new MachineError(`OpenStack did not say which floating IP it allocated from ${pool}`);
    await ledger.made(entry, f.id);
    this.set({ FloatingIpID: f.id, FloatingIp: f.floating_ip_address, FloatingIpAllocated: true });
    await ctx.save();
    ctx.log(`Floating IP ${f.floating_ip_address} allocated from ${pool}`);
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    const nova = () => this.nova(ctx);
    const neutron = () => this.neutron(ctx);
    const cinder = async () => (await this.api(ctx)).conn('volume');
    const timeoutMs = this.runningTimeoutMs;
    const interval = this.pollIntervalMs;
    return {
      floating_ip: {
        lookup: async (f) =>
          (await api.listAll<api.FloatingIP>(await neutron(), 'floatingips', 'floatingips'))
            .filter((x) => x.description === f.value)
            .map((x) => x.id),
        delete: async (id) => (await neutron()).delete(`floatingips/${id}`),
        byHand: (id) => `openstack floating ip delete ${id}`,
      },
      nova_floating_ip: {
        // nova-network's floating IPs carry no description: only a recorded id is known.
        lookup: async () => [],
        delete: async (id) => (await nova()).delete(`os-floating-ips/${id}`),
        byHand: (id) => `openstack floating ip delete ${id}`,
      },
      server: {
        lookup: async (f) =>
          f.by === 'id'
            ? []
            : (
                await api.listAll<api.Server>(
                  await nova(),
                  `servers/detail${api.q({ name: `^${escapeRegex(this.machineName)}$` })}`,
                  'servers',
                )
              )
                .filter((s) => s.metadata?.[TAG_KEY] === f.value)
                .map((s) => s.id),
        // Waited for: its ports hold the security group, and its key pair may go only after it.
        delete: async (id) => {
          const c = await nova();
          await c.delete(`servers/${id}`);
          const started = Date.now();
          for (;;) {
            try {
              await api.server(c, id);
            } catch (err) {
              if (isGone(err)) return;
              throw err;
            }
            if (Date.now() - started > timeoutMs)
              throw new MachineError(
                `server ${id} was still there ${Math.round(timeoutMs / 1000)} s after its delete`,
              );
            await new Promise((r) => setTimeout(r, interval));
          }
        },
        byHand: (id) => `openstack server delete ${id}`,
      },
      security_group: {
        lookup: async (f) =>
          (
            await api.listAll<api.SecurityGroup>(
              await neutron(),
              `security-groups${api.q({ name: f.value })}`,
              'security_groups',
            )
          )
            .filter((g) => g.name === f.value)
            .map((g) => g.id),
        keep: async (id) => {
          const ports = (await api.listAll<api.Port>(await neutron(), 'ports', 'ports')).filter((p) =>
            p.security_groups?.includes(id),
          );
          return ports.length
            ? `ports of other servers use it (${ports.map((p) => p.device_id || p.id).join(', ')}); delete it once they are gone`
            : '';
        },
        delete: async (id) => (await neutron()).delete(`security-groups/${id}`),
        byHand: (id) => `openstack security group delete ${id}`,
      },
      volume: {
        lookup: async (f) =>
          (
            await api.listAll<api.Volume>(
              await cinder(),
              `volumes/detail${api.q({ name: f.value })}`,
              'volumes',
            )
          )
            .filter((v) => v.name === f.value)
            .map((v) => v.id),
        // Nova deletes it with the server, or detaches it first: wait out in-use and deleting.
        delete: async (id) => {
          const c = await cinder();
          const started = Date.now();
          for (;;) {
            try {
              await c.delete(`volumes/${id}`);
            } catch (err) {
              if (isGone(err)) return;
              if (!(err instanceof CloudAPIError && err.status === 400) || Date.now() - started > timeoutMs)
                throw err;
              await new Promise((r) => setTimeout(r, interval));
              continue;
            }
            return;
          }
        },
        byHand: (id) => `openstack volume delete ${id}`,
      },
      keypair: {
        lookup: async (f) => {
          const b = await (await nova()).get<{ keypairs?: { keypair: { name: string } }[] }>('os-keypairs');
          return (b?.keypairs ?? []).map((k) => k.keypair.name).filter((n) => n === f.value);
        },
        delete: async (name) => (await nova()).delete(`os-keypairs/${encodeURIComponent(name)}`),
        byHand: (name) => `openstack keypair delete ${name}`,
      },
    };
  }

  /**
   * A machine the original made has no ledger: its server (MachineId) and the key pair it
   * generated (not one given with --openstack-private-key-file) are what it made, as its rm
   * deleted them. A floating IP it allocated was never recorded, so it stays, as with the original.
   */
  override async remove(ctx: DriverContext): Promise<void> {
    if (!Array.isArray(this.json.Ledger) && this.serverId) {
      const kp = str(this.json, 'KeyPairName');
      const entries = [
        ...(kp && !str(this.json, 'PrivateKeyFile')
          ? [{ kind: 'keypair', id: kp, find: { by: 'name', value: kp }, label: `key pair ${kp}` }]
          : []),
        {
          kind: 'server',
          id: this.serverId,
          find: { by: 'id', value: this.serverId },
          label: `server ${this.machineName}`,
        },
      ];
      this.set({ Ledger: entries });
    }
    await super.remove(ctx);
  }

  /** A power action, then its outcome waited for (the original returned at once). */
  private async power(
    ctx: DriverContext,
    body: Record<string, unknown>,
    want: string,
    what: string,
  ): Promise<void> {
    const id = this.serverId;
    if (!id)
      throw new MachineError(
        `machine "${this.machineName}" has no server (its create did not finish); remove it with rm`,
      );
    const nova = await this.nova(ctx);
    await api.action(nova, id, body);
    const started = Date.now();
    let s = await api.server(nova, id);
    while (!(s.status === want && !s['OS-EXT-STS:task_state'])) {
      if (s.status === 'ERROR')
        throw new MachineError(
          `${what} of ${this.serverLabel()} failed: ${s.fault?.message ?? 'ERROR state'}`,
        );
      if (Date.now() - started > this.runningTimeoutMs)
        throw new MachineError(
          `${what} of ${this.serverLabel()}: still ${s.status} after ${Math.round(this.runningTimeoutMs / 1000)} s (--openstack-active-timeout)`,
        );
      await new Promise((r) => setTimeout(r, Math.min(this.pollIntervalMs, 2000)));
      s = await api.server(nova, id);
    }
  }

  async start(ctx: DriverContext): Promise<void> {
    await this.power(ctx, { 'os-start': null }, 'ACTIVE', 'start');
  }
  async stop(ctx: DriverContext): Promise<void> {
    await this.power(ctx, { 'os-stop': null }, 'SHUTOFF', 'stop');
  }
  async restart(ctx: DriverContext): Promise<void> {
    await this.power(ctx, { reboot: { type: 'SOFT' } }, 'ACTIVE', 'restart');
  }
  /** Nova has no power-off without a shutdown signal beyond os-stop: the original's Kill was Stop. */
  async kill(ctx: DriverContext): Promise<void> {
    await this.power(ctx, { 'os-stop': null }, 'SHUTOFF', 'kill');
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    const id = this.serverId;
    if (!id) return 'NotFound';
    try {
      return machineState(
        (await api.server(await this.nova(signal ? { debug: () => {}, signal } : undefined), id)).status,
      );
    } catch (err) {
      if (isGone(err)) return 'NotFound';
      throw err;
    }
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  const json: DriverJSON = {
    ...base,
    ...settingsFromFlags(p),
    SSHUser: p.values.get('openstack-ssh-user') as string,
    SSHPort: p.values.get('openstack-ssh-port') as number,
    EnginePort: 2376,
    MachineId: '',
    MachineTag: randomBytes(5).toString('hex'),
    KeyPairMade: false,
    SecurityGroupID: '',
    FloatingIpID: '',
    FloatingIp: '',
    FloatingIpAllocated: false,
    VolumeExisting: false,
    BootVolumeId: '',
    Ledger: [],
  };
  return new OpenStackDriver(json);
}

export const openstackDriver: DriverModule = {
  name: 'openstack',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new OpenStackDriver(mergeDriverJSON(json, {}));
  },
};
