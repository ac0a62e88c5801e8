import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagSlice, flagString } from '../../flags/def.js';
import { ipVersion } from '../../ip.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { bool, mergeDriverJSON, num, sshOnlyEngine, str } from '../base.js';
import { CloudDriver } from '../cloud/driver.js';
import { isGone, isRefusal } from '../cloud/errors.js';
import { cleanupError, deleteLedger, LEDGER_KEY, type Ledger, type ResourceKind } from '../cloud/ledger.js';
import { isSwarmMember } from '../cloud/swarm-ports.js';
import { type ServerStatus, waitUntilRunning } from '../cloud/wait.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import { API_VERSION, ARM, type Provider, type TokenSource } from './api.js';
import { azureCloud, azureTokenSource } from './auth/index.js';
import { DEFAULT_ENVIRONMENT, flags, REQUIRED } from './flags.js';
import { OperationFailedError } from './lro.js';
import {
  compareVersions,
  groupAndName,
  locationKey,
  machineState,
  networkNameProblem,
  type OpenPort,
  parseOpenPort,
  parseTags,
  parseURN,
  powerState,
  reservedUser,
  resourceGroupProblem,
  securityRules,
} from './state.js';

/**
 * The `azure` driver: a Linux virtual machine in Azure Resource Manager with a managed OS disk,
 * reached over SSH at its public (or private) address. Create makes, in order and each recorded
 * in the ledger before its PUT: the resource group (only when absent), the virtual network and
 * subnet (only when absent), a network security group, a public IP, a NIC, the availability set
 * (only when absent) and the VM. rm deletes exactly those, newest first; a resource group,
 * network or availability set that others now use is left.
 */

/** The original polled every 5 s; a VM's instance view is polled no faster. */
const POLL_MS = 5000;
/** Azure takes at most 64 KiB of custom data (87380 characters of base64). */
const MAX_CUSTOM_DATA = 64 * 1024;
/** The address space of a new virtual network, as the original made it. */
const VNET_SPACE = ['192.168.0.0/16', '10.0.0.0/8', '172.16.0.0/12'];
/** The tag every resource this driver makes carries: which machine made it. */
const MACHINE_TAG = 'docker-machine';

/** The resource provider and noun of each kind in the ledger. */
const KINDS: Record<string, { provider: Provider; noun: string }> = {
  resource_group: { provider: 'resources', noun: 'resource group' },
  virtual_network: { provider: 'network', noun: 'virtual network' },
  subnet: { provider: 'network', noun: 'subnet' },
  network_security_group: { provider: 'network', noun: 'network security group' },
  public_ip: { provider: 'network', noun: 'public IP address' },
  network_interface: { provider: 'network', noun: 'network interface' },
  availability_set: { provider: 'compute', noun: 'availability set' },
  disk: { provider: 'disks', noun: 'managed disk' },
  virtual_machine: { provider: 'compute', noun: 'virtual machine' },
};

interface Resource<P = Record<string, unknown>> {
  id: string;
  name: string;
  location?: string;
  properties?: P;
}
interface IPConfig {
  properties?: { privateIPAddress?: string; publicIPAddress?: { id: string } };
}

class AzureDriver extends CloudDriver {
  readonly driverName = 'azure';
  protected readonly provider = 'Azure';
  protected readonly serverNoun = 'virtual machine';
  protected readonly pollIntervalMs = POLL_MS;
  private readonly clients = new WeakMap<object, ARM>();
  private tokens: TokenSource | undefined;
  private notifyTo: ((line: string) => void) | undefined;
  private lastNotify = '';

  /**
   * An ARM client for this command (its debug lines and its signal); one sign-in per process,
   * shared by every client, its token asked for again only after a 401.
   */
  private arm(ctx?: Pick<DriverContext, 'debug' | 'signal' | 'log'>): ARM {
    if (ctx?.log) this.notifyTo = ctx.log;
    const key: object = ctx ?? this;
    const known = this.clients.get(key);
    if (known) return known;
    const cloud = azureCloud(str(this.json, 'Environment') || DEFAULT_ENVIRONMENT, {
      resourceManager:
        str(this.json, 'ResourceManagerEndpoint') || process.env.AZURE_RESOURCE_MANAGER_ENDPOINT,
      authorityHost: str(this.json, 'AuthorityHost') || process.env.AZURE_AUTHORITY_HOST,
    });
    this.tokens ??= lazyTokens(() =>
      azureTokenSource({
        cloud,
        subscriptionId: this.subscription,
        tenantId: str(this.json, 'TenantID') || undefined,
        clientId: str(this.json, 'ClientID') || undefined,
        clientSecret: str(this.json, 'ClientSecret') || undefined,
        clientCertificatePath: str(this.json, 'ClientCertificate') || undefined,
        cacheDir: join(str(this.json, 'StorePath'), 'credentials', 'azure'),
        env: process.env,
        // The device code and its URL: the user must see them, whatever the command.
        notify: (line) => {
          if (line === this.lastNotify) return;
          this.lastNotify = line;
          if (this.notifyTo) this.notifyTo(line);
          else process.stderr.write(`${line}\n`);
        },
        signal: ctx?.signal,
        debug: ctx?.debug,
      }),
    );
    const arm = new ARM({
      endpoint: cloud.resourceManager,
      subscription: this.subscription,
      tokens: this.tokens,
      ctx,
    });
    this.clients.set(key, arm);
    return arm;
  }

  /**
   * The create got as far as the VM: its id saved, or (a machine the original made, whose
   * config.json has no VMID) an address. The VM's id follows from the group and name either way.
   */
  private get hasVM(): boolean {
    return !!(str(this.json, 'VMID') || str(this.json, 'IPAddress'));
  }

  private get subscription(): string {
    return str(this.json, 'SubscriptionID');
  }
  private get group(): string {
    return str(this.json, 'ResourceGroup');
  }
  private get location(): string {
    return str(this.json, 'Location');
  }

  /** The resource id of a resource in a group: /subscriptions/<s>/resourceGroups/<g>/providers/<type>/<name>. */
  private rid(group: string, type: string, name: string): string {
    return `/subscriptions/${this.subscription}/resourceGroups/${group}/providers/${type}/${name}`;
  }
  private groupId(group = this.group): string {
    return `/subscriptions/${this.subscription}/resourceGroups/${group}`;
  }
  private vmId(): string {
    return this.rid(this.group, 'Microsoft.Compute/virtualMachines', this.machineName);
  }
  private vnetRef(): { group: string; name: string } {
    return groupAndName(str(this.json, 'VirtualNetwork'), this.group);
  }

  /** A resource id as a request path with its provider's api-version. */
  private at(id: string, provider: Provider, query = ''): string {
    return `${id}?${query ? `${query}&` : ''}api-version=${API_VERSION[provider]}`;
  }

  private tags(): Record<string, string> {
    const v = this.json.Tags;
    const user = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
    return { ...user, [MACHINE_TAG]: this.machineName };
  }

  private strings(key: string): string[] {
    const v = this.json[key];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }

  protected serverLabel(): string {
    return `virtual machine ${this.machineName}`;
  }

  /** The other machines of a swarm reach this one at its private address, in the virtual network. */
  async clusterAddress(): Promise<string> {
    return str(this.json, 'PrivateIPAddress') || this.getIP();
  }

  private swarmPort(): number | undefined {
    if (!bool(this.json, 'SwarmMaster')) return undefined;
    const m = /:(\d+)\/?$/.exec(str(this.json, 'SwarmHost'));
    return m ? Number(m[1]) : 3376;
  }

  /** Everything the VM needs exists and is allowed, before anything is made. */
  async preCreateCheck(ctx: DriverContext): Promise<void> {
    const name = this.machineName;
    if (name.length > 64)
      throw new MachineError(
        `Azure refuses a Linux VM name of more than 64 characters; choose a shorter machine name`,
      );
    const customData = str(this.json, 'CustomDataFile');
    if (customData) {
      const st = await stat(customData).catch(() => undefined);
      if (!st?.isFile()) throw new MachineError(`custom-data file ${customData} could not be found`);
      if (st.size > MAX_CUSTOM_DATA)
        throw new MachineError(
          `custom-data file ${customData} is ${st.size} bytes; Azure takes at most 64 KiB`,
        );
    }
    const arm = this.arm(ctx);

    // The subscription: its token (tenant found from its sign-in challenge) and its state.
    const sub = await arm
      .get<{ state?: string; displayName?: string }>(arm.path('subscriptions', ''))
      .catch((err) => {
        if (isGone(err))
          throw new MachineError(
            `subscription ${this.subscription} does not exist or these credentials cannot see it (${errorMessage(err)})`,
          );
        throw err;
      });
    if (sub.state && sub.state !== 'Enabled')
      throw new MachineError(`subscription ${this.subscription} is ${sub.state}; Azure makes nothing in it`);

    const locs = await arm.list<{
      name: string;
      displayName?: string;
      availabilityZoneMappings?: { logicalZone: string }[];
    }>(arm.path('subscriptions', '/locations'));
    const want = locationKey(this.location);
    const loc = locs.find((l) => locationKey(l.name) === want || locationKey(l.displayName ?? '') === want);
    if (!loc)
      throw new MachineError(
        `location ${this.location} is not a region of this subscription; regions: ${locs
          .map((l) => l.name)
          .sort()
          .join(', ')}`,
      );
    this.set({ Location: loc.name });
    const zone = str(this.json, 'AvailabilityZone');
    const zones = loc.availabilityZoneMappings?.map((z) => z.logicalZone);
    if (zone && zones && !zones.includes(zone))
      throw new MachineError(
        `location ${loc.name} has no availability zone ${zone} (${zones.length ? `its zones: ${zones.sort().join(', ')}` : 'it has none'}); leave out --azure-availability-zone or choose another location`,
      );

    // The resource providers the VM needs, registered as the original did.
    for (const ns of ['Microsoft.Compute', 'Microsoft.Network']) {
      const p = await arm.get<{ registrationState?: string }>(arm.path('resources', `/providers/${ns}`));
      if (p.registrationState === 'Registered') continue;
      ctx.log(
        `Registering the resource provider ${ns} (it was ${p.registrationState ?? 'not registered'})...`,
      );
      await arm.action(arm.path('resources', `/providers/${ns}/register`), `registration of ${ns}`);
      const started = Date.now();
      for (;;) {
        const s = await arm.get<{ registrationState?: string }>(arm.path('resources', `/providers/${ns}`));
        if (s.registrationState === 'Registered') break;
        if (Date.now() - started > 5 * 60_000)
          throw new MachineError(
            `the resource provider ${ns} is still ${s.registrationState} after 5 minutes`,
          );
        await new Promise((r) => setTimeout(r, arm.lro.defaultIntervalMs));
      }
    }

    const size = str(this.json, 'Size');
    const sizes = await arm.list<{ name: string; numberOfCores?: number }>(
      arm.path('compute', `/providers/Microsoft.Compute/locations/${loc.name}/vmSizes`),
    );
    const found = sizes.find((s) => s.name.toLowerCase() === size.toLowerCase());
    if (!found)
      throw new MachineError(
        `VM size ${size} is not offered in ${loc.name}; see az vm list-sizes --location ${loc.name} (e.g. ${sizes
          .slice(0, 3)
          .map((s) => s.name)
          .join(', ')})`,
      );
    this.set({ Size: found.name });

    await this.resolveImage(arm, loc.name);
    await this.checkReferences(arm, loc.name);
  }

  /** publisher:offer:sku:version to a version the location has ("latest": the newest). */
  private async resolveImage(arm: ARM, location: string): Promise<void> {
    const image = str(this.json, 'Image');
    const urn = parseURN(image);
    if (!urn)
      throw new MachineError(
        `--azure-image ${image}: expected publisher:offer:sku:version, e.g. Canonical:ubuntu-24_04-lts:server:latest`,
      );
    const base = `/providers/Microsoft.Compute/locations/${location}/publishers/${urn.publisher}/artifacttypes/vmimage/offers/${urn.offer}/skus/${urn.sku}/versions`;
    let versions: { name: string }[];
    try {
      versions = await arm.list<{ name: string }>(arm.path('compute', base));
    } catch (err) {
      if (isGone(err))
        throw new MachineError(
          `image ${image} is not offered in ${location} (${errorMessage(err)}); see az vm image list --all --publisher ${urn.publisher} --location ${location}`,
        );
      throw err;
    }
    const names = versions.map((v) => v.name);
    let version = urn.version;
    if (version.toLowerCase() === 'latest') {
      version = names.sort(compareVersions).at(-1) ?? '';
    } else if (!names.includes(version)) {
      version = '';
    }
    if (!version)
      throw new MachineError(
        `image ${image} has ${names.length ? `no version ${urn.version} in ${location} (it has ${names.slice(-3).join(', ')})` : `no versions in ${location}`}; see az vm image list --all --publisher ${urn.publisher} --location ${location}`,
      );
    this.set({ ImageVersion: version });
  }

  /** The group, network, NSG and public IP given exist (or can be made), and no name is taken. */
  private async checkReferences(arm: ARM, location: string): Promise<void> {
    const same = (r: Resource | undefined) =>
      !r?.location || locationKey(r.location) === locationKey(location);
    const group = await arm.find<Resource>(this.at(this.groupId(), 'resources'));
    this.set({ GroupExisted: !!group });
    const vnet = this.vnetRef();
    const vnetId = this.rid(vnet.group, 'Microsoft.Network/virtualNetworks', vnet.name);
    if (
      vnet.group !== this.group &&
      !(await arm.find<Resource>(this.at(this.groupId(vnet.group), 'resources')))
    )
      throw new MachineError(
        `resource group ${vnet.group} of --azure-vnet ${str(this.json, 'VirtualNetwork')} does not exist`,
      );
    const existingVnet =
      group || vnet.group !== this.group ? await arm.find<Resource>(this.at(vnetId, 'network')) : undefined;
    if (existingVnet && !same(existingVnet))
      throw new MachineError(
        `virtual network ${vnet.name} is in ${existingVnet.location}, not ${location}; a VM's NIC must be in its network's region`,
      );
    if (!existingVnet && vnet.group !== this.group)
      throw new MachineError(`virtual network ${vnet.name} does not exist in resource group ${vnet.group}`);
    const nsg = str(this.json, 'NSG');
    if (nsg) {
      const r = groupAndName(nsg, this.group);
      const found = await arm.find<Resource>(
        this.at(this.rid(r.group, 'Microsoft.Network/networkSecurityGroups', r.name), 'network'),
      );
      if (!found)
        throw new MachineError(
          `network security group ${r.name} does not exist in resource group ${r.group}`,
        );
      if (!same(found))
        throw new MachineError(`network security group ${r.name} is in ${found.location}, not ${location}`);
    }
    const pip = str(this.json, 'PublicIP');
    if (pip) {
      const r = groupAndName(pip, this.group);
      const found = await arm.find<Resource<{ ipConfiguration?: unknown }>>(
        this.at(this.rid(r.group, 'Microsoft.Network/publicIPAddresses', r.name), 'network'),
      );
      if (!found)
        throw new MachineError(`public IP address ${r.name} does not exist in resource group ${r.group}`);
      if (!same(found))
        throw new MachineError(`public IP address ${r.name} is in ${found.location}, not ${location}`);
      if (found.properties?.ipConfiguration)
        throw new MachineError(`public IP address ${r.name} is attached to another network interface`);
    }
    if (!group) return;
    const name = this.machineName;
    const taken: [string, string, Provider][] = [
      ['Microsoft.Compute/virtualMachines', name, 'compute'],
      ['Microsoft.Network/networkInterfaces', `${name}-nic`, 'network'],
    ];
    if (!nsg) taken.push(['Microsoft.Network/networkSecurityGroups', `${name}-firewall`, 'network']);
    if (!pip && !bool(this.json, 'NoPublicIP'))
      taken.push(['Microsoft.Network/publicIPAddresses', `${name}-ip`, 'network']);
    for (const [type, n, provider] of taken) {
      if (await arm.find(this.at(this.rid(this.group, type, n), provider)))
        throw new MachineError(
          `${type
            .split('/')[1]
            .replace(/([a-z])([A-Z])/g, '$1 $2')
            .toLowerCase()
            .replace(
              /s$/,
              '',
            )} ${n} already exists in resource group ${this.group}; choose another machine name or remove it`,
        );
    }
    const avset = str(this.json, 'AvailabilitySet');
    if (avset && !str(this.json, 'AvailabilityZone')) {
      const a = await arm.find<Resource>(
        this.at(this.rid(this.group, 'Microsoft.Compute/availabilitySets', avset), 'compute'),
      );
      if (a && !same(a))
        throw new MachineError(`availability set ${avset} is in ${a.location}, not ${location}`);
    }
  }

  override async create(ctx: DriverContext): Promise<void> {
    const ledger = this.ledger(ctx);
    try {
      ctx.log('Creating SSH key...');
      await this.createKey(ctx);
      await this.createNetwork(ctx, ledger);
      ctx.log('Creating virtual machine...');
      await this.createServer(ctx, ledger);
    } catch (err) {
      // Azure refused a step (a 4xx, or an operation that ended Failed): nothing more will be
      // made, so what this create made is deleted now. A lost answer or a kill is left to rm.
      if (!isRefusal(err) && !(err instanceof OperationFailedError)) throw err;
      const c = await deleteLedger(ledger, this.resourceKinds(ctx), ctx.debug);
      const undone = c.deleted.length ? `; removed what this create had made: ${c.deleted.join(', ')}` : '';
      if (c.failed.length)
        throw new MachineError(`${errorMessage(err)}${undone}\n${cleanupError(this.provider, c).message}`);
      throw new MachineError(`${errorMessage(err)}${undone}`, { cause: err });
    }
    ctx.log(`Waiting for ${this.serverLabel()} to be running...`);
    await waitUntilRunning({
      what: this.serverLabel(),
      poll: () => this.serverStatus(ctx.signal),
      intervalMs: this.pollIntervalMs,
      timeoutMs: this.runningTimeoutMs,
      log: ctx.log,
      signal: ctx.signal,
    });
    const ip = await this.serverAddress(ctx);
    this.set({ IPAddress: ip });
    await ctx.save();
    ctx.log(`Virtual machine address: ${ip}`);
  }

  /** The SSH key is the machine's own: Azure takes its public half in the VM's osProfile. */
  protected async createKey(ctx: DriverContext): Promise<void> {
    const dest = join(str(this.json, 'StorePath'), 'machines', this.machineName, 'id_rsa');
    const { generateSSHKeyPair } = await import('../../ssh/keys.js');
    const { publicLine } = await generateSSHKeyPair(dest);
    this.set({ SSHKeyPath: dest, SSHPublicKey: publicLine.trim() });
    await ctx.save();
  }

  /**
   * One resource: made (and recorded before its PUT) when it does not exist, used as it is when
   * it does. Returns its id.
   */
  private async ensure(
    ctx: DriverContext,
    ledger: Ledger,
    kind: keyof typeof KINDS,
    id: string,
    body: unknown,
    known?: boolean,
  ): Promise<boolean> {
    const arm = this.arm(ctx);
    const { provider, noun } = KINDS[kind];
    const name = id.split('/').at(-1) ?? id;
    const exists = known ?? !!(await arm.find(this.at(id, provider)));
    if (exists) {
      ctx.log(`Using the existing ${noun} ${name}`);
      return false;
    }
    ctx.log(`Creating ${noun} ${name}...`);
    const entry = await ledger.intend(kind, { by: 'id', value: id }, `${noun} ${name}`);
    const made = await arm.put<Resource>(this.at(id, provider), body, `create of ${noun} ${name}`);
    await ledger.made(entry, made.id || id);
    return true;
  }

  private async createNetwork(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const location = this.location;
    const tags = this.tags();
    await this.ensure(
      ctx,
      ledger,
      'resource_group',
      this.groupId(),
      { location, tags },
      bool(this.json, 'GroupExisted') || undefined,
    );
    const vnet = this.vnetRef();
    const vnetId = this.rid(vnet.group, 'Microsoft.Network/virtualNetworks', vnet.name);
    const subnet = {
      name: str(this.json, 'SubnetName'),
      properties: { addressPrefix: str(this.json, 'SubnetPrefix') },
    };
    // A new network is made with its subnet in the same PUT: machines of a fleet that make it
    // at once then send the same body, where a network PUT without subnets would take away the
    // subnet another has just made.
    const newNet = await this.ensure(ctx, ledger, 'virtual_network', vnetId, {
      location,
      tags,
      properties: { addressSpace: { addressPrefixes: VNET_SPACE }, subnets: [subnet] },
    });
    const subnetId = `${vnetId}/subnets/${subnet.name}`;
    if (!newNet) await this.ensure(ctx, ledger, 'subnet', subnetId, { properties: subnet.properties });
    let nsgId: string;
    const nsg = str(this.json, 'NSG');
    if (nsg) {
      const r = groupAndName(nsg, this.group);
      nsgId = this.rid(r.group, 'Microsoft.Network/networkSecurityGroups', r.name);
      ctx.log(`Using the existing network security group ${r.name}`);
    } else {
      nsgId = this.rid(this.group, 'Microsoft.Network/networkSecurityGroups', `${this.machineName}-firewall`);
      const open = this.strings('OpenPorts')
        .map(parseOpenPort)
        .filter((p): p is OpenPort => !!p);
      await this.ensure(
        ctx,
        ledger,
        'network_security_group',
        nsgId,
        {
          location,
          tags,
          properties: {
            securityRules: securityRules({
              sshPort: num(this.json, 'SSHPort') || 22,
              dockerPort: dockerRulePort(this.json),
              swarmPort: this.swarmPort(),
              swarmNode: isSwarmMember(this.json),
              open,
            }),
          },
        },
        false,
      );
    }
    let pipId = '';
    const zone = str(this.json, 'AvailabilityZone');
    if (str(this.json, 'PublicIP')) {
      const r = groupAndName(str(this.json, 'PublicIP'), this.group);
      pipId = this.rid(r.group, 'Microsoft.Network/publicIPAddresses', r.name);
      ctx.log(`Using the existing public IP address ${r.name}`);
    } else if (!bool(this.json, 'NoPublicIP')) {
      pipId = this.rid(this.group, 'Microsoft.Network/publicIPAddresses', `${this.machineName}-ip`);
      const dns = str(this.json, 'DNSLabel');
      // Basic public IPs are retired: a Standard one, which is always Static.
      await this.ensure(
        ctx,
        ledger,
        'public_ip',
        pipId,
        {
          location,
          tags,
          sku: { name: 'Standard', tier: 'Regional' },
          ...(zone ? { zones: [zone] } : {}),
          properties: {
            publicIPAllocationMethod: 'Static',
            publicIPAddressVersion: 'IPv4',
            ...(dns ? { dnsSettings: { domainNameLabel: dns } } : {}),
          },
        },
        false,
      );
    }
    const nicId = this.rid(this.group, 'Microsoft.Network/networkInterfaces', `${this.machineName}-nic`);
    const privateIP = str(this.json, 'PrivateIPAddr');
    await this.ensure(
      ctx,
      ledger,
      'network_interface',
      nicId,
      {
        location,
        tags,
        properties: {
          ipConfigurations: [
            {
              name: 'ip',
              properties: {
                subnet: { id: subnetId },
                privateIPAllocationMethod: privateIP ? 'Static' : 'Dynamic',
                ...(privateIP ? { privateIPAddress: privateIP } : {}),
                ...(pipId ? { publicIPAddress: { id: pipId } } : {}),
              },
            },
          ],
          networkSecurityGroup: { id: nsgId },
          ...(bool(this.json, 'AcceleratedNetworking') ? { enableAcceleratedNetworking: true } : {}),
        },
      },
      false,
    );
    const avset = str(this.json, 'AvailabilitySet');
    let avsetId = '';
    if (avset && !zone) {
      avsetId = this.rid(this.group, 'Microsoft.Compute/availabilitySets', avset);
      await this.ensure(ctx, ledger, 'availability_set', avsetId, {
        location,
        tags,
        // Managed disks need an Aligned set.
        sku: { name: 'Aligned' },
        properties: {
          platformFaultDomainCount: num(this.json, 'FaultDomainCount') || 2,
          platformUpdateDomainCount: num(this.json, 'UpdateDomainCount') || 5,
        },
      });
    }
    this.set({ NICID: nicId, PublicIPID: pipId, AvailabilitySetID: avsetId });
    await ctx.save();
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const arm = this.arm(ctx);
    const user = str(this.json, 'SSHUser');
    const customFile = str(this.json, 'CustomDataFile');
    const customData = customFile ? (await readFile(customFile)).toString('base64') : '';
    const image = parseURN(str(this.json, 'Image'));
    if (!image)
      throw new MachineError(
        `--azure-image ${str(this.json, 'Image')}: expected publisher:offer:sku:version`,
      );
    const diskSize = num(this.json, 'DiskSize');
    const zone = str(this.json, 'AvailabilityZone');
    const avsetId = str(this.json, 'AvailabilitySetID');
    const body = {
      location: this.location,
      tags: this.tags(),
      ...(zone ? { zones: [zone] } : {}),
      properties: {
        hardwareProfile: { vmSize: str(this.json, 'Size') },
        storageProfile: {
          imageReference: {
            publisher: image.publisher,
            offer: image.offer,
            sku: image.sku,
            version: str(this.json, 'ImageVersion') || image.version,
          },
          osDisk: {
            name: `${this.machineName}-os-disk`,
            createOption: 'FromImage',
            caching: 'ReadWrite',
            // The disk goes with the VM: rm's delete of the VM takes it.
            deleteOption: 'Delete',
            managedDisk: { storageAccountType: str(this.json, 'DiskSKU') || str(this.json, 'StorageType') },
            ...(diskSize ? { diskSizeGB: diskSize } : {}),
          },
        },
        osProfile: {
          computerName: this.machineName,
          adminUsername: user,
          ...(customData ? { customData } : {}),
          linuxConfiguration: {
            disablePasswordAuthentication: true,
            ssh: {
              publicKeys: [
                { path: `/home/${user}/.ssh/authorized_keys`, keyData: str(this.json, 'SSHPublicKey') },
              ],
            },
          },
        },
        networkProfile: {
          networkInterfaces: [{ id: str(this.json, 'NICID'), properties: { primary: true } }],
        },
        ...(avsetId ? { availabilitySet: { id: avsetId } } : {}),
      },
    };
    const id = this.vmId();
    // The OS disk is made by the VM's PUT and goes with its delete; recorded on its own too, so
    // that a VM whose create failed does not leave its disk behind.
    const diskId = this.rid(this.group, 'Microsoft.Compute/disks', `${this.machineName}-os-disk`);
    const disk = await ledger.intend(
      'disk',
      { by: 'id', value: diskId },
      `managed disk ${this.machineName}-os-disk`,
    );
    const entry = await ledger.intend(
      'virtual_machine',
      { by: 'id', value: id },
      `virtual machine ${this.machineName}`,
    );
    const vm = await arm.put<Resource>(
      this.at(id, 'compute'),
      body,
      `create of virtual machine ${this.machineName}`,
    );
    await ledger.made(entry, vm.id || id);
    await ledger.made(disk, diskId);
    this.set({ VMID: vm.id || id });
    await ctx.save();
  }

  private async instanceView(
    signal?: AbortSignal,
  ): Promise<{ statuses?: { code?: string; displayStatus?: string }[] }> {
    const arm = signal ? this.arm({ debug: () => {}, signal, log: () => {} }) : this.arm();
    return arm.get(this.at(`${this.vmId()}/instanceView`, 'compute'));
  }

  protected async serverStatus(signal?: AbortSignal): Promise<ServerStatus> {
    const v = await this.instanceView(signal);
    const prov = (v.statuses ?? []).find((s) => s.code?.startsWith('ProvisioningState/'))?.code ?? '';
    if (/ProvisioningState\/failed/i.test(prov))
      return {
        state: prov,
        running: false,
        failed: (v.statuses ?? []).map((s) => s.displayStatus).join(', '),
      };
    const p = powerState(v.statuses);
    return { state: p || prov.replace('ProvisioningState/', '') || '', running: p === 'running' };
  }

  protected async serverAddress(ctx: DriverContext): Promise<string> {
    const arm = this.arm(ctx);
    const nic = await arm.get<Resource<{ ipConfigurations?: IPConfig[] }>>(
      this.at(
        str(this.json, 'NICID') ||
          this.rid(this.group, 'Microsoft.Network/networkInterfaces', `${this.machineName}-nic`),
        'network',
      ),
    );
    const cfg = nic.properties?.ipConfigurations?.[0]?.properties;
    const privateIP = cfg?.privateIPAddress ?? '';
    this.set({ PrivateIPAddress: privateIP });
    if (bool(this.json, 'UsePrivateIP') || bool(this.json, 'NoPublicIP')) {
      if (!privateIP)
        throw new MachineError(`network interface ${this.machineName}-nic has no private address`);
      return privateIP;
    }
    const pipId = str(this.json, 'PublicIPID') || cfg?.publicIPAddress?.id || '';
    const pip = await arm.get<Resource<{ ipAddress?: string; dnsSettings?: { fqdn?: string } }>>(
      this.at(pipId, 'network'),
    );
    const ip = pip.properties?.ipAddress ?? '';
    if (!ip || ipVersion(ip) === 0)
      throw new MachineError(`public IP address ${pip.name} has no address yet`);
    if (pip.properties?.dnsSettings?.fqdn) ctx.log(`Public DNS name: ${pip.properties.dnsSettings.fqdn}`);
    return ip;
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    const arm = this.arm(ctx);
    const lookup = (provider: Provider) => async (f: { by: string; value: string }) =>
      (await arm.find(this.at(f.value, provider))) ? [f.value] : [];
    // A resource whose create is still running (a create killed before its answer) refuses a
    // delete until it ends; Azure holds a deleted VM's NIC for a while: ARM.delete asks again.
    const del = (provider: Provider, noun: string) => (id: string) =>
      arm.delete(this.at(id, provider), `delete of ${noun} ${id.split('/').at(-1)}`);
    const byHand = (id: string) => `az resource delete --ids ${id}`;
    const out: Record<string, ResourceKind> = {};
    for (const [kind, { provider, noun }] of Object.entries(KINDS))
      out[kind] = { lookup: lookup(provider), delete: del(provider, noun), byHand };
    out.resource_group.byHand = (id) => `az group delete --name ${id.split('/').at(-1)}`;
    out.resource_group.keep = async (id) => {
      const left = await arm.list<Resource>(this.at(`${id}/resources`, 'resources'));
      return left.length
        ? `it holds ${left.length} other resource(s) (${left
            .slice(0, 3)
            .map((r) => r.name)
            .join(', ')})`
        : '';
    };
    // A network this machine made goes unless another subnet was added to it or a NIC of
    // another machine is in its subnet.
    out.virtual_network.keep = async (id) => {
      const v = await arm.find<Resource<{ subnets?: Resource<{ ipConfigurations?: unknown[] }>[] }>>(
        this.at(id, 'network'),
      );
      const subnets = v?.properties?.subnets ?? [];
      const others = subnets.filter((x) => x.name !== str(this.json, 'SubnetName')).map((x) => x.name);
      if (others.length) return `it has other subnets (${others.join(', ')})`;
      const used = subnets.reduce((n, x) => n + (x.properties?.ipConfigurations?.length ?? 0), 0);
      return used ? `${used} other network interface(s) are in its subnet` : '';
    };
    out.subnet.keep = async (id) => {
      const s = await arm.find<Resource<{ ipConfigurations?: unknown[] }>>(this.at(id, 'network'));
      const n = s?.properties?.ipConfigurations?.length ?? 0;
      return n ? `${n} other network interface(s) use it` : '';
    };
    out.network_security_group.keep = async (id) => {
      const s = await arm.find<Resource<{ networkInterfaces?: unknown[]; subnets?: unknown[] }>>(
        this.at(id, 'network'),
      );
      const n = (s?.properties?.networkInterfaces?.length ?? 0) + (s?.properties?.subnets?.length ?? 0);
      return n ? `${n} other network interface(s) or subnet(s) use it` : '';
    };
    out.availability_set.keep = async (id) => {
      const s = await arm.find<Resource<{ virtualMachines?: unknown[] }>>(this.at(id, 'compute'));
      const n = s?.properties?.virtualMachines?.length ?? 0;
      return n ? `${n} other virtual machine(s) are in it` : '';
    };
    // Azure holds a deleted VM's NIC for a while: asked again until it lets go.
    return out;
  }

  private async power(ctx: DriverContext, action: string, query = ''): Promise<void> {
    if (!this.hasVM)
      throw new MachineError(
        `machine "${this.machineName}" has no virtual machine (its create did not finish); remove it with rm`,
      );
    const arm = this.arm(ctx);
    await arm.action(
      this.at(`${this.vmId()}/${action}`, 'compute', query),
      `${action} of ${this.serverLabel()}`,
    );
  }

  /** Polls the instance view until the VM is in one of `want`, as the original waited after each action. */
  private async waitPower(ctx: DriverContext, want: string[], timeoutMs: number): Promise<void> {
    const started = Date.now();
    for (;;) {
      const p = powerState((await this.instanceView(ctx.signal)).statuses);
      if (want.includes(p)) return;
      if (Date.now() - started > timeoutMs)
        throw new MachineError(
          `${this.serverLabel()} is still ${p || 'without a power state'} after ${Math.round(timeoutMs / 1000)} s`,
        );
      await new Promise((r) =>
        setTimeout(r, Math.min(this.pollIntervalMs, this.arm().lro.defaultIntervalMs)),
      );
    }
  }

  /**
   * A machine the original made has no ledger: what its create made is known by the original's
   * names, as its rm knew it (the VM, NIC, public IP, NSG, then the availability set, subnet and
   * network when nothing else uses them; never the group). Its OS disk blob is not ours to find.
   */
  override async remove(ctx: DriverContext): Promise<void> {
    if (!(LEDGER_KEY in this.json)) {
      const ledger = this.ledger(ctx);
      const m = this.machineName;
      const vnet = this.vnetRef();
      const vnetId = this.rid(vnet.group, 'Microsoft.Network/virtualNetworks', vnet.name);
      const original: [string, string][] = [
        [
          'availability_set',
          this.rid(this.group, 'Microsoft.Compute/availabilitySets', str(this.json, 'AvailabilitySet')),
        ],
        [
          'network_security_group',
          this.rid(this.group, 'Microsoft.Network/networkSecurityGroups', `${m}-firewall`),
        ],
        ['virtual_network', vnetId],
        ['subnet', `${vnetId}/subnets/${str(this.json, 'SubnetName')}`],
        ['public_ip', this.rid(this.group, 'Microsoft.Network/publicIPAddresses', `${m}-ip`)],
        ['network_interface', this.rid(this.group, 'Microsoft.Network/networkInterfaces', `${m}-nic`)],
        ['virtual_machine', this.vmId()],
      ];
      for (const [kind, id] of original)
        await ledger.intend(kind, { by: 'id', value: id }, `${KINDS[kind].noun} ${id.split('/').at(-1)}`);
    }
    await super.remove(ctx);
  }

  async start(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'start');
    await this.waitPower(ctx, ['running'], 10 * 60_000);
    // A deallocated VM may come back with another address.
    const ip = await this.serverAddress(ctx);
    if (ip !== str(this.json, 'IPAddress')) {
      this.set({ IPAddress: ip });
      await ctx.save();
    }
  }
  async stop(ctx: DriverContext): Promise<void> {
    if (bool(this.json, 'DeallocateOnStop')) {
      await this.power(ctx, 'deallocate');
      await this.waitPower(ctx, ['deallocated'], 10 * 60_000);
      return;
    }
    ctx.log(
      'NOTICE: Stopping an Azure Virtual Machine only powers it off; Azure keeps billing its compute until it is deallocated (az vm deallocate, or create with --azure-deallocate-on-stop).',
    );
    await this.power(ctx, 'powerOff');
    await this.waitPower(ctx, ['stopped', 'deallocated'], 5 * 60_000);
  }
  async restart(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'restart');
    await this.waitPower(ctx, ['running'], 10 * 60_000);
  }
  async kill(ctx: DriverContext): Promise<void> {
    await this.power(ctx, 'powerOff', 'skipShutdown=true');
    await this.waitPower(ctx, ['stopped', 'deallocated'], 5 * 60_000);
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    if (!this.hasVM) return 'NotFound';
    try {
      return machineState((await this.instanceView(signal)).statuses);
    } catch (err) {
      if (isGone(err)) return 'NotFound';
      throw err;
    }
  }

  override getSSHUsername(): string {
    return str(this.json, 'SSHUser') || 'docker-user';
  }
}

/** Signs in at the first request only: a command that asks Azure nothing never signs in. */
/** The port the network security group opens to the engine: none for an SSH-only engine. */
export function dockerRulePort(json: DriverJSON): number | undefined {
  return sshOnlyEngine(json) ? undefined : num(json, 'DockerPort') || 2376;
}

function lazyTokens(signIn: () => Promise<TokenSource>): TokenSource {
  let source: Promise<TokenSource> | undefined;
  let ready: TokenSource | undefined;
  return {
    get describe() {
      return ready?.describe ?? 'Azure sign-in';
    },
    get hint() {
      return (
        ready?.hint ??
        'check the Azure credentials (--azure-client-id, --azure-client-secret) or sign in again'
      );
    },
    async token() {
      source ??= signIn().then((s) => {
        ready = s;
        return s;
      });
      try {
        return await (await source).token();
      } catch (err) {
        // A sign-in that failed is tried again by the next request, not remembered.
        if (!ready) source = undefined;
        throw err;
      }
    },
    invalidate() {
      ready?.invalidate();
    },
  };
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  for (const [flag, env] of REQUIRED) {
    if (!flagString(p, flag))
      throw new MachineError(`azure driver requires the "${flag}" option: give --${flag} or set $${env}`);
  }
  const environment = flagString(p, 'azure-environment');
  for (const f of ['azure-resource-manager-endpoint', 'azure-authority-host']) {
    const v = flagString(p, f);
    if (!v) continue;
    let ok = false;
    try {
      ok = new URL(v).protocol === 'https:';
    } catch {}
    if (!ok) throw new MachineError(`--${f} "${v}" is not an https URL (Azure sends tokens only over TLS)`);
  }
  azureCloud(environment, {});
  const group = flagString(p, 'azure-resource-group');
  const gp = resourceGroupProblem(group);
  if (gp) throw new MachineError(`--azure-resource-group ${group}: ${gp}`);
  const vnet = groupAndName(flagString(p, 'azure-vnet'), group);
  for (const [flag, value] of [
    ['azure-vnet', vnet.name],
    ['azure-subnet', flagString(p, 'azure-subnet')],
    ['azure-availability-set', flagString(p, 'azure-availability-set')],
  ] as const) {
    const np = networkNameProblem(value);
    if (np) throw new MachineError(`--${flag} ${value}: ${np}`);
  }
  const prefix = flagString(p, 'azure-subnet-prefix');
  const pm = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(prefix);
  if (!pm || ipVersion(pm[1]) !== 4 || Number(pm[2]) > 29)
    throw new MachineError(
      `--azure-subnet-prefix ${prefix}: expected an IPv4 CIDR block such as 192.168.0.0/16 (at most /29)`,
    );
  const user = flagString(p, 'azure-ssh-user');
  if (reservedUser(user))
    throw new MachineError(
      `--azure-ssh-user ${user}: Azure refuses this administrator name; choose another (the default is docker-user)`,
    );
  const privateIP = flagString(p, 'azure-private-ip-address');
  if (privateIP && ipVersion(privateIP) !== 4)
    throw new MachineError(`--azure-private-ip-address ${privateIP}: expected an IPv4 address in the subnet`);
  const noPublic = flagBool(p, 'azure-no-public-ip');
  const dns = flagString(p, 'azure-dns');
  if (dns && noPublic)
    throw new MachineError('--azure-dns names a public IP address: not with --azure-no-public-ip');
  if (dns && !/^[a-z][a-z0-9-]{1,61}[a-z0-9]$/.test(dns))
    throw new MachineError(
      `--azure-dns ${dns}: expected 3-63 lower-case letters, digits and -, starting with a letter`,
    );
  const publicIP = flagString(p, 'azure-public-ip');
  if (publicIP && noPublic)
    throw new MachineError('give either --azure-public-ip or --azure-no-public-ip, not both');
  if (publicIP && dns)
    throw new MachineError('--azure-dns sets the label of a new public IP: not with --azure-public-ip');
  const zone = flagString(p, 'azure-availability-zone');
  if (zone && !/^[1-3]$/.test(zone))
    throw new MachineError(`--azure-availability-zone ${zone}: expected 1, 2 or 3`);
  if (zone && p.explicit.has('azure-availability-set'))
    throw new MachineError(
      'a VM is in an availability zone or an availability set, not both: give one of them',
    );
  const fault = flagInt(p, 'azure-fault-domain-count');
  if (fault < 1 || fault > 3) throw new MachineError(`--azure-fault-domain-count ${fault}: expected 1-3`);
  const update = flagInt(p, 'azure-update-domain-count');
  if (update < 1 || update > 20)
    throw new MachineError(`--azure-update-domain-count ${update}: expected 1-20`);
  const diskSize = flagInt(p, 'azure-disk-size');
  if (diskSize < 0 || diskSize > 4095)
    throw new MachineError(`--azure-disk-size ${diskSize}: expected 1-4095 GB (0: the image's)`);
  const sku = flagString(p, 'azure-disk-sku') || flagString(p, 'azure-storage-type');
  const SKUS = [
    'Standard_LRS',
    'StandardSSD_LRS',
    'Premium_LRS',
    'StandardSSD_ZRS',
    'Premium_ZRS',
    'PremiumV2_LRS',
    'UltraSSD_LRS',
  ];
  const skuName = SKUS.find((s) => s.toLowerCase() === sku.toLowerCase());
  if (!skuName)
    throw new MachineError(
      `disk SKU ${sku} (--azure-storage-type or --azure-disk-sku): expected one of ${SKUS.join(', ')}`,
    );
  const openPorts = flagSlice(p, 'azure-open-port');
  for (const op of openPorts) {
    if (!parseOpenPort(op))
      throw new MachineError(`--azure-open-port ${op}: expected PORT or PORT/tcp or PORT/udp, PORT 1-65535`);
  }
  const tags = parseTags(flagString(p, 'azure-tags'));
  if (tags.problem) throw new MachineError(tags.problem);
  const cert = flagString(p, 'azure-client-certificate');
  const secret = flagString(p, 'azure-client-secret');
  if (cert && secret)
    throw new MachineError('give either --azure-client-secret or --azure-client-certificate, not both');
  if ((cert || secret) && !flagString(p, 'azure-client-id'))
    throw new MachineError('a service principal needs its application id: give --azure-client-id too');
  const image = flagString(p, 'azure-image');
  if (!parseURN(image))
    throw new MachineError(
      `--azure-image ${image}: expected publisher:offer:sku:version, e.g. Canonical:ubuntu-24_04-lts:server:latest`,
    );
  const json: DriverJSON = {
    ...base,
    SSHUser: user,
    SSHPort: flagInt(p, 'azure-ssh-port'),
    Environment: environment,
    SubscriptionID: flagString(p, 'azure-subscription-id'),
    TenantID: flagString(p, 'azure-tenant-id'),
    ClientID: flagString(p, 'azure-client-id'),
    // Kept as the original kept it (config.json is 0600), so that later commands need no environment.
    ClientSecret: secret,
    ClientCertificate: cert,
    ResourceManagerEndpoint: flagString(p, 'azure-resource-manager-endpoint'),
    AuthorityHost: flagString(p, 'azure-authority-host'),
    ResourceGroup: group,
    DockerPort: flagInt(p, 'azure-docker-port'),
    EnginePort: flagInt(p, 'azure-docker-port'),
    Location: flagString(p, 'azure-location'),
    Size: flagString(p, 'azure-size'),
    Image: image,
    VirtualNetwork: flagString(p, 'azure-vnet'),
    SubnetName: flagString(p, 'azure-subnet'),
    SubnetPrefix: prefix,
    NSG: flagString(p, 'azure-nsg'),
    AvailabilitySet: zone ? '' : flagString(p, 'azure-availability-set'),
    FaultDomainCount: fault,
    UpdateDomainCount: update,
    AvailabilityZone: zone,
    ManagedDisks: true,
    CustomDataFile: flagString(p, 'azure-custom-data'),
    PrivateIPAddr: privateIP,
    UsePrivateIP: flagBool(p, 'azure-use-private-ip'),
    NoPublicIP: noPublic,
    StaticPublicIP: true,
    PublicIP: publicIP,
    DNSLabel: dns,
    StorageType: flagString(p, 'azure-storage-type'),
    DiskSKU: skuName,
    DiskSize: diskSize,
    OpenPorts: openPorts,
    AcceleratedNetworking: flagBool(p, 'azure-accelerated-networking'),
    Tags: tags.tags,
    DeallocateOnStop: flagBool(p, 'azure-deallocate-on-stop'),
    Ledger: [],
  };
  return new AzureDriver(json);
}

export const azureDriver: DriverModule = {
  name: 'azure',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new AzureDriver(mergeDriverJSON(json, {}));
  },
};
