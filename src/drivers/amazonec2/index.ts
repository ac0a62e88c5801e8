import { randomBytes } from 'node:crypto';
import { chmod, copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MachineError } from '../../errors.js';
import type { ParsedFlags } from '../../flags/def.js';
import { flagBool, flagInt, flagSlice, flagString } from '../../flags/def.js';
import type { BaseDriverFields, DriverJSON } from '../../store/host.js';
import { bool, mergeDriverJSON, num, sshOnlyEngine, str } from '../base.js';
import { CloudDriver } from '../cloud/driver.js';
import { CloudAPIError, isGone } from '../cloud/errors.js';
import type { Ledger, ResourceKind } from '../cloud/ledger.js';
import { isSwarmMember, SWARM_NODE_PORTS } from '../cloud/swarm-ports.js';
import type { ServerStatus } from '../cloud/wait.js';
import type { Driver, DriverContext, DriverModule, MachineState } from '../driver.js';
import { resolveCredentials } from './credentials.js';
import { type Answer, defaultEndpoint, Ec2, filters, type Params } from './ec2.js';
import { DEFAULT_REGION, flags } from './flags.js';
import { type Instance, instancesOf, machineState } from './state.js';
import { list, obj, text, type XmlValue } from './xml.js';

/**
 * The `amazonec2` driver: an EC2 instance in a VPC subnet, reached over SSH at its public address
 * (or its private one). What its create makes (the key pair, a security group it had to make,
 * the instance, a spot request) is in the ledger, each found without its id by a name or by the
 * machine's own `docker-machine-id` tag; rm deletes those and nothing a user made.
 */

/** The original polled every 3 s; EC2 documents no interval and its describe limit is generous. */
const POLL_MS = 3000;
const SPOT_POLL_MS = 5000;
/** Canonical's account: the owner of the Ubuntu images the default AMI is chosen from. */
const CANONICAL = '099720109477';
const MAX_USER_DATA = 16 * 1024;
const TAG_KEY = 'docker-machine-id';

class AmazonEC2Driver extends CloudDriver {
  readonly driverName = 'amazonec2';
  protected readonly provider = 'EC2';
  protected readonly serverNoun = 'instance';
  protected readonly pollIntervalMs = POLL_MS;
  private client: Ec2 | undefined;
  private running: Instance | undefined;

  private ec2(ctx?: Pick<DriverContext, 'debug' | 'signal'>): Ec2 {
    const make = () =>
      new Ec2({
        endpoint: str(this.json, 'Endpoint') || defaultEndpoint(this.region),
        region: this.region,
        credentials: () => this.credentials(),
        retries: Math.max(0, num(this.json, 'RetryCount')),
        ctx,
      });
    if (ctx) return make();
    this.client ??= make();
    return this.client;
  }

  private get region(): string {
    return str(this.json, 'Region') || DEFAULT_REGION;
  }

  private credentials() {
    const c = resolveCredentials({
      accessKey: str(this.json, 'AccessKey'),
      secretKey: str(this.json, 'SecretKey'),
      sessionToken: str(this.json, 'SessionToken'),
    });
    if (!c) throw new MachineError(NO_CREDENTIALS);
    return c;
  }

  private get instanceId(): string {
    return str(this.json, 'InstanceId');
  }

  protected serverLabel(): string {
    const id = this.instanceId;
    return `instance ${this.machineName}${id ? ` (${id})` : ''}`;
  }

  private get zone(): string {
    return str(this.json, 'Zone');
  }

  private byHand(cmd: string): string {
    return `aws ec2 ${cmd} --region ${this.region}`;
  }

  /** Everything the instance needs exists and is allowed, before anything is made. */
  async preCreateCheck(ctx: DriverContext): Promise<void> {
    const userData = str(this.json, 'UserDataFile');
    if (userData) {
      const st = await stat(userData).catch(() => undefined);
      if (!st?.isFile()) throw new MachineError(`user-data file ${userData} could not be found`);
      if (st.size > MAX_USER_DATA)
        throw new MachineError(`user-data file ${userData} is ${st.size} bytes; EC2 takes at most 16 KiB`);
    }
    const keyPath = str(this.json, 'SSHPrivateKeyPath');
    if (keyPath) {
      for (const f of [keyPath, `${keyPath}.pub`]) {
        if (!(await stat(f).catch(() => undefined)))
          throw new MachineError(`SSH key does not exist: ${f} (--amazonec2-ssh-keypath)`);
      }
    }
    const c = this.ec2(ctx);
    ctx.debug(`EC2 credentials from ${this.credentials().source}`);

    // Asked of a region that surely exists, so that an unknown one gets this answer rather than
    // a name that does not resolve (or, with an endpoint override, a signature scope refused).
    const partition = /^(cn-|us-gov-)/.test(this.region) ? this.region : DEFAULT_REGION;
    const home = new Ec2({
      endpoint: str(this.json, 'Endpoint') || defaultEndpoint(partition),
      region: partition,
      credentials: () => this.credentials(),
      retries: Math.max(0, num(this.json, 'RetryCount')),
      ctx,
    });
    const regions = list((await home.call('DescribeRegions')).regionInfo).map((r) => text(obj(r).regionName));
    if (regions.length > 0 && !regions.includes(this.region)) {
      throw new MachineError(
        `region ${this.region} does not exist or is not enabled for this account; regions: ${regions.sort().join(', ')}`,
      );
    }
    const type = str(this.json, 'InstanceType');
    await c.call('DescribeInstanceTypes', { InstanceType: [type] }).catch((err) => {
      if (err instanceof CloudAPIError && /^InvalidInstanceType|\.NotFound$/.test(err.code))
        throw new MachineError(
          `instance type ${type} does not exist in region ${this.region}; choose another --amazonec2-instance-type`,
        );
      throw err;
    });
    await this.checkImage(ctx, c);
    await this.checkNetwork(ctx, c);

    const keyName = str(this.json, 'KeyName') || this.machineName;
    const existing = await c
      .call('DescribeKeyPairs', { KeyName: [keyName] })
      .then((a) => list(a.keySet).length > 0)
      .catch((err) => {
        if (isGone(err)) return false;
        throw err;
      });
    if (bool(this.json, 'ExistingKey') && !existing)
      throw new MachineError(
        `key pair ${keyName} does not exist in region ${this.region} (--amazonec2-keypair-name)`,
      );
    if (!bool(this.json, 'ExistingKey') && existing) {
      throw new MachineError(
        `There is already a keypair with the name ${keyName}.  Please either remove that keypair or use a different machine name.`,
      );
    }
  }

  /** The AMI exists; without --amazonec2-ami, the region's newest Ubuntu 24.04 LTS from Canonical. */
  private async checkImage(ctx: DriverContext, c: Ec2): Promise<void> {
    let ami = str(this.json, 'AMI');
    let image: { [k: string]: XmlValue } | undefined;
    if (ami) {
      const a = await c.call('DescribeImages', { ImageId: [ami] }).catch((err) => {
        if (isGone(err) || (err instanceof CloudAPIError && err.code === 'InvalidAMIID.Malformed'))
          return {} as Answer;
        throw err;
      });
      image = obj(list(a.imagesSet)[0]);
      if (!text(image.imageId))
        throw new MachineError(
          `AMI ${ami} does not exist in region ${this.region}; give another --amazonec2-ami`,
        );
    } else {
      const arch = armType(str(this.json, 'InstanceType')) ? 'arm64' : 'amd64';
      const a = await c.call('DescribeImages', {
        Owner: [CANONICAL],
        ...filters({
          name: `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${arch}-server-*`,
          state: 'available',
        }),
      });
      const newest = list(a.imagesSet)
        .map(obj)
        .sort((x, y) => text(y.creationDate).localeCompare(text(x.creationDate)))[0];
      if (!newest) {
        throw new MachineError(
          `no Ubuntu 24.04 LTS image (${arch}) from Canonical found in region ${this.region}; give an image with --amazonec2-ami`,
        );
      }
      image = newest;
      ami = text(newest.imageId);
      ctx.log(`Using AMI ${ami} (${text(newest.name)})`);
    }
    const root = text(image.rootDeviceName);
    this.set({ AMI: ami, DeviceName: str(this.json, 'DeviceName') || root || '/dev/sda1' });
  }

  /** The VPC and subnet: given, or the account's default VPC and its subnet in the zone. */
  private async checkNetwork(ctx: DriverContext, c: Ec2): Promise<void> {
    let vpc = str(this.json, 'VpcId');
    const subnet = str(this.json, 'SubnetId');
    if (subnet) {
      const a = await c.call('DescribeSubnets', { SubnetId: [subnet] }).catch((err) => {
        if (isGone(err)) return {} as Answer;
        throw err;
      });
      const s = obj(list(a.subnetSet)[0]);
      if (!text(s.subnetId))
        throw new MachineError(`subnet ${subnet} does not exist in region ${this.region}`);
      if (vpc && text(s.vpcId) !== vpc)
        throw new MachineError(`SubnetId: ${subnet} does not belong to VpcId: ${vpc}`);
      // The instance goes where its subnet is.
      this.set({ VpcId: text(s.vpcId), Zone: text(s.availabilityZone) });
      return;
    }
    if (vpc) {
      await c.call('DescribeVpcs', { VpcId: [vpc] }).catch((err) => {
        if (isGone(err)) throw new MachineError(`VPC ${vpc} does not exist in region ${this.region}`);
        throw err;
      });
    } else {
      const attrs = await c.call('DescribeAccountAttributes', { AttributeName: ['default-vpc'] });
      const found = list(attrs.accountAttributeSet)
        .map(obj)
        .find((x) => text(x.attributeName) === 'default-vpc');
      vpc = text(obj(list(found?.attributeValueSet)[0]).attributeValue);
      if (!vpc || vpc === 'none') {
        const v = await c.call('DescribeVpcs', filters({ isDefault: 'true' }));
        vpc = text(obj(list(v.vpcSet)[0]).vpcId);
      }
      if (!vpc) throw new MachineError(NO_VPC);
      ctx.debug(`default VPC ${vpc}`);
    }
    const zone = this.zone;
    const subnets = list(
      (await c.call('DescribeSubnets', filters({ 'availability-zone': zone, 'vpc-id': vpc }))).subnetSet,
    ).map(obj);
    const pick = subnets.find((s) => text(s.defaultForAz) === 'true') ?? subnets[0];
    if (!pick) {
      throw new MachineError(
        `VPC ${vpc} has no subnet in zone ${zone}; give --amazonec2-subnet-id or another --amazonec2-zone`,
      );
    }
    this.set({ VpcId: vpc, SubnetId: text(pick.subnetId) });
  }

  protected async createKey(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = this.ec2(ctx);
    const dir = join(str(this.json, 'StorePath'), 'machines', this.machineName);
    const dest = join(dir, 'id_rsa');
    const given = str(this.json, 'SSHPrivateKeyPath');
    let publicLine: string;
    if (given) {
      await copyFile(given, dest);
      await chmod(dest, 0o600);
      await copyFile(`${given}.pub`, `${dest}.pub`);
      publicLine = await readFile(`${dest}.pub`, 'utf8');
    } else {
      const { generateSSHKeyPair } = await import('../../ssh/keys.js');
      publicLine = (await generateSSHKeyPair(dest)).publicLine;
    }
    this.set({ SSHKeyPath: dest });
    await ctx.save();
    if (bool(this.json, 'ExistingKey')) return;
    const name = this.machineName;
    const entry = await ledger.intend('key_pair', { by: 'name', value: name }, `key pair ${name}`);
    const a = await c.call('ImportKeyPair', {
      KeyName: name,
      PublicKeyMaterial: Buffer.from(publicLine.trim()).toString('base64'),
    });
    await ledger.made(entry, name);
    this.set({ KeyName: name, SSHKeyID: 0 });
    await ctx.save();
    ctx.log(`Key pair ${name} imported (${text(a.keyPairId) || text(a.keyFingerprint)})`);
  }

  /** Each named group in the VPC: found, or made (and recorded); then the ports the original opens. */
  protected override async createFirewall(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const c = this.ec2(ctx);
    const vpc = str(this.json, 'VpcId');
    const names = strings(this.json, 'SecurityGroupNames');
    const describe = async () =>
      list(
        (await c.call('DescribeSecurityGroups', filters({ 'group-name': names, 'vpc-id': vpc })))
          .securityGroupInfo,
      ).map(obj);
    let groups = await describe();
    for (const name of names) {
      if (groups.some((g) => text(g.groupName) === name)) continue;
      const entry = await ledger.intend(
        'security_group',
        { by: 'name', value: `${vpc}/${name}` },
        `security group ${name}`,
      );
      try {
        const a = await c.call('CreateSecurityGroup', {
          GroupName: name,
          GroupDescription: 'Docker Machine',
          VpcId: vpc,
        });
        await ledger.made(entry, text(a.groupId));
        ctx.log(`Security group ${name} created (${text(a.groupId)})`);
      } catch (err) {
        // Another create made it meanwhile (a fleet): it is theirs, and used as it is.
        if (!(err instanceof CloudAPIError && err.code === 'InvalidGroup.Duplicate')) throw err;
        await ledger.forget(entry);
      }
    }
    groups = await describe();
    const ids = names.map((n) => text(groups.find((g) => text(g.groupName) === n)?.groupId));
    this.set({ SecurityGroupIds: ids.filter(Boolean) });
    await ctx.save();
    if (bool(this.json, 'SecurityGroupReadOnly')) return;
    for (const g of groups) {
      const have = list(g.ipPermissions)
        .map(obj)
        .map((p) => `${text(p.fromPort)}/${text(p.ipProtocol)}`);
      const want = ingressPorts(this.json).filter((p) => !have.includes(`${p.port}/${p.proto}`));
      if (want.length === 0) continue;
      const groupId = text(g.groupId);
      await c
        .call('AuthorizeSecurityGroupIngress', {
          GroupId: groupId,
          IpPermissions: want.map((p) => ({
            IpProtocol: p.proto,
            FromPort: p.port,
            ToPort: p.port,
            ...(p.from === 'group'
              ? { Groups: [{ GroupId: groupId }] }
              : { IpRanges: [{ CidrIp: '0.0.0.0/0' }] }),
          })),
        })
        .catch((err) => {
          // Another create of a fleet added the same rule first.
          if (!(err instanceof CloudAPIError && err.code === 'InvalidPermission.Duplicate')) throw err;
        });
    }
  }

  private tags(): { Key: string; Value: string }[] {
    const pairs = str(this.json, 'Tags')
      .split(',')
      .map((t) => t.trim());
    const user: { Key: string; Value: string }[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2)
      if (pairs[i]) user.push({ Key: pairs[i], Value: pairs[i + 1] });
    return [{ Key: 'Name', Value: this.machineName }, ...user, { Key: TAG_KEY, Value: str(this.json, 'Id') }];
  }

  private async launchSpec(): Promise<Params> {
    const userData = str(this.json, 'UserDataFile');
    const kms = str(this.json, 'KmsKeyId');
    const encrypted = bool(this.json, 'EncryptEbsVolume') || kms !== '';
    const profile = str(this.json, 'IamInstanceProfile');
    return {
      ImageId: str(this.json, 'AMI'),
      InstanceType: str(this.json, 'InstanceType'),
      KeyName: str(this.json, 'KeyName'),
      Placement: { AvailabilityZone: this.zone },
      NetworkInterface: [
        {
          DeviceIndex: 0,
          SubnetId: str(this.json, 'SubnetId'),
          SecurityGroupId: strings(this.json, 'SecurityGroupIds'),
          AssociatePublicIpAddress: !bool(this.json, 'PrivateIPOnly'),
          DeleteOnTermination: true,
        },
      ],
      Monitoring: { Enabled: bool(this.json, 'Monitoring') },
      IamInstanceProfile: profile ? { Name: profile } : undefined,
      EbsOptimized: bool(this.json, 'UseEbsOptimizedInstance'),
      BlockDeviceMapping: [
        {
          DeviceName: str(this.json, 'DeviceName'),
          Ebs: {
            VolumeSize: num(this.json, 'RootSize') || 16,
            VolumeType: str(this.json, 'VolumeType') || 'gp2',
            DeleteOnTermination: true,
            Encrypted: encrypted || undefined,
            KmsKeyId: kms || undefined,
          },
        },
      ],
      UserData: userData ? (await readFile(userData)).toString('base64') : undefined,
    };
  }

  private metadataOptions(): Params | undefined {
    const o: Params = {
      HttpEndpoint: str(this.json, 'HttpEndpoint') || undefined,
      HttpTokens: str(this.json, 'HttpTokens') || undefined,
      HttpPutResponseHopLimit: num(this.json, 'HttpPutResponseHopLimit') || undefined,
    };
    return Object.values(o).some((v) => v !== undefined) ? o : undefined;
  }

  protected async createServer(ctx: DriverContext, ledger: Ledger): Promise<void> {
    const spec = await this.launchSpec();
    const id = str(this.json, 'Id');
    const spot = bool(this.json, 'RequestSpotInstance');
    if (spot && str(this.json, 'SpotAPI') === 'request-spot-instances')
      return this.requestSpot(ctx, ledger, spec);
    const c = this.ec2(ctx);
    const tags = this.tags();
    const entry = await ledger.intend('instance', { by: 'tag', value: id }, `instance ${this.machineName}`);
    const a = await c.call(
      'RunInstances',
      {
        ...spec,
        MinCount: 1,
        MaxCount: 1,
        // EC2 answers a repeat of this token with the first launch: a lost answer makes no second.
        ClientToken: `${id}-run`,
        TagSpecification: [
          { ResourceType: 'instance', Tag: tags },
          { ResourceType: 'volume', Tag: tags },
        ],
        InstanceMarketOptions: spot
          ? {
              MarketType: 'spot',
              SpotOptions: {
                MaxPrice: str(this.json, 'SpotPrice') || undefined,
                SpotInstanceType: 'one-time',
              },
            }
          : undefined,
        MetadataOptions: this.metadataOptions(),
      },
      { idempotent: true },
    );
    const inst = instancesOf({ reservationSet: [a] })[0];
    if (!inst?.id) throw new MachineError('EC2 answered RunInstances without an instance id');
    await ledger.made(entry, inst.id);
    this.set({ InstanceId: inst.id, ReservationId: text(a.reservationId) });
    await ctx.save();
    if (inst.spotRequestId) {
      // AWS makes a one-time spot request with the instance; rm cancels it too.
      const s = await ledger.intend(
        'spot_request',
        { by: 'instance', value: inst.id },
        `spot request of ${this.machineName}`,
      );
      await ledger.made(s, inst.spotRequestId);
      this.set({ SpotInstanceRequestId: inst.spotRequestId });
      await ctx.save();
    }
    ctx.log(`Instance ${inst.id} launched${spot ? ' (spot)' : ''}`);
  }

  /** The original's spot path: a spot request, waited for until it has an instance. */
  private async requestSpot(ctx: DriverContext, ledger: Ledger, spec: Params): Promise<void> {
    const c = this.ec2(ctx);
    const id = str(this.json, 'Id');
    const reqEntry = await ledger.intend(
      'spot_request',
      { by: 'tag', value: id },
      `spot request of ${this.machineName}`,
    );
    // Its instance is found through the request if the request's answer never arrives.
    const instEntry = await ledger.intend(
      'instance',
      { by: 'spot-request-tag', value: id },
      `instance ${this.machineName}`,
    );
    const minutes = num(this.json, 'BlockDurationMinutes');
    const a = await c.call(
      'RequestSpotInstances',
      {
        ClientToken: `${id}-spot`,
        SpotPrice: str(this.json, 'SpotPrice'),
        InstanceCount: 1,
        BlockDurationMinutes: minutes || undefined,
        LaunchSpecification: spec,
        TagSpecification: [{ ResourceType: 'spot-instances-request', Tag: this.tags() }],
      },
      { idempotent: true },
    );
    const sir = text(obj(list(a.spotInstanceRequestSet)[0]).spotInstanceRequestId);
    if (!sir) throw new MachineError('EC2 answered RequestSpotInstances without a request id');
    await ledger.made(reqEntry, sir);
    this.set({ SpotInstanceRequestId: sir });
    await ctx.save();
    ctx.log(`Waiting for spot request ${sir} to be fulfilled...`);
    const started = Date.now();
    let instance = '';
    for (;;) {
      const r = obj(
        list(
          (await c.call('DescribeSpotInstanceRequests', { SpotInstanceRequestId: [sir] }))
            .spotInstanceRequestSet,
        )[0],
      );
      instance = text(r.instanceId);
      if (instance) break;
      const status = text(obj(r.status).code);
      if (
        ['schedule-expired', 'canceled-before-fulfillment', 'bad-parameters', 'system-error'].includes(status)
      )
        throw new MachineError(
          `spot request ${sir} will not be fulfilled: ${status}: ${text(obj(r.status).message)}`,
        );
      if (Date.now() - started > this.runningTimeoutMs)
        throw new MachineError(
          `spot request ${sir} not fulfilled after ${Math.round((Date.now() - started) / 1000)} s (${status})`,
        );
      await new Promise((res) => setTimeout(res, SPOT_POLL_MS));
    }
    await ledger.made(instEntry, instance);
    this.set({ InstanceId: instance });
    await ctx.save();
    // A spot request's launch specification takes neither tags nor metadata options.
    const metadata = this.metadataOptions();
    if (metadata) await c.call('ModifyInstanceMetadataOptions', { InstanceId: instance, ...metadata });
    ctx.log(`Instance ${instance} launched (spot request ${sir})`);
  }

  protected async serverStatus(signal?: AbortSignal): Promise<ServerStatus> {
    const inst = await this.describe(this.ec2({ debug: () => {}, signal }));
    this.running = inst.state === 'running' ? inst : undefined;
    return {
      state: inst.state,
      running: inst.state === 'running',
      failed:
        inst.state === 'terminated' || inst.state === 'shutting-down'
          ? `it was terminated${inst.stateReason ? `: ${inst.stateReason}` : ''}`
          : undefined,
    };
  }

  private async describe(c: Ec2): Promise<Instance> {
    const id = this.instanceId;
    const inst = instancesOf(await c.call('DescribeInstances', { InstanceId: [id] }))[0];
    if (!inst)
      throw new CloudAPIError('EC2', 400, 'InvalidInstanceID.NotFound', `no instance ${id}`, '', true);
    return inst;
  }

  protected async serverAddress(ctx: DriverContext): Promise<string> {
    const c = this.ec2(ctx);
    const inst = this.running ?? (await this.describe(c));
    if (str(this.json, 'SpotAPI') === 'request-spot-instances' && bool(this.json, 'RequestSpotInstance')) {
      await c.call('CreateTags', { ResourceId: [inst.id, ...inst.volumeIds], Tag: this.tags() });
    }
    return this.addressOf(inst);
  }

  /**
   * The other machines of a swarm reach this one at its private address: the security group's
   * node ports admit the group's members there (a group reference matches no traffic to a public
   * address).
   */
  async clusterAddress(): Promise<string> {
    return str(this.json, 'PrivateIPAddress') || this.getIP();
  }

  private addressOf(inst: Instance): string {
    this.set({ PrivateIPAddress: inst.privateIp });
    if (bool(this.json, 'PrivateIPOnly') || bool(this.json, 'UsePrivateIP')) {
      if (!inst.privateIp) throw new MachineError(`No IP for instance ${inst.id}`);
      return inst.privateIp;
    }
    if (!inst.publicIp) {
      throw new MachineError(
        `instance ${inst.id} has no public address; use --amazonec2-use-private-address, or a subnet that gives public addresses`,
      );
    }
    return inst.publicIp;
  }

  protected resourceKinds(ctx: DriverContext): Record<string, ResourceKind> {
    const c = this.ec2(ctx);
    const none = (err: unknown): string[] => {
      if (isGone(err)) return [];
      throw err;
    };
    const live = ['pending', 'running', 'stopping', 'stopped'];
    const spotByTag = async (value: string) =>
      list(
        (await c.call('DescribeSpotInstanceRequests', filters({ [`tag:${TAG_KEY}`]: value })))
          .spotInstanceRequestSet,
      ).map(obj);
    return {
      key_pair: {
        lookup: (f) =>
          c
            .call('DescribeKeyPairs', { KeyName: [f.value] })
            .then((a) => list(a.keySet).map((k) => text(obj(k).keyName)), none),
        delete: async (name) => {
          await c.call('DeleteKeyPair', { KeyName: name });
        },
        byHand: (name) => this.byHand(`delete-key-pair --key-name ${name}`),
      },
      security_group: {
        lookup: async (f) => {
          const [vpc, name] = [
            f.value.slice(0, f.value.indexOf('/')),
            f.value.slice(f.value.indexOf('/') + 1),
          ];
          const a = await c.call('DescribeSecurityGroups', filters({ 'group-name': name, 'vpc-id': vpc }));
          return list(a.securityGroupInfo).map((g) => text(obj(g).groupId));
        },
        keep: (id) => this.groupUsers(c, id),
        delete: (id) => this.deleteGroup(c, id),
        byHand: (id) => this.byHand(`delete-security-group --group-id ${id}`),
      },
      instance: {
        lookup: async (f) => {
          if (f.by === 'spot-request-tag')
            return (await spotByTag(f.value)).map((r) => text(r.instanceId)).filter(Boolean);
          const a = await c.call(
            'DescribeInstances',
            filters({ [`tag:${TAG_KEY}`]: f.value, 'instance-state-name': live }),
          );
          return instancesOf(a).map((i) => i.id);
        },
        delete: async (id) => {
          await c.call('TerminateInstances', { InstanceId: [id] });
        },
        byHand: (id) => this.byHand(`terminate-instances --instance-ids ${id}`),
      },
      spot_request: {
        lookup: async (f) => {
          if (f.by === 'instance') {
            const a = await c
              .call('DescribeInstances', { InstanceId: [f.value] })
              .catch(() => ({}) as Answer);
            return instancesOf(a)
              .map((i) => i.spotRequestId)
              .filter(Boolean);
          }
          return (await spotByTag(f.value))
            .filter((r) => !['cancelled', 'closed'].includes(text(r.state)))
            .map((r) => text(r.spotInstanceRequestId));
        },
        delete: async (id) => {
          await c.call('CancelSpotInstanceRequests', { SpotInstanceRequestId: [id] });
        },
        byHand: (id) => this.byHand(`cancel-spot-instance-requests --spot-instance-request-ids ${id}`),
      },
    };
  }

  /**
   * A group this machine made is deleted unless other instances use it now: then it stays, as the
   * original leaves a shared group ('' when only this machine's instance uses it).
   */
  private async groupUsers(c: Ec2, id: string): Promise<string> {
    const mine = this.instanceId;
    const enis = list(
      (await c.call('DescribeNetworkInterfaces', filters({ 'group-id': id }))).networkInterfaceSet,
    ).map(obj);
    if (enis.some((e) => !text(obj(e.attachment).instanceId)))
      return 'a network interface of someone else uses it';
    const others = enis.map((e) => text(obj(e.attachment).instanceId)).filter((i) => i !== mine);
    if (others.length === 0) return '';
    const users = instancesOf(await c.call('DescribeInstances', { InstanceId: others }))
      .filter((i) => i.state !== 'terminated')
      .map((i) => i.id);
    return users.length > 0 ? `other instances use it (${users.join(', ')})` : '';
  }

  /** EC2 refuses while this machine's own instance is still shutting down: asked again, within a bound. */
  private async deleteGroup(c: Ec2, id: string): Promise<void> {
    const started = Date.now();
    for (;;) {
      try {
        await c.call('DeleteSecurityGroup', { GroupId: id });
        return;
      } catch (err) {
        if (
          !(err instanceof CloudAPIError && err.code === 'DependencyViolation') ||
          Date.now() - started > 180_000
        )
          throw err;
        await new Promise((r) => setTimeout(r, 5000));
      }
    }
  }

  async start(ctx: DriverContext): Promise<void> {
    const c = this.ec2(ctx);
    await c.call('StartInstances', { InstanceId: [this.needInstance()] });
    const { waitUntilRunning } = await import('../cloud/wait.js');
    await waitUntilRunning({
      what: this.serverLabel(),
      poll: () => this.serverStatus(ctx.signal),
      intervalMs: POLL_MS,
      timeoutMs: this.runningTimeoutMs,
      log: ctx.log,
      signal: ctx.signal,
    });
    // A stopped instance's public address is given back: it has a new one now.
    const ip = this.addressOf(this.running ?? (await this.describe(c)));
    if (ip !== str(this.json, 'IPAddress')) {
      this.set({ IPAddress: ip });
      ctx.log(`Instance address: ${ip}`);
    }
    await ctx.save();
  }
  async stop(ctx: DriverContext): Promise<void> {
    await this.ec2(ctx).call('StopInstances', { InstanceId: [this.needInstance()], Force: false });
  }
  async restart(ctx: DriverContext): Promise<void> {
    await this.ec2(ctx).call('RebootInstances', { InstanceId: [this.needInstance()] });
  }
  async kill(ctx: DriverContext): Promise<void> {
    await this.ec2(ctx).call('StopInstances', { InstanceId: [this.needInstance()], Force: true });
  }

  private needInstance(): string {
    const id = this.instanceId;
    if (!id)
      throw new MachineError(
        `machine "${this.machineName}" has no instance (its create did not finish); remove it with rm`,
      );
    return id;
  }

  async getState(signal?: AbortSignal): Promise<MachineState> {
    if (!this.instanceId) return 'NotFound';
    try {
      return machineState(
        (await this.describe(this.ec2(signal ? { debug: () => {}, signal } : undefined))).state,
      );
    } catch (err) {
      if (isGone(err)) return 'NotFound';
      throw err;
    }
  }
}

const NO_CREDENTIALS =
  'amazonec2 driver requires AWS credentials configured with the --amazonec2-access-key and --amazonec2-secret-key options, environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), or a profile in ~/.aws/credentials or ~/.aws/config (AWS_PROFILE)';
const NO_VPC =
  'amazonec2 driver requires either the --amazonec2-subnet-id or --amazonec2-vpc-id option or an AWS Account with a default vpc-id';

/** Graviton instance types (t4g, m7g, c6gn, ...) run arm64 images. */
/**
 * The ports each of the machine's security groups opens: SSH, the engine, a swarm manager's
 * (the original's standalone 3376 and Swarm mode's 2377) and --amazonec2-open-port, from anywhere,
 * as the original opens them; and, for any swarm member, Swarm mode's node-to-node ports from the
 * group itself only (the other machines of the swarm are in it).
 */
export function ingressPorts(
  json: DriverJSON,
): { port: number; proto: string; from: 'anywhere' | 'group' }[] {
  const out: { port: number; proto: string; from: 'anywhere' | 'group' }[] = [
    { port: num(json, 'SSHPort') || 22, proto: 'tcp', from: 'anywhere' },
  ];
  // An SSH-only engine (--engine-endpoint ssh) has no port to open.
  if (!sshOnlyEngine(json)) out.push({ port: 2376, proto: 'tcp', from: 'anywhere' });
  if (bool(json, 'SwarmMaster')) {
    const m = /:(\d+)\/?$/.exec(str(json, 'SwarmHost'));
    out.push(
      { port: m ? Number(m[1]) : 3376, proto: 'tcp', from: 'anywhere' },
      { port: 2377, proto: 'tcp', from: 'anywhere' },
    );
  }
  for (const p of strings(json, 'OpenPorts')) {
    const [port, proto = 'tcp'] = p.split('/');
    out.push({ port: Number(port), proto, from: 'anywhere' });
  }
  if (isSwarmMember(json)) for (const p of SWARM_NODE_PORTS) out.push({ ...p, from: 'group' });
  return out.filter((p, i) => out.findIndex((q) => q.port === p.port && q.proto === p.proto) === i);
}

export function armType(type: string): boolean {
  return /^[a-z]+\d+g[a-z]*\./.test(type);
}

function strings(json: DriverJSON, key: string): string[] {
  const v = json[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The endpoint from the flag (or AWS_ENDPOINT), else AWS_ENDPOINT_URL_EC2, else AWS_ENDPOINT_URL. */
export function endpointFrom(flag: string, insecure: boolean, env: NodeJS.ProcessEnv = process.env): string {
  const raw = flag || env.AWS_ENDPOINT_URL_EC2 || env.AWS_ENDPOINT_URL || '';
  if (!raw) return '';
  // The original took a host name alone as well as a URL.
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${insecure ? 'http' : 'https'}://${raw}`;
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new MachineError(`--amazonec2-endpoint "${raw}" is not an http(s) URL or a host name`);
  }
  return url;
}

function driverFromFlags(base: BaseDriverFields, p: ParsedFlags): Driver {
  const accessKey = flagString(p, 'amazonec2-access-key');
  const secretKey = flagString(p, 'amazonec2-secret-key');
  const sessionToken = flagString(p, 'amazonec2-session-token');
  if (!resolveCredentials({ accessKey, secretKey, sessionToken })) throw new MachineError(NO_CREDENTIALS);
  const keypair = flagString(p, 'amazonec2-keypair-name');
  const keyPath = flagString(p, 'amazonec2-ssh-keypath');
  if (keypair && !keyPath)
    throw new MachineError('using --amazonec2-keypair-name also requires --amazonec2-ssh-keypath');
  const insecure = flagBool(p, 'amazonec2-insecure-transport');
  const endpoint = endpointFrom(flagString(p, 'amazonec2-endpoint'), insecure);
  if (insecure && !endpoint)
    throw new MachineError('using --amazonec2-insecure-transport also requires --amazonec2-endpoint');
  const region = flagString(p, 'amazonec2-region') || DEFAULT_REGION;
  if (!endpoint && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new MachineError(
      `--amazonec2-region ${region} is not an AWS region name (e.g. us-east-1, eu-west-3)`,
    );
  }
  const zone = flagString(p, 'amazonec2-zone') || 'a';
  const tags = flagString(p, 'amazonec2-tags');
  if (tags && tags.split(',').length % 2 !== 0) {
    throw new MachineError(`--amazonec2-tags "${tags}": expected key,value pairs (key1,value1,key2,value2)`);
  }
  for (const t of tags ? tags.split(',').filter((_, i) => i % 2 === 0) : []) {
    if (t.trim() === 'Name' || t.trim() === TAG_KEY || t.trim().startsWith('aws:'))
      throw new MachineError(
        `--amazonec2-tags: the tag key ${t.trim()} is set by docker-machine or AWS; choose another`,
      );
  }
  const openPorts = flagSlice(p, 'amazonec2-open-port');
  for (const op of openPorts) {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(op);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535)
      throw new MachineError(
        `--amazonec2-open-port ${op}: expected PORT or PORT/tcp or PORT/udp, PORT 1-65535`,
      );
  }
  const spotPrice = flagString(p, 'amazonec2-spot-price');
  if (flagBool(p, 'amazonec2-request-spot-instance') && !/^\d+(\.\d+)?$/.test(spotPrice))
    throw new MachineError(`--amazonec2-spot-price ${spotPrice}: expected a price in dollars, e.g. 0.50`);
  const minutes = flagInt(p, 'amazonec2-block-duration-minutes');
  if (minutes !== 0 && (minutes % 60 !== 0 || minutes < 60 || minutes > 360))
    throw new MachineError(
      `--amazonec2-block-duration-minutes ${minutes}: expected 60, 120, 180, 240, 300 or 360`,
    );
  const groups = flagSlice(p, 'amazonec2-security-group');
  const json: DriverJSON = {
    ...base,
    SSHUser: flagString(p, 'amazonec2-ssh-user') || 'ubuntu',
    SSHPort: flagInt(p, 'amazonec2-ssh-port') || 22,
    Id: randomBytes(8).toString('hex'),
    // Kept as the original did when given by flag or variable; a profile's keys are read from
    // their file again instead.
    AccessKey: accessKey,
    SecretKey: secretKey,
    SessionToken: sessionToken,
    Region: region,
    AMI: flagString(p, 'amazonec2-ami'),
    SSHKeyID: 0,
    ExistingKey: keypair !== '',
    KeyName: keypair,
    InstanceId: '',
    InstanceType: flagString(p, 'amazonec2-instance-type'),
    PrivateIPAddress: '',
    SecurityGroupId: '',
    SecurityGroupIds: [],
    SecurityGroupName: '',
    SecurityGroupNames: groups.length ? groups : ['docker-machine'],
    SecurityGroupReadOnly: flagBool(p, 'amazonec2-security-group-readonly'),
    OpenPorts: openPorts,
    Tags: tags,
    ReservationId: '',
    DeviceName: flagString(p, 'amazonec2-device-name'),
    RootSize: flagInt(p, 'amazonec2-root-size'),
    VolumeType: flagString(p, 'amazonec2-volume-type'),
    EncryptEbsVolume: flagBool(p, 'amazonec2-encrypt-ebs-volume'),
    KmsKeyId: flagString(p, 'amazonec2-kms-key'),
    IamInstanceProfile: flagString(p, 'amazonec2-iam-instance-profile'),
    VpcId: flagString(p, 'amazonec2-vpc-id'),
    SubnetId: flagString(p, 'amazonec2-subnet-id'),
    // The original added the region only without an endpoint; a whole zone name is taken as is.
    Zone: /^[a-z]$/.test(zone) ? `${region}${zone}` : zone,
    RequestSpotInstance: flagBool(p, 'amazonec2-request-spot-instance'),
    SpotPrice: spotPrice,
    SpotAPI: flagString(p, 'amazonec2-spot-api') || 'run-instances',
    SpotInstanceRequestId: '',
    BlockDurationMinutes: minutes,
    PrivateIPOnly: flagBool(p, 'amazonec2-private-address-only'),
    UsePrivateIP: flagBool(p, 'amazonec2-use-private-address'),
    UseEbsOptimizedInstance: flagBool(p, 'amazonec2-use-ebs-optimized-instance'),
    Monitoring: flagBool(p, 'amazonec2-monitoring'),
    HttpEndpoint: flagString(p, 'amazonec2-http-endpoint'),
    HttpTokens: flagString(p, 'amazonec2-http-tokens'),
    HttpPutResponseHopLimit: flagInt(p, 'amazonec2-metadata-token-response-hop-limit'),
    SSHPrivateKeyPath: keyPath,
    RetryCount: flagInt(p, 'amazonec2-retries'),
    Endpoint: endpoint,
    DisableSSL: insecure,
    UserDataFile: flagString(p, 'amazonec2-userdata'),
    Ledger: [],
  };
  if (minutes && !(json.RequestSpotInstance && json.SpotAPI === 'request-spot-instances')) {
    throw new MachineError(
      '--amazonec2-block-duration-minutes needs --amazonec2-request-spot-instance and --amazonec2-spot-api request-spot-instances',
    );
  }
  return new AmazonEC2Driver(json);
}

export const amazonec2Driver: DriverModule = {
  name: 'amazonec2',
  flags,
  fromFlags: driverFromFlags,
  fromJSON(json: DriverJSON): Driver {
    return new AmazonEC2Driver(mergeDriverJSON(json, {}));
  },
};
