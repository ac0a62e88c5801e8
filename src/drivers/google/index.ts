import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagSlice, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { bool, mergeDriverJSON, num, sshOnlyEngine, str } from '../base.js';
import { CloudDriver } from '../cloud/driver.js';
import { CloudAPIError } from '../cloud/errors.js';
import { LEDGER_KEY, type Ledger, type LedgerEntry, type ResourceKind } from '../cloud/ledger.js';
import { isSwarmMember, SWARM_NODE_PORTS } from '../cloud/swarm-ports.js';
import type { ServerStatus } from '../cloud/wait.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import {
  type Address,
  ComputeAPI,
  type Disk,
  type Firewall,
  type FirewallAllowed,
  type Instance,
  lastSegment,
  type MachineType,
  type Metadata,
  type Network,
  type Operation,
  type Project,
  type Quota,
  type Region,
  type TokenSource,
  type Zone,
} from './api.js';
import { computeTokens } from './credentials.js';
import { DEFAULT_ENDPOINT, flags } from './flags.js';
import { parseImage, resolveImage } from './images.js';
import { waitOperation } from './operations.js';
import {
  instanceNameProblem,
  machineState,
  openPortProblem,
  parseAccelerator,
  parseLabels,
  parsePairs,
  parseTags,
  regionOf,
} from './state.js';

/**
 * The `google` driver: a Compute Engine instance reached over SSH as --google-username, whose key
 * is in the instance's ssh-keys metadata from its insert on (the guest agent makes the user). What
 * create makes is in the ledger: the instance and its boot disk <machine>-disk, a per-machine
 * firewall rule (the prefix flags); the shared docker-machines rule is recorded but kept, as other
 * machines rely on it. rm deletes the rest, and nothing a user made.
 */

/** The tag every machine's instance carries: the shared rule's target. */
const MACHINE_TAG = 'docker-machine';
/** The original's shared rule for the engine (and swarm) port. */
const SHARED_RULE = 'docker-machines';
/** Shared like SHARED_RULE: Swarm mode's node-to-node ports, from machines tagged MACHINE_TAG only. */
const SWARM_RULE = 'docker-machines-swarm';
const PROVIDER = 'Google Compute Engine';
const MAX_METADATA_VALUE = 256 * 1024;
const NO_PROJECT = 'no Google Cloud Project name specified (--google-project)';

class GoogleDriver extends CloudDriver {
  readonly driverName = 'google';
  protected readonly provider = PROVIDER;
  protected readonly serverNoun = 'instance';
  protected readonly pollIntervalMs = 1000;
  private compute: ComputeAPI | undefined;
  private tokens: TokenSource | undefined;
  private lastInstance: Instance | undefined;

  private api(ctx?: Pick<DriverContext, 'debug' | 'signal'>): ComputeAPI {
    const make = () =>
      new ComputeAPI({
        endpoint: this.endpoint,
        project: this.project,
        tokens: this.tokenSource(ctx),
        ctx,
      });
    if (ctx) return make();
    this.compute ??= make();
    return this.compute;
  }

  /** One credential for the driver's life: a token is minted once and shared by every call. */
  private tokenSource(ctx?: Pick<DriverContext, 'debug' | 'signal'>): TokenSource {
    this.tokens ??= computeTokens({
      encodedJson: str(this.json, 'AuthEncodedJSON') || process.env.GOOGLE_AUTH_ENCODED_JSON || '',
      env: process.env,
      signal: ctx?.signal,
      debug: ctx?.debug,
    });
    return this.tokens;
  }

  private get endpoint(): string {
    return str(this.json, 'Endpoint') || process.env.GOOGLE_COMPUTE_ENDPOINT || DEFAULT_ENDPOINT;
  }
  private get project(): string {
    const p = str(this.json, 'Project');
    if (!p) throw new MachineError(NO_PROJECT);
    return p;
  }
  private get zone(): string {
    return str(this.json, 'Zone');
  }
  private get region(): string {
    return str(this.json, 'Region') || regionOf(this.zone);
  }
  private get diskName(): string {
    return `${this.machineName}-disk`;
  }
  private instancePath(name = this.machineName): string {
    return `projects/${this.project}/zones/${this.zone}/instances/${name}`;
  }
  private diskPath(): string {
    return `projects/${this.project}/zones/${this.zone}/disks/${this.diskName}`;
  }

  protected serverLabel(): string {
    return `instance ${this.machineName}`;
  }

  private list(key: string): string[] {
    const v = this.json[key];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }

  private wait(ctx: Pick<DriverContext, 'log' | 'signal'>, api: ComputeAPI, op: Operation, what: string) {
    return waitOperation(api, op, { what, log: ctx.log, signal: ctx.signal });
  }

  /** Every reference and quota the instance needs, checked before anything is made. */
  async preCreateCheck(ctx: DriverContext): Promise<void> {
    const name = this.machineName;
    const bad = instanceNameProblem(name);
    if (bad)
      throw new MachineError(
        `Compute Engine refuses the instance name ${name}: ${bad}; choose another machine name`,
      );
    const files: [string, string][] = [
      ...(str(this.json, 'UserDataFile')
        ? [['--google-userdata', str(this.json, 'UserDataFile')] as [string, string]]
        : []),
      ...this.pairs('MetadataFromFile').map(
        ([k, f]) => [`--google-metadata-from-file ${k}`, f] as [string, string],
      ),
    ];
    for (const [flag, file] of files) {
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) throw new MachineError(`${flag}: the file ${file} could not be found`);
      if (st.size > MAX_METADATA_VALUE)
        throw new MachineError(`${flag}: ${file} is ${st.size} bytes; a metadata value is at most 256 KiB`);
    }

    const api = this.api(ctx);
    const project = this.project;
    const q = encodeURIComponent;
    const proj = await api.find<Project>(`projects/${q(project)}`);
    if (!proj)
      throw new MachineError(
        `Project with ID ${project} not found; --google-project takes the project ID (gcloud projects list)`,
      );

    const zoneName = this.zone;
    const typeName = str(this.json, 'MachineType');
    const diskType = str(this.json, 'DiskType');
    const network = str(this.json, 'Network');
    const useExisting = bool(this.json, 'UseExisting');
    // Asked all at once (each is a round trip to Google), judged one by one in this order.
    const ask = {
      zone: early(api.find<Zone>(api.p(`zones/${q(zoneName)}`))),
      type: early(api.find<MachineType>(api.p(`zones/${q(zoneName)}/machineTypes/${q(typeName)}`))),
      diskType: early(api.find(api.p(`zones/${q(zoneName)}/diskTypes/${q(diskType)}`))),
      instance: early(api.find<Instance>(this.instancePath())),
      disk: early(useExisting ? Promise.resolve(undefined) : api.find<Disk>(this.diskPath())),
      image: early(
        useExisting ? Promise.resolve(undefined) : resolveImage(api, str(this.json, 'MachineImage')),
      ),
      network: early(api.find<Network>(this.networkLink)),
      region: early(api.find<Region>(api.p(`regions/${q(regionOf(zoneName))}`))),
    };
    const zone = await ask.zone();
    if (!zone) {
      const all = (await api.list<Zone>(api.p('zones'))).map((z) => z.name);
      const near = all.filter((z) => regionOf(z) === regionOf(zoneName)).sort();
      throw new MachineError(
        `zone ${zoneName} does not exist${near.length ? `; zones of ${regionOf(zoneName)}: ${near.join(', ')}` : `; see gcloud compute zones list (e.g. ${all.sort().slice(0, 4).join(', ')})`}`,
      );
    }
    if (zone.status === 'DOWN')
      throw new MachineError(`zone ${zoneName} is DOWN; choose another --google-zone`);
    if (gone(zone.deprecated))
      throw new MachineError(`zone ${zoneName} is ${zone.deprecated?.state}; choose another --google-zone`);
    const region = lastSegment(zone.region) || regionOf(zoneName);

    const type = await ask.type();
    if (!type)
      throw new MachineError(
        `machine type ${typeName} does not exist in zone ${zoneName}; see gcloud compute machine-types list --zones ${zoneName}`,
      );
    if (gone(type.deprecated))
      throw new MachineError(
        `machine type ${typeName} is ${type.deprecated?.state} in zone ${zoneName}${replacement(type.deprecated)}; choose another --google-machine-type`,
      );
    if (!(await ask.diskType()))
      throw new MachineError(
        `disk type ${diskType} does not exist in zone ${zoneName}; see gcloud compute disk-types list --zones ${zoneName}`,
      );

    const resolved: DriverJSON = { Region: region };
    const instance = await ask.instance();
    if (useExisting) {
      if (!instance)
        throw new MachineError(
          `--google-use-existing: no instance ${name} in zone ${zoneName} of project ${project}`,
        );
    } else {
      if (instance)
        throw new MachineError(
          `an instance named ${name} already exists in zone ${zoneName} of project ${project}; choose another machine name, or give --google-use-existing to make it this machine`,
        );
      if (await ask.disk())
        throw new MachineError(
          `a disk named ${this.diskName} already exists in zone ${zoneName}; the instance's boot disk takes that name: delete it (gcloud compute disks delete ${this.diskName} --zone ${zoneName}) or choose another machine name`,
        );
      const img = await ask.image();
      if (!img) throw new MachineError('no image was resolved');
      const state = img.image.deprecated?.state;
      if (state === 'OBSOLETE' || state === 'DELETED')
        throw new MachineError(
          `image ${img.source} is ${state}: Compute Engine no longer makes disks from it${replacement(img.image.deprecated)}; give a current image, e.g. --google-machine-image ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64`,
        );
      if (state === 'DEPRECATED')
        ctx.log(
          `Image ${img.image.name} is DEPRECATED${replacement(img.image.deprecated)}; Compute Engine still makes disks from it, for now`,
        );
      const imageGb = Number(img.image.diskSizeGb ?? 0);
      if (imageGb > num(this.json, 'DiskSize'))
        throw new MachineError(
          `image ${img.image.name} needs a disk of at least ${imageGb} GB; give --google-disk-size ${imageGb} or more`,
        );
      resolved.ResolvedImage = img.source;

      const net = await ask.network();
      if (!net)
        throw new MachineError(
          `network ${network} does not exist${network.includes('/') ? '' : ` in project ${project}`}; see gcloud compute networks list`,
        );
      const sub = str(this.json, 'Subnetwork');
      if (sub) {
        if (!(await api.find(this.subnetworkLink(region))))
          throw new MachineError(
            `subnetwork ${sub} does not exist in region ${region}; see gcloud compute networks subnets list --regions ${region}`,
          );
      } else if (net.autoCreateSubnetworks === false) {
        throw new MachineError(
          `network ${network} is a custom-mode network: give the subnetwork of region ${region} with --google-subnetwork`,
        );
      }

      const address = str(this.json, 'Address');
      if (address && bool(this.json, 'UseInternalIPOnly'))
        throw new MachineError(
          '--google-address is an external address: it cannot go with --google-use-internal-ip-only',
        );
      if (address) {
        const found = isIP(address)
          ? (await api.list<Address>(api.p(`regions/${q(region)}/addresses`), `address = "${address}"`))[0]
          : await api.find<Address>(api.p(`regions/${q(region)}/addresses/${q(address)}`));
        if (!found)
          throw new MachineError(
            `no reserved address ${address} in region ${region} of project ${project}; see gcloud compute addresses list`,
          );
        if (found.status === 'IN_USE')
          throw new MachineError(
            `address ${address} (${found.address}) is in use by ${(found.users ?? []).map((u) => lastSegment(u)).join(', ') || 'another resource'}`,
          );
        resolved.StaticAddress = found.address;
      }

      const acc = str(this.json, 'AcceleratorType');
      if (acc && type.isSharedCpu)
        throw new MachineError(
          `machine type ${typeName} is shared-core and cannot have GPUs; choose e.g. --google-machine-type n1-standard-4 for --google-accelerator`,
        );
      if (acc && !(await api.find(api.p(`zones/${q(zoneName)}/acceleratorTypes/${q(acc)}`))))
        throw new MachineError(
          `accelerator type ${acc} is not offered in zone ${zoneName}; see gcloud compute accelerator-types list --filter zone:${zoneName}`,
        );

      const reg =
        region === regionOf(zoneName)
          ? await ask.region()
          : await api.find<Region>(api.p(`regions/${q(region)}`));
      if (!reg) throw new MachineError(`region ${region} of zone ${zoneName} does not exist`);
      const preemptible = bool(this.json, 'Preemptible');
      const need: [string, number][] = [
        [
          preemptible && hasQuota(reg.quotas, 'PREEMPTIBLE_CPUS') ? 'PREEMPTIBLE_CPUS' : 'CPUS',
          type.guestCpus ?? 1,
        ],
        ['INSTANCES', 1],
        [/ssd|balanced/.test(diskType) ? 'SSD_TOTAL_GB' : 'DISKS_TOTAL_GB', num(this.json, 'DiskSize')],
      ];
      if (!bool(this.json, 'UseInternalIPOnly') && !address) need.push(['IN_USE_ADDRESSES', 1]);
      if (acc) need.push([gpuMetric(acc, preemptible), num(this.json, 'AcceleratorCount') || 1]);
      for (const [metric, amount] of need) {
        const quota = reg.quotas?.find((x) => x.metric === metric);
        if (quota && quota.usage + amount > quota.limit)
          throw new MachineError(
            `Quota ${metric} exceeded in region ${region}: ${quota.usage} of ${quota.limit} in use, and this instance needs ${amount}; remove machines, or ask for more (IAM & Admin > Quotas)`,
          );
      }
    }
    this.set(resolved);
  }

  protected async createKey(ctx: DriverContext): Promise<void> {
    const dest = join(str(this.json, 'StorePath'), 'machines', this.machineName, 'id_rsa');
    const { generateSSHKeyPair } = await import('../../ssh/keys.js');
    await generateSSHKeyPair(dest);
    this.set({ SSHKeyPath: dest });
    await ctx.save();
  }

  /** The ports the engine (and a swarm manager, and --google-open-port) are reached on. */
  private allowed(): FirewallAllowed[] {
    // An SSH-only engine (--engine-endpoint ssh) has no port to open.
    const byProto = new Map<string, string[]>([['tcp', sshOnlyEngine(this.json) ? [] : ['2376']]]);
    if (bool(this.json, 'SwarmMaster')) {
      const m = /:(\d+)\/?$/.exec(str(this.json, 'SwarmHost'));
      // The original's standalone Swarm port, and Swarm mode's (what --swarm-master makes here).
      byProto.get('tcp')?.push(m ? m[1] : '3376', '2377');
    }
    for (const p of this.list('OpenPorts')) {
      const [port, proto = 'tcp'] = p.split('/');
      const ports = byProto.get(proto) ?? [];
      if (!ports.includes(port)) ports.push(port);
      byProto.set(proto, ports);
    }
    // A protocol without ports would allow every port of it: left out instead.
    return [...byProto]
      .filter(([, ports]) => ports.length > 0)
      .map(([IPProtocol, ports]) => ({ IPProtocol, ports }));
  }

  /**
   * The network as a path under the API: a name in the machine's project, or (a Shared VPC's
   * network of a host project) a path or URL as gcloud prints it.
   */
  private get networkLink(): string {
    return resourcePath(str(this.json, 'Network'), `projects/${this.project}/global/networks/`);
  }

  /** Firewall rules live in the network's project: a Shared VPC's host project. */
  private firewallsPath(): string {
    return `projects/${this.networkLink.split('/')[1]}/global/firewalls`;
  }

  private subnetworkLink(region = this.region): string {
    return resourcePath(
      str(this.json, 'Subnetwork'),
      `projects/${this.project}/regions/${region}/subnetworks/`,
    );
  }

  /** The rule names this machine's own firewall rules get, from the prefix flags. */
  private ownRules(): { name: string; external: boolean }[] {
    const out: { name: string; external: boolean }[] = [];
    const ext = str(this.json, 'ExternalFirewallRulePrefix');
    const int = str(this.json, 'InternalFirewallRulePrefix');
    if (ext) out.push({ name: `${ext}-${this.machineName}`, external: true });
    if (int) out.push({ name: `${int}-${this.machineName}`, external: false });
    return out;
  }

  protected override async createFirewall(ctx: DriverContext, ledger: Ledger): Promise<void> {
    if (bool(this.json, 'SkipFirewall')) {
      ctx.log('Leaving the firewall as it is (--google-skip-firewall-create)');
      return;
    }
    const api = this.api(ctx);
    const own = this.ownRules();
    // Nothing to open from outside (an SSH-only engine, no swarm, no --google-open-port): SSH
    // is the network's own default rule's, as for every machine.
    const open = this.allowed().length > 0;
    if (!own.some((r) => r.external) && open)
      await this.sharedRule(ctx, ledger, api, {
        name: SHARED_RULE,
        network: this.networkLink,
        direction: 'INGRESS',
        sourceRanges: ['0.0.0.0/0'],
        targetTags: [MACHINE_TAG],
        allowed: this.allowed(),
        description: 'docker-machine: the Docker engine port of every machine tagged docker-machine',
      });
    // An internal rule (--google-internal-firewall-rule-prefix) lets all machine traffic in already.
    if (isSwarmMember(this.json) && !own.some((r) => !r.external))
      await this.sharedRule(ctx, ledger, api, swarmFirewallRule(this.networkLink));
    for (const r of own) {
      if (r.external && !open) continue;
      const rule: Firewall = r.external
        ? {
            name: r.name,
            network: this.networkLink,
            direction: 'INGRESS',
            sourceRanges: ['0.0.0.0/0'],
            targetTags: [r.name],
            allowed: this.allowed(),
            description: `docker-machine ${this.machineName}: the engine and its open ports`,
          }
        : {
            name: r.name,
            network: this.networkLink,
            direction: 'INGRESS',
            sourceTags: [MACHINE_TAG],
            targetTags: [r.name],
            allowed: [{ IPProtocol: 'tcp' }, { IPProtocol: 'udp' }, { IPProtocol: 'icmp' }],
            description: `docker-machine ${this.machineName}: traffic from the other machines`,
          };
      const entry = await ledger.intend(
        'firewall_rule',
        { by: 'name', value: r.name },
        `firewall rule ${r.name}`,
      );
      const op = await api.call<Operation>('POST', this.firewallsPath(), rule);
      await ledger.made(entry, r.name);
      await this.wait(ctx, api, op, `insert of firewall rule ${r.name}`);
    }
  }

  /**
   * A rule every machine shares (the original's engine rule, and Swarm mode's): made when missing
   * (recorded, and kept by rm), else given the ports it lacks. Another machine's create may make
   * it meanwhile: then it is changed instead.
   */
  private async sharedRule(
    ctx: DriverContext,
    ledger: Ledger,
    api: ComputeAPI,
    want: Firewall,
  ): Promise<void> {
    const name = want.name;
    const path = `${this.firewallsPath()}/${name}`;
    for (let attempt = 1; ; attempt++) {
      const rule = await api.find<Firewall>(path);
      if (!rule) {
        const entry = await ledger.intend('firewall', { by: 'name', value: name }, `firewall rule ${name}`);
        try {
          const op = await api.call<Operation>('POST', this.firewallsPath(), want);
          await ledger.made(entry, name);
          await this.wait(ctx, api, op, `insert of firewall rule ${name}`);
          return;
        } catch (err) {
          if (attempt < 3 && err instanceof CloudAPIError && err.status === 409) {
            await ledger.forget(entry);
            continue;
          }
          throw err;
        }
      }
      if (lastSegment(rule.network) !== lastSegment(this.networkLink))
        ctx.log(
          `Firewall rule ${name} is on network ${lastSegment(rule.network)}, not ${lastSegment(this.networkLink)}: its ports may be closed; open them, or give --google-external-firewall-rule-prefix`,
        );
      const merged = mergeAllowed(rule.allowed ?? [], want.allowed ?? []);
      if (!merged) return;
      const op = await api.call<Operation>('PUT', path, { ...rule, allowed: merged });
      await this.wait(ctx, api, op, `update of firewall rule ${name}`);
      return;
    }
  }

  private pairs(key: string): [string, string][] {
    const v = this.json[key];
    return Array.isArray(v)
      ? v
          .filter((x): x is [string, string] => Array.isArray(x) && x.length === 2)
          .map(([a, b]) => [String(a), String(b)])
      : [];
  }

  private labels(): Record<string, string> {
    const v = this.json.Labels;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  }

  private async keyLine(): Promise<string> {
    const pub = (await readFile(`${this.getSSHKeyPath()}.pub`, 'utf8')).trim();
    const user = this.getSSHUsername();
    return `${user}:${pub} ${user}`;
  }

  /** The instance's metadata items: the user's, user-data, and ssh-keys with this machine's key added. */
  private async metadataItems(existing: Metadata['items'] = []): Promise<{ key: string; value: string }[]> {
    const items = new Map<string, string>(existing.map((i) => [i.key, i.value ?? '']));
    for (const [k, v] of this.pairs('Metadata')) items.set(k, v);
    for (const [k, f] of this.pairs('MetadataFromFile')) items.set(k, await readFile(f, 'utf8'));
    const ud = str(this.json, 'UserDataFile');
    if (ud) items.set('user-data', await readFile(ud, 'utf8'));
    const line = await this.keyLine();
    const keys = (items.get('ssh-keys') ?? '').split('\n').filter((l) => l.trim() && l.trim() !== line);
    items.set('ssh-keys', [...keys, line].join('\n'));
    return [...items].map(([key, value]) => ({ key, value }));
  }

  private instanceTags(existing: string[] = []): string[] {
    const { tags } = parseTags(str(this.json, 'Tags'));
    return [...new Set([...existing, MACHINE_TAG, ...tags, ...this.ownRules().map((r) => r.name)])];
  }

  /** The insert body: from the image, or (Start after the instance went) from the kept disk. */
  private async instanceBody(fromDisk: boolean): Promise<Record<string, unknown>> {
    const project = this.project;
    const zone = this.zone;
    const preemptible = bool(this.json, 'Preemptible');
    const acc = str(this.json, 'AcceleratorType');
    const internalOnly = bool(this.json, 'UseInternalIPOnly');
    const nat = str(this.json, 'StaticAddress');
    const sub = str(this.json, 'Subnetwork');
    const labels = this.labels();
    return {
      name: this.machineName,
      description: 'docker host vm',
      machineType: `projects/${project}/zones/${zone}/machineTypes/${str(this.json, 'MachineType')}`,
      disks: [
        fromDisk
          ? { boot: true, autoDelete: true, type: 'PERSISTENT', mode: 'READ_WRITE', source: this.diskPath() }
          : {
              boot: true,
              autoDelete: true,
              type: 'PERSISTENT',
              mode: 'READ_WRITE',
              initializeParams: {
                diskName: this.diskName,
                sourceImage: str(this.json, 'ResolvedImage'),
                diskSizeGb: String(num(this.json, 'DiskSize')),
                diskType: `projects/${project}/zones/${zone}/diskTypes/${str(this.json, 'DiskType')}`,
                ...(Object.keys(labels).length ? { labels } : {}),
              },
            },
      ],
      networkInterfaces: [
        {
          network: this.networkLink,
          ...(sub ? { subnetwork: this.subnetworkLink() } : {}),
          accessConfigs: internalOnly
            ? []
            : [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT', ...(nat ? { natIP: nat } : {}) }],
        },
      ],
      tags: { items: this.instanceTags() },
      metadata: { items: await this.metadataItems() },
      ...(Object.keys(labels).length ? { labels } : {}),
      serviceAccounts: [
        {
          email: str(this.json, 'ServiceAccount') || 'default',
          scopes: str(this.json, 'Scopes')
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        },
      ],
      scheduling: {
        preemptible,
        automaticRestart: !preemptible,
        // Instances with GPUs cannot live-migrate: Compute Engine refuses MIGRATE for them.
        onHostMaintenance:
          acc || preemptible ? 'TERMINATE' : str(this.json, 'MaintenancePolicy') || 'MIGRATE',
      },
      ...(acc
        ? {
            guestAccelerators: [
              {
                acceleratorType: `projects/${project}/zones/${zone}/acceleratorTypes/${acc}`,
                acceleratorCount: num(this.json, 'AcceleratorCount') || 1,
              },
            ],
          }
        : {}),
      ...(str(this.json, 'MinCPUPlatform') ? { minCpuPlatform: str(this.json, 'MinCPUPlatform') } : {}),
    };
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const api = this.api(ctx);
    if (bool(this.json, 'UseExisting')) return this.adoptExisting(ctx, ledger, api);
    const name = this.machineName;
    // The boot disk first: rm deletes newest first, so the instance goes before its disk.
    const disk = await ledger.intend('disk', { by: 'name', value: this.diskName }, `disk ${this.diskName}`);
    const inst = await ledger.intend('instance', { by: 'name', value: name }, `instance ${name}`);
    const op = await api.call<Operation>(
      'POST',
      api.p(`zones/${this.zone}/instances`),
      await this.instanceBody(false),
    );
    await ledger.made(inst, name);
    await ledger.made(disk, this.diskName);
    await this.wait(ctx, api, op, `insert of instance ${name}`);
  }

  /**
   * --google-use-existing: the instance gets the docker-machine tag and this machine's key, each
   * with the fingerprint it was read with (a change meanwhile gives 412: read again, once more).
   * It is recorded as kept: rm leaves an instance it did not make.
   */
  private async adoptExisting(ctx: DriverContext, ledger: Ledger, api: ComputeAPI): Promise<void> {
    await ledger.intend(
      'existing_instance',
      { by: 'name', value: this.machineName },
      `instance ${this.machineName}`,
    );
    const retry412 = async (fn: (i: Instance) => Promise<void>) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(await api.get<Instance>(this.instancePath()));
        } catch (err) {
          if (attempt < 3 && err instanceof CloudAPIError && err.status === 412) continue;
          throw err;
        }
      }
    };
    await retry412(async (i) => {
      const op = await api.call<Operation>('POST', `${this.instancePath()}/setTags`, {
        items: this.instanceTags(i.tags?.items ?? []),
        fingerprint: i.tags?.fingerprint,
      });
      await this.wait(ctx, api, op, `tags of instance ${this.machineName}`);
    });
    await retry412(async (i) => {
      const op = await api.call<Operation>('POST', `${this.instancePath()}/setMetadata`, {
        items: await this.metadataItems(i.metadata?.items ?? []),
        fingerprint: i.metadata?.fingerprint,
      });
      await this.wait(ctx, api, op, `metadata of instance ${this.machineName}`);
    });
    const i = await api.get<Instance>(this.instancePath());
    if (i.status === 'TERMINATED' || i.status === 'STOPPED') {
      ctx.log(`Starting instance ${this.machineName}...`);
      await this.wait(
        ctx,
        api,
        await api.call<Operation>('POST', `${this.instancePath()}/start`),
        `start of instance ${this.machineName}`,
      );
    }
  }

  protected async serverStatus(signal?: AbortSignal): Promise<ServerStatus> {
    const i = await this.api({ debug: () => {}, signal }).get<Instance>(this.instancePath());
    this.lastInstance = i.status === 'RUNNING' ? i : undefined;
    const status = i.status ?? '';
    if (status === 'TERMINATED' || status === 'STOPPED' || status === 'SUSPENDED')
      return { state: status, running: false, failed: 'the instance stopped while it was being started' };
    return { state: status, running: status === 'RUNNING' };
  }

  /**
   * The other machines of a swarm reach this one at its internal address: the swarm rule's source
   * tags match traffic inside the network only.
   */
  async clusterAddress(): Promise<string> {
    return str(this.json, 'InternalIPAddress') || this.getIP();
  }

  private addressOf(i: Instance): string {
    const nic = i.networkInterfaces?.[0];
    this.set({ InternalIPAddress: nic?.networkIP ?? '' });
    if (bool(this.json, 'UseInternalIP') || bool(this.json, 'UseInternalIPOnly')) {
      if (!nic?.networkIP) throw new MachineError(`${this.serverLabel()} has no internal address`);
      return nic.networkIP;
    }
    const ip = nic?.accessConfigs?.find((a) => a.natIP)?.natIP;
    if (!ip)
      throw new MachineError(
        `${this.serverLabel()} has no external address; give --google-use-internal-ip to reach it on its internal one`,
      );
    return ip;
  }

  protected async serverAddress(ctx: DriverContext): Promise<string> {
    return this.addressOf(this.lastInstance ?? (await this.api(ctx).get<Instance>(this.instancePath())));
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    const api = this.api(ctx);
    const waitCtx = { log: ctx.log, signal: ctx.signal };
    const zone = this.zone;
    const project = this.project;
    const exists = async (path: string, name: string) => ((await api.find(path)) ? [name] : []);
    const rule = (n: string) => `${this.firewallsPath()}/${n}`;
    const fwProject = this.networkLink.split('/')[1];
    return {
      instance: {
        lookup: (f) => exists(this.instancePath(f.value), f.value),
        delete: async (id) => {
          const op = await api.call<Operation>('DELETE', this.instancePath(id));
          await this.wait(waitCtx, api, op, `delete of instance ${id}`);
        },
        byHand: (id) => `gcloud compute instances delete ${id} --zone ${zone} --project ${project}`,
      },
      disk: {
        lookup: (f) => exists(api.p(`zones/${zone}/disks/${f.value}`), f.value),
        delete: async (id) => {
          const op = await api.call<Operation>('DELETE', api.p(`zones/${zone}/disks/${id}`));
          await this.wait(waitCtx, api, op, `delete of disk ${id}`);
        },
        byHand: (id) => `gcloud compute disks delete ${id} --zone ${zone} --project ${project}`,
      },
      firewall_rule: {
        lookup: (f) => exists(rule(f.value), f.value),
        delete: async (id) => {
          const op = await api.call<Operation>('DELETE', rule(id));
          await this.wait(waitCtx, api, op, `delete of firewall rule ${id}`);
        },
        byHand: (id) => `gcloud compute firewall-rules delete ${id} --project ${fwProject}`,
      },
      firewall: {
        // Only to say it is left: a rule that cannot be read (no permission) must not fail the rm.
        lookup: (f) => exists(rule(f.value), f.value).catch(() => [f.value]),
        keep: async () => `shared by every machine tagged ${MACHINE_TAG}; rm never deletes it`,
        delete: async () => {},
        byHand: (id) => `gcloud compute firewall-rules delete ${id} --project ${fwProject}`,
      },
      existing_instance: {
        lookup: (f) => exists(this.instancePath(f.value), f.value).catch(() => [f.value]),
        keep: async () =>
          'it existed before this machine (--google-use-existing); delete it yourself if you want it gone',
        delete: async () => {},
        byHand: (id) => `gcloud compute instances delete ${id} --zone ${zone} --project ${project}`,
      },
    };
  }

  override async remove(ctx: DriverContext): Promise<void> {
    // A machine the original made has no ledger: what it would have deleted, by name.
    if (!(LEDGER_KEY in this.json) && this.machineName) {
      const entries: LedgerEntry[] = [
        { kind: 'disk', id: '', find: { by: 'name', value: this.diskName }, label: `disk ${this.diskName}` },
        ...(bool(this.json, 'UseExisting')
          ? []
          : [
              {
                kind: 'instance',
                id: '',
                find: { by: 'name', value: this.machineName },
                label: `instance ${this.machineName}`,
              },
            ]),
      ];
      this.set({ [LEDGER_KEY]: entries });
    }
    await super.remove(ctx);
  }

  private needInstance(): void {
    if (!str(this.json, 'Zone') || !str(this.json, 'Project'))
      throw new MachineError(
        `machine "${this.machineName}" has no instance (its create did not finish); remove it with rm`,
      );
  }

  async start(ctx: DriverContext): Promise<void> {
    this.needInstance();
    const api = this.api(ctx);
    const inst = await api.find<Instance>(this.instancePath());
    if (!inst) {
      if (!(await api.find<Disk>(this.diskPath())))
        throw new MachineError(
          `instance ${this.machineName} and its disk ${this.diskName} are gone; remove the machine with rm`,
        );
      ctx.log(`Instance ${this.machineName} is gone; making it again from its disk ${this.diskName}...`);
      const op = await api.call<Operation>(
        'POST',
        api.p(`zones/${this.zone}/instances`),
        await this.instanceBody(true),
      );
      await this.wait(ctx, api, op, `insert of instance ${this.machineName}`);
    } else if (inst.status !== 'RUNNING') {
      const op = await api.call<Operation>('POST', `${this.instancePath()}/start`);
      await this.wait(ctx, api, op, `start of instance ${this.machineName}`);
    }
    // An ephemeral external address changes over a stop: read it again.
    const deadline = Date.now() + this.runningTimeoutMs;
    for (;;) {
      const i = await api.get<Instance>(this.instancePath());
      if (i.status === 'RUNNING') {
        this.set({ IPAddress: this.addressOf(i) });
        await ctx.save();
        return;
      }
      if (Date.now() > deadline)
        throw new MachineError(`instance ${this.machineName} is still ${i.status} after its start`);
      await new Promise((r) => setTimeout(r, this.pollIntervalMs));
    }
  }

  async stop(ctx: DriverContext): Promise<void> {
    this.needInstance();
    const api = this.api(ctx);
    const op = await api.call<Operation>('POST', `${this.instancePath()}/stop`);
    await this.wait(ctx, api, op, `stop of instance ${this.machineName}`);
  }

  async restart(ctx: DriverContext): Promise<void> {
    await this.stop(ctx);
    await this.start(ctx);
  }

  /** Compute Engine has no harder power-off than stop. */
  async kill(ctx: DriverContext): Promise<void> {
    await this.stop(ctx);
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    if (!str(this.json, 'Zone') || !str(this.json, 'Project')) return 'NotFound';
    const api = this.api(signal ? { debug: () => {}, signal } : undefined);
    const i = await api.find<Instance>(this.instancePath());
    if (i) return machineState(i.status ?? '');
    // The original's rule: the instance went but its disk stayed, so start can make it again.
    return (await api.find<Disk>(this.diskPath())) ? 'Stopped' : 'NotFound';
  }

  override getSSHUsername(): string {
    return str(this.json, 'SSHUser') || 'docker-user';
  }
}

/** A name under `base`, or a path or URL (of another project) as given, made relative to the API. */
function resourcePath(value: string, base: string): string {
  if (!value.includes('/')) return `${base}${value}`;
  const path = value.replace(/^https?:\/\/[^/]+\/compute\/(v1|beta|alpha)\//, '').replace(/^\/+/, '');
  return path.startsWith('projects/') ? path : `${base.split('/').slice(0, 2).join('/')}/${path}`;
}

/**
 * A request started now whose answer is taken later: a failure is kept (not unhandled) until then,
 * so that the checks before it decide what the user is told first.
 */
function early<T>(p: Promise<T>): () => Promise<T> {
  const settled = p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return async () => {
    const r = await settled;
    if (!r.ok) throw r.error;
    return r.value;
  };
}

/** Compute Engine's statuses that mean the resource can no longer be used for a new one. */
function gone(d: { state?: string } | undefined): boolean {
  return d?.state === 'OBSOLETE' || d?.state === 'DELETED';
}

function replacement(d: { replacement?: string } | undefined): string {
  return d?.replacement
    ? ` (its replacement: ${d.replacement.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '')})`
    : '';
}

function hasQuota(quotas: Quota[] | undefined, metric: string): boolean {
  return !!quotas?.some((q) => q.metric === metric && q.limit > 0);
}

/** nvidia-tesla-t4 → NVIDIA_T4_GPUS (PREEMPTIBLE_… for a preemptible instance). */
function gpuMetric(type: string, preemptible: boolean): string {
  const model = type
    .replace(/^nvidia-(tesla-)?/, '')
    .toUpperCase()
    .replace(/-/g, '_');
  return `${preemptible ? 'PREEMPTIBLE_' : ''}NVIDIA_${model}_GPUS`;
}

/** The rule's allowed list with the wanted ports added, or undefined when nothing is missing. */
/**
 * The rule shared by swarm members (managers and workers): Swarm mode's node ports, gossip on 7946
 * (TCP, UDP) and overlay VXLAN on 4789 (UDP), from machines tagged docker-machine only, as the
 * internal rule opens machine-to-machine traffic.
 */
export function swarmFirewallRule(network: string): Firewall {
  const byProto = new Map<string, string[]>();
  for (const p of SWARM_NODE_PORTS) byProto.set(p.proto, [...(byProto.get(p.proto) ?? []), String(p.port)]);
  return {
    name: SWARM_RULE,
    network,
    direction: 'INGRESS',
    sourceTags: [MACHINE_TAG],
    targetTags: [MACHINE_TAG],
    allowed: [...byProto].map(([IPProtocol, ports]) => ({ IPProtocol, ports })),
    description: 'docker-machine: Swarm mode between machines tagged docker-machine (gossip, overlay)',
  };
}

function mergeAllowed(have: FirewallAllowed[], want: FirewallAllowed[]): FirewallAllowed[] | undefined {
  const out: FirewallAllowed[] = have.map((a) => ({ ...a, ...(a.ports ? { ports: [...a.ports] } : {}) }));
  let changed = false;
  for (const w of want) {
    const same = out.find((a) => a.IPProtocol === w.IPProtocol);
    if (!same) {
      out.push(w);
      changed = true;
      continue;
    }
    // No ports: every port of the protocol is open already.
    if (!same.ports) continue;
    for (const p of w.ports ?? []) {
      if (!same.ports.some((h) => covers(h, p))) {
        same.ports.push(p);
        changed = true;
      }
    }
  }
  return changed ? out : undefined;
}

function covers(range: string, port: string): boolean {
  const [lo, hi = lo] = range.split('-').map(Number);
  const [plo, phi = plo] = port.split('-').map(Number);
  return plo >= lo && phi <= hi;
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  const project = flagString(p, 'google-project');
  if (!project) throw new MachineError(NO_PROJECT);
  const endpoint = flagString(p, 'google-endpoint') || DEFAULT_ENDPOINT;
  try {
    const u = new URL(endpoint);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new MachineError(`--google-endpoint "${endpoint}" is not an http(s) URL`);
  }
  const image = parseImage(flagString(p, 'google-machine-image'));
  if (typeof image === 'string') throw new MachineError(image);
  const tags = parseTags(flagString(p, 'google-tags'));
  if (tags.problem) throw new MachineError(tags.problem);
  const labels = parseLabels(flagSlice(p, 'google-vm-labels'), 'google-vm-labels');
  if (labels.problem) throw new MachineError(labels.problem);
  const more = parseLabels(flagSlice(p, 'google-label'), 'google-label', labels.labels);
  if (more.problem) throw new MachineError(more.problem);
  const metadata = parsePairs(flagSlice(p, 'google-metadata'), 'google-metadata');
  if (metadata.problem) throw new MachineError(metadata.problem);
  const fromFile = parsePairs(flagSlice(p, 'google-metadata-from-file'), 'google-metadata-from-file');
  if (fromFile.problem) throw new MachineError(fromFile.problem);
  const acc = parseAccelerator(flagString(p, 'google-accelerator'));
  if (typeof acc === 'string') throw new MachineError(acc);
  const policy = flagString(p, 'google-maintenance-policy').toUpperCase() || 'MIGRATE';
  if (policy !== 'MIGRATE' && policy !== 'TERMINATE')
    throw new MachineError(`--google-maintenance-policy ${policy}: expected MIGRATE or TERMINATE`);
  const openPorts = flagSlice(p, 'google-open-port');
  for (const op of openPorts) {
    const bad = openPortProblem(op);
    if (bad) throw new MachineError(bad);
  }
  const net = flagString(p, 'google-network') || 'default';
  if (
    !/^projects\/[^/]+\/global\/networks\/[a-z](?:[-a-z0-9]*[a-z0-9])?$/.test(
      resourcePath(net, `projects/${project}/global/networks/`),
    )
  )
    throw new MachineError(
      `--google-network ${net}: expected a network name, or projects/PROJECT/global/networks/NAME (a Shared VPC's)`,
    );
  const subnet = flagString(p, 'google-subnetwork');
  if (
    subnet &&
    !/^projects\/[^/]+\/regions\/[a-z0-9-]+\/subnetworks\/[a-z](?:[-a-z0-9]*[a-z0-9])?$/.test(
      resourcePath(subnet, `projects/${project}/regions/r/subnetworks/`),
    )
  )
    throw new MachineError(
      `--google-subnetwork ${subnet}: expected a subnetwork name, or projects/PROJECT/regions/REGION/subnetworks/NAME (a Shared VPC's)`,
    );
  const size = flagInt(p, 'google-disk-size');
  if (size < 10 || size > 65536)
    throw new MachineError(`--google-disk-size ${size}: a boot disk is 10 to 65536 GB`);
  const user = flagString(p, 'google-username');
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user))
    throw new MachineError(
      `--google-username ${user}: a Linux user name (lower-case letters, digits, _ and -, at most 32) is needed`,
    );
  for (const flag of ['google-external-firewall-rule-prefix', 'google-internal-firewall-rule-prefix']) {
    const prefix = flagString(p, flag);
    if (prefix && !/^[a-z](?:[-a-z0-9]*[a-z0-9])?$/.test(`${prefix}-${base.MachineName}`.slice(0, 64)))
      throw new MachineError(
        `--${flag} ${prefix}: a firewall rule name starts with a lower-case letter (letters, digits, -)`,
      );
    if (prefix && `${prefix}-${base.MachineName}`.length > 63)
      throw new MachineError(
        `--${flag} ${prefix}: the rule name ${prefix}-${base.MachineName} is longer than the 63 characters Compute Engine takes`,
      );
  }
  const json: DriverJSON = {
    ...base,
    SSHUser: user,
    SSHPort: 22,
    Zone: flagString(p, 'google-zone'),
    MachineType: flagString(p, 'google-machine-type'),
    MachineImage: flagString(p, 'google-machine-image'),
    DiskType: flagString(p, 'google-disk-type'),
    Address: flagString(p, 'google-address'),
    Network: net,
    Subnetwork: flagString(p, 'google-subnetwork'),
    Preemptible: flagBool(p, 'google-preemptible'),
    UseInternalIP: flagBool(p, 'google-use-internal-ip') || flagBool(p, 'google-use-internal-ip-only'),
    UseInternalIPOnly: flagBool(p, 'google-use-internal-ip-only'),
    Scopes: flagString(p, 'google-scopes'),
    DiskSize: size,
    Project: project,
    Tags: tags.tags.join(','),
    UseExisting: flagBool(p, 'google-use-existing'),
    OpenPorts: openPorts,
    ServiceAccount: flagString(p, 'google-service-account'),
    // Kept only when given by flag (later commands need it); the variable is read again instead.
    AuthEncodedJSON: p.explicit.has('google-auth-encoded-json')
      ? flagString(p, 'google-auth-encoded-json')
      : '',
    Labels: more.labels,
    Metadata: metadata.pairs,
    MetadataFromFile: fromFile.pairs,
    UserDataFile: flagString(p, 'google-userdata'),
    AcceleratorType: acc.type,
    AcceleratorCount: acc.count,
    MinCPUPlatform: flagString(p, 'google-min-cpu-platform'),
    MaintenancePolicy: policy,
    SkipFirewall: flagBool(p, 'google-skip-firewall-create'),
    ExternalFirewallRulePrefix: flagString(p, 'google-external-firewall-rule-prefix'),
    InternalFirewallRulePrefix: flagString(p, 'google-internal-firewall-rule-prefix'),
    Endpoint: endpoint === DEFAULT_ENDPOINT ? '' : endpoint,
    Ledger: [],
  };
  return new GoogleDriver(json);
}

export const googleDriver: DriverModule = {
  name: 'google',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new GoogleDriver(mergeDriverJSON(json, {}));
  },
};
