import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { apiVersionFor, FakeAzure, type FakeAzureOptions, validateExamples, validateRecords } from './arm.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the fields it checks
  body: any;
}

/** A client of the fake that trusts only its CA, as the driver will through NODE_EXTRA_CA_CERTS. */
class Client {
  private ca: Buffer | undefined;
  constructor(private readonly fake: FakeAzure) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    o: {
      token?: string | null;
      version?: string | null;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<Answer> {
    const { readFile } = await import('node:fs/promises');
    this.ca ??= await readFile(this.fake.caPath);
    const url = new URL(path, this.fake.url);
    if (o.version !== null && !url.searchParams.has('api-version'))
      url.searchParams.set('api-version', o.version ?? apiVersionFor(url.pathname));
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? 'tok' : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload) headers['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, ca: this.ca, signal: o.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? JSON.parse(text) : undefined,
          });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Follows a long-running operation's Azure-AsyncOperation URL to its end: the final status body. */
  async settle(a: Answer): Promise<{ status: string; error?: { code: string; message: string } }> {
    const url = a.headers['azure-asyncoperation'];
    assert.ok(typeof url === 'string', `no Azure-AsyncOperation header (status ${a.status})`);
    for (let i = 0; i < 20; i++) {
      const p = await this.call('GET', url);
      assert.equal(p.status, 200);
      if (p.body.status !== 'InProgress') return p.body;
      assert.equal(p.headers['retry-after'], '0');
    }
    throw new Error('operation never ended');
  }

  /** Follows a Location header: the 202s, then the final answer. */
  async follow(a: Answer): Promise<{ polls: number; final: Answer }> {
    let url = a.headers.location;
    let polls = 0;
    for (; polls < 20; polls++) {
      assert.ok(typeof url === 'string', 'no Location header');
      const p = await this.call('GET', url);
      if (p.status !== 202) return { polls, final: p };
      url = p.headers.location;
    }
    throw new Error('operation never ended');
  }
}

const SUB = '6a1b9c3e-5f2d-4e8a-9b7c-0d1e2f3a4b5c';
const RG = `/subscriptions/${SUB}/resourceGroups/docker-machine`;
const NET = `${RG}/providers/Microsoft.Network`;
const COMPUTE = `${RG}/providers/Microsoft.Compute`;
const KEY =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCeClRAk2ipUs/l5voIsDC5q9RI+YSRd1Bvd/O+axgY4WiBzG+4FwJWZm/mLLe5DoOdHQwmU2FrKXZSW4w2sYE70KeWnrFViCOX5MTVvJgPE8ClugNl8RWth docker-machine';

function nsgBody() {
  const rule = (name: string, port: string, priority: number) => ({
    name,
    properties: {
      protocol: 'Tcp',
      sourcePortRange: '*',
      destinationPortRange: port,
      sourceAddressPrefix: '*',
      destinationAddressPrefix: '*',
      access: 'Allow',
      priority,
      direction: 'Inbound',
    },
  });
  return {
    location: 'westus',
    properties: { securityRules: [rule('SSHAllowAny', '22', 100), rule('DockerAllowAny', '2376', 300)] },
  };
}

function nicBody(o: { pip?: boolean; accel?: boolean } = {}) {
  const props: Record<string, unknown> = {
    subnet: { id: `${NET}/virtualNetworks/docker-machine-vnet/subnets/docker-machine` },
    privateIPAllocationMethod: 'Dynamic',
  };
  if (o.pip !== false) props.publicIPAddress = { id: `${NET}/publicIPAddresses/m1-ip` };
  return {
    location: 'westus',
    properties: {
      ipConfigurations: [{ name: 'ip', properties: props }],
      networkSecurityGroup: { id: `${NET}/networkSecurityGroups/m1-firewall` },
      enableAcceleratedNetworking: o.accel === true,
    },
  };
}

function vmBody(
  o: { size?: string; image?: string; disk?: string; deleteOption?: string; nic?: string } = {},
) {
  const [publisher, offer, sku, version] = (o.image ?? 'canonical:UbuntuServer:16.04.0-LTS:latest').split(
    ':',
  );
  return {
    location: 'westus',
    tags: { 'docker-machine': 'm1' },
    properties: {
      hardwareProfile: { vmSize: o.size ?? 'Standard_A2' },
      storageProfile: {
        imageReference: { publisher, offer, sku, version },
        osDisk: {
          createOption: 'FromImage',
          caching: 'ReadWrite',
          managedDisk: { storageAccountType: o.disk ?? 'Standard_LRS' },
          diskSizeGB: 40,
          deleteOption: o.deleteOption ?? 'Delete',
        },
      },
      osProfile: {
        computerName: 'm1',
        adminUsername: 'docker-user',
        customData: Buffer.from('#cloud-config\n').toString('base64'),
        linuxConfiguration: {
          disablePasswordAuthentication: true,
          ssh: { publicKeys: [{ path: '/home/docker-user/.ssh/authorized_keys', keyData: KEY }] },
        },
      },
      networkProfile: { networkInterfaces: [{ id: o.nic ?? `${NET}/networkInterfaces/m1-nic` }] },
      availabilitySet: { id: `${COMPUTE}/availabilitySets/docker-machine` },
    },
  };
}

async function start(o: FakeAzureOptions = {}): Promise<{ fake: FakeAzure; c: Client }> {
  const fake = new FakeAzure({ token: 'tok', retryAfter: 0, lroPolls: 2, ...o });
  await fake.start();
  return { fake, c: new Client(fake) };
}

/** The network a machine needs, each PUT settled: group, availability set, NSG, vnet, subnet, IP, NIC. */
async function network(c: Client, o: { accel?: boolean } = {}): Promise<void> {
  assert.equal((await c.call('PUT', RG, { location: 'westus' })).status, 201);
  const as = await c.call('PUT', `${COMPUTE}/availabilitySets/docker-machine`, {
    location: 'westus',
    sku: { name: 'Aligned' },
    properties: { platformFaultDomainCount: 3, platformUpdateDomainCount: 5 },
  });
  assert.equal(as.status, 200);
  for (const [path, body] of [
    [`${NET}/networkSecurityGroups/m1-firewall`, nsgBody()],
    [
      `${NET}/virtualNetworks/docker-machine-vnet`,
      { location: 'westus', properties: { addressSpace: { addressPrefixes: ['192.168.0.0/16'] } } },
    ],
    [
      `${NET}/virtualNetworks/docker-machine-vnet/subnets/docker-machine`,
      { properties: { addressPrefix: '192.168.0.0/16' } },
    ],
    [
      `${NET}/publicIPAddresses/m1-ip`,
      {
        location: 'westus',
        sku: { name: 'Basic' },
        properties: { publicIPAllocationMethod: 'Dynamic', dnsSettings: { domainNameLabel: 'm1-label' } },
      },
    ],
    [`${NET}/networkInterfaces/m1-nic`, nicBody(o)],
  ] as const) {
    const a = await c.call('PUT', path, body);
    assert.equal(a.status, 201, `${path}: ${JSON.stringify(a.body)}`);
    assert.equal(a.body.properties.provisioningState, 'Updating');
    assert.equal((await c.settle(a)).status, 'Succeeded');
  }
}

describe('FakeAzure (Resource Manager)', () => {
  describe('a machine from start to end', () => {
    let fake: FakeAzure;
    let c: Client;
    const made: { name: string; keys: string[]; customData?: string }[] = [];
    const power: string[] = [];
    before(async () => {
      ({ fake, c } = await start({
        publicAddresses: ['10.99.0.7'],
        privateAddresses: ['10.99.1.7'],
        onCreate: async (name, keys, customData) => {
          made.push({ name, keys, customData });
        },
        onPower: async (name, on) => {
          power.push(`${name} ${on ? 'on' : 'off'}`);
        },
      }));
    });
    after(() => fake.stop());

    it('answers an unauthenticated request with the tenant-discovery 401', async () => {
      const a = await c.call('GET', `/subscriptions/${SUB}`, undefined, { token: null });
      assert.equal(a.status, 401);
      assert.equal(
        a.headers['www-authenticate'],
        `Bearer authorization_uri="https://login.microsoftonline.com/${fake.opts.tenantId}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
      );
      assert.equal(a.body.error.code, 'AuthenticationFailed');
      const bad = await c.call('GET', `/subscriptions/${SUB}`, undefined, { token: 'stolen' });
      assert.equal(bad.status, 401);
      assert.equal(bad.body.error.code, 'InvalidAuthenticationToken');
    });

    it('describes the subscription, its locations, sizes and images', async () => {
      const s = await c.call('GET', `/subscriptions/${SUB}`);
      assert.equal(s.status, 200);
      assert.equal(s.body.tenantId, fake.opts.tenantId);
      assert.equal(s.body.state, 'Enabled');
      const l = await c.call('GET', `/subscriptions/${SUB}/locations`);
      assert.ok(l.body.value.some((x: { name: string }) => x.name === 'westus'));
      assert.ok(!l.body.value.some((x: { name: string }) => x.name === 'chinaeast2'));
      const sizes = await c.call(
        'GET',
        `/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westus/vmSizes`,
      );
      const names = sizes.body.value.map((x: { name: string }) => x.name);
      for (const n of ['Standard_A2', 'Standard_D2_v2', 'Standard_B1s', 'Standard_D2s_v3'])
        assert.ok(names.includes(n));
      assert.ok(!names.includes('Standard_NC24ads_A100_v4'), 'a size westus does not offer');
      const imgs = `/subscriptions/${SUB}/providers/Microsoft.Compute/locations/westus/publishers`;
      const v = await c.call(
        'GET',
        `${imgs}/canonical/artifacttypes/vmimage/offers/UbuntuServer/skus/16.04.0-LTS/versions`,
      );
      assert.equal(v.status, 200);
      assert.ok(v.body.length > 0 && v.body.every((x: { name: string }) => x.name.startsWith('16.04.')));
      const one = await c.call(
        'GET',
        `${imgs}/Canonical/artifacttypes/vmimage/offers/ubuntu-24_04-lts/skus/server/versions/${v.body[0].name.replace('16.04', '24.04')}`,
      );
      assert.equal(one.status, 404, 'a version the sku does not have');
      const none = await c.call(
        'GET',
        `${imgs}/canonical/artifacttypes/vmimage/offers/UbuntuServer/skus/14.04/versions`,
      );
      assert.equal(none.status, 404);
      assert.equal(none.body.error.code, 'NotFound');
    });

    it('makes the network, then the VM with its managed OS disk', async () => {
      assert.equal((await c.call('HEAD', RG)).status, 404);
      await network(c);
      assert.equal((await c.call('HEAD', RG)).status, 204);
      const ip = await c.call('GET', `${NET}/publicIPAddresses/m1-ip`);
      assert.equal(ip.body.properties.ipAddress, undefined, 'a dynamic address waits for a running VM');
      assert.equal(ip.body.properties.dnsSettings.fqdn, 'm1-label.westus.cloudapp.azure.com');
      const nic = await c.call('GET', `${NET}/networkInterfaces/m1-nic`);
      assert.equal(nic.body.properties.ipConfigurations[0].properties.privateIPAddress, '10.99.1.7');

      const vm = await c.call('PUT', `${COMPUTE}/virtualMachines/m1`, vmBody());
      assert.equal(vm.status, 201, JSON.stringify(vm.body));
      assert.equal(vm.body.properties.provisioningState, 'Creating');
      assert.equal(vm.body.properties.osProfile.customData, undefined, 'custom data is never shown back');
      assert.deepEqual(made, [{ name: 'm1', keys: [KEY], customData: '#cloud-config\n' }]);
      const creating = await c.call('GET', `${COMPUTE}/virtualMachines/m1?$expand=instanceView`);
      assert.equal(creating.body.properties.provisioningState, 'Creating');
      assert.equal((await c.settle(vm)).status, 'Succeeded');
      const got = await c.call('GET', `${COMPUTE}/virtualMachines/m1?$expand=instanceView`);
      assert.equal(got.body.properties.provisioningState, 'Succeeded');
      assert.deepEqual(
        got.body.properties.instanceView.statuses.map((s: { code: string }) => s.code),
        ['ProvisioningState/succeeded', 'PowerState/running'],
      );
      assert.equal(got.body.properties.storageProfile.imageReference.exactVersion, '16.04.202104290');
      assert.equal(
        (await c.call('GET', `${NET}/publicIPAddresses/m1-ip`)).body.properties.ipAddress,
        '10.99.0.7',
      );
      const nicAfter = await c.call('GET', `${NET}/networkInterfaces/m1-nic`);
      assert.equal(nicAfter.body.properties.virtualMachine.id, `${COMPUTE}/virtualMachines/m1`);
      assert.match(nicAfter.body.properties.macAddress, /^00-0D-3A(-[0-9A-F]{2}){3}$/);
      const disk = got.body.properties.storageProfile.osDisk;
      assert.equal(disk.managedDisk.storageAccountType, 'Standard_LRS');
      assert.equal(disk.diskSizeGB, 40);
      assert.ok(
        fake.resources().some((r) => r.type === 'Microsoft.Compute/disks' && r.id === disk.managedDisk.id),
      );
    });

    it('powers the VM off, on, restarts and deallocates it over polls', async () => {
      const vm = `${COMPUTE}/virtualMachines/m1`;
      const off = await c.call('POST', `${vm}/powerOff`);
      assert.equal(off.status, 202);
      assert.ok(off.headers.location && off.headers['azure-asyncoperation']);
      assert.equal(fake.powerState('docker-machine', 'm1'), 'stopping');
      const done = await c.follow(off);
      assert.equal(done.polls, 2, 'two 202s, then the end');
      assert.equal(done.final.status, 200);
      assert.equal(fake.powerState('docker-machine', 'm1'), 'stopped');
      assert.equal((await c.settle(await c.call('POST', `${vm}/start`))).status, 'Succeeded');
      assert.equal((await c.settle(await c.call('POST', `${vm}/restart`))).status, 'Succeeded');
      assert.equal((await c.settle(await c.call('POST', `${vm}/deallocate`))).status, 'Succeeded');
      const iv = await c.call('GET', `${vm}/instanceView`);
      assert.equal(iv.body.statuses[1].code, 'PowerState/deallocated');
      assert.equal(
        (await c.call('GET', `${NET}/publicIPAddresses/m1-ip`)).body.properties.ipAddress,
        undefined,
      );
      const again = await c.call('POST', `${vm}/powerOff`);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'OperationNotAllowed');
      assert.equal((await c.settle(await c.call('POST', `${vm}/start`))).status, 'Succeeded');
      assert.equal(
        (await c.call('GET', `${NET}/publicIPAddresses/m1-ip`)).body.properties.ipAddress,
        '10.99.0.7',
      );
      assert.deepEqual(power, ['m1 off', 'm1 on', 'm1 off', 'm1 on', 'm1 off', 'm1 on']);
    });

    it('refuses to delete what the VM still uses', async () => {
      const nic = await c.call('DELETE', `${NET}/networkInterfaces/m1-nic`);
      assert.equal(nic.status, 400);
      assert.equal(nic.body.error.code, 'NicInUse');
      const sub = await c.call('DELETE', `${NET}/virtualNetworks/docker-machine-vnet/subnets/docker-machine`);
      assert.equal(sub.status, 400);
      assert.equal(sub.body.error.code, 'InUseSubnetCannotBeDeleted');
      const vnet = await c.call('DELETE', `${NET}/virtualNetworks/docker-machine-vnet`);
      assert.equal(vnet.body.error.code, 'InUseSubnetCannotBeDeleted');
      const pip = await c.call('DELETE', `${NET}/publicIPAddresses/m1-ip`);
      assert.equal(pip.body.error.code, 'PublicIPAddressCannotBeDeleted');
      const nsg = await c.call('DELETE', `${NET}/networkSecurityGroups/m1-firewall`);
      assert.equal(nsg.body.error.code, 'InUseNetworkSecurityGroupCannotBeDeleted');
      const as = await c.call('DELETE', `${COMPUTE}/availabilitySets/docker-machine`);
      assert.equal(as.status, 409);
      // A vnet PUT without its subnets would delete them: refused while one is in use.
      const put = await c.call('PUT', `${NET}/virtualNetworks/docker-machine-vnet`, {
        location: 'westus',
        properties: { addressSpace: { addressPrefixes: ['192.168.0.0/16'] } },
      });
      assert.equal(put.body.error.code, 'InUseSubnetCannotBeDeleted');
    });

    it('deletes everything in reverse order, the VM taking its OS disk', async () => {
      const vm = await c.call('DELETE', `${COMPUTE}/virtualMachines/m1`);
      assert.equal(vm.status, 202);
      assert.ok(vm.headers.location && vm.headers['azure-asyncoperation']);
      const deleting = await c.call('GET', `${COMPUTE}/virtualMachines/m1`);
      assert.equal(deleting.body.properties.provisioningState, 'Deleting');
      const busy = await c.call('DELETE', `${NET}/networkInterfaces/m1-nic`);
      assert.equal(busy.body.error.code, 'NicInUse', "the NIC is the VM's until its delete ends");
      assert.equal((await c.settle(vm)).status, 'Succeeded');
      assert.equal(
        (await c.call('GET', `${COMPUTE}/virtualMachines/m1`)).body.error.code,
        'ResourceNotFound',
      );
      assert.ok(!fake.resources().some((r) => r.type === 'Microsoft.Compute/disks'), 'deleteOption Delete');
      for (const path of [
        `${NET}/networkInterfaces/m1-nic`,
        `${NET}/publicIPAddresses/m1-ip`,
        `${NET}/networkSecurityGroups/m1-firewall`,
        `${NET}/virtualNetworks/docker-machine-vnet/subnets/docker-machine`,
        `${NET}/virtualNetworks/docker-machine-vnet`,
      ]) {
        const a = await c.call('DELETE', path);
        assert.equal(a.status, 202, `${path}: ${JSON.stringify(a.body)}`);
        assert.equal((await c.settle(a)).status, 'Succeeded');
      }
      assert.equal((await c.call('DELETE', `${COMPUTE}/availabilitySets/docker-machine`)).status, 200);
      assert.equal((await c.call('DELETE', `${NET}/networkInterfaces/m1-nic`)).status, 204, 'gone: 204');
      assert.deepEqual(
        fake.resources().map((r) => r.type),
        ['Microsoft.Resources/resourceGroups'],
      );
      assert.ok(power.at(-1) === 'm1 off');
    });

    it('deletes a resource group with a Location poll', async () => {
      const a = await c.call('DELETE', RG);
      assert.equal(a.status, 202);
      assert.equal(a.headers['azure-asyncoperation'], undefined);
      const during = await c.call('PUT', `${NET}/networkSecurityGroups/late`, nsgBody());
      assert.equal(during.status, 409);
      assert.equal(during.body.error.code, 'ResourceGroupBeingDeleted');
      const done = await c.follow(a);
      assert.equal(done.final.status, 200);
      assert.deepEqual(fake.resources(), []);
      const gone = await c.call('PUT', `${NET}/networkSecurityGroups/late`, nsgBody());
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error.code, 'ResourceGroupNotFound');
    });

    it('every body of the run matches the Swagger descriptions', async () => {
      assert.ok(fake.recorded.length > 80);
      assert.deepEqual(await fake.validate(), []);
    });

    it('the checker accepts what real ARM answered: the x-ms-examples of the operations of the run', async () => {
      const ops = [...new Set(fake.recorded.map((r) => r.op))];
      const { checked, problems } = await validateExamples(ops);
      assert.ok(checked > 100, `${checked} example bodies`);
      // The one example the description itself refuses: nulls where it allows an object only.
      assert.deepEqual(
        problems.map((p) => p.replace(/^#\d+ /, '')),
        ['availablePatchSummary', 'lastPatchInstallationSummary'].map(
          (s) =>
            `response VirtualMachines_InstanceView 200 Get Virtual Machine Instance View.: /patchStatus/${s}/error: None is not of type 'object'`,
        ),
      );
    });
  });

  describe('refusals', () => {
    let fake: FakeAzure;
    let c: Client;
    before(async () => {
      ({ fake, c } = await start({ coresQuota: 3 }));
      await network(c);
    });
    after(() => fake.stop());

    const vmError = async (body: unknown) => {
      const a = await c.call('PUT', `${COMPUTE}/virtualMachines/bad`, body);
      return { status: a.status, code: a.body.error?.code, message: a.body.error?.message as string };
    };

    it('api-version: missing, unknown to ARM, unknown to a provider', async () => {
      const missing = await c.call('GET', RG, undefined, { version: null });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error.code, 'MissingApiVersionParameter');
      const arm = await c.call('GET', RG, undefined, { version: '2015-01-01' });
      assert.equal(arm.body.error.code, 'InvalidApiVersionParameter');
      assert.match(arm.body.error.message, /'2024-03-01'/);
      const rp = await c.call('GET', `${COMPUTE}/virtualMachines/x`, undefined, { version: '2016-03-30' });
      assert.equal(rp.body.error.code, 'NoRegisteredProviderFound');
    });

    it('unknown subscription, group and resource', async () => {
      const other = await c.call('GET', '/subscriptions/00000000-0000-0000-0000-000000000001');
      assert.equal(other.status, 404);
      assert.equal(other.body.error.code, 'SubscriptionNotFound');
      const rg = await c.call(
        'GET',
        `/subscriptions/${SUB}/resourceGroups/nope/providers/Microsoft.Compute/virtualMachines/x`,
      );
      assert.equal(rg.body.error.code, 'ResourceGroupNotFound');
      const vm = await c.call('GET', `${COMPUTE}/virtualMachines/x`);
      assert.equal(vm.status, 404);
      assert.equal(vm.body.error.code, 'ResourceNotFound');
      const loc = await c.call('PUT', `/subscriptions/${SUB}/resourceGroups/elsewhere`, { location: 'mars' });
      assert.equal(loc.body.error.code, 'LocationNotAvailableForResourceType');
    });

    it('sizes, images, plans, generations and disk SKUs', async () => {
      assert.equal((await vmError(vmBody({ size: 'Standard_Bogus' }))).code, 'SkuNotAvailable');
      const gpu = await vmError(vmBody({ size: 'Standard_NC24ads_A100_v4' }));
      assert.equal(gpu.status, 409);
      assert.match(gpu.message, /not available in location 'westus'/);
      const img = await vmError(vmBody({ image: 'canonical:UbuntuServer:14.04:latest' }));
      assert.equal(img.status, 404);
      assert.equal(img.code, 'PlatformImageNotFound');
      assert.match(img.message, /'canonical:UbuntuServer:14\.04:latest' is not available/);
      const gen = await vmError(vmBody({ image: 'Canonical:ubuntu-24_04-lts:server:latest' }));
      assert.equal(gen.code, 'BadRequest');
      assert.match(gen.message, /cannot boot Hypervisor Generation '2'/);
      assert.equal(
        (await vmError(vmBody({ image: 'kinvolk:flatcar-container-linux:stable:latest' }))).code,
        'VMMarketplaceInvalidInput',
      );
      const premium = await vmError(vmBody({ disk: 'Premium_LRS' }));
      assert.match(premium.message, /does not support the storage account type Premium_LRS/);
      assert.equal((await vmError(vmBody({ deleteOption: 'Keep' }))).code, 'InvalidParameter');
    });

    it('the vCPU quota', async () => {
      const q = await vmError(
        vmBody({ size: 'Standard_D4s_v3', image: 'Canonical:ubuntu-24_04-lts:server:latest' }),
      );
      assert.equal(q.status, 409);
      assert.equal(q.code, 'OperationNotAllowed');
      assert.match(
        q.message,
        /Total Regional Cores quota.*Current Limit: 3, Current Usage: 0, Additional Required: 4/,
      );
    });

    it('SSH keys, user names and custom data', async () => {
      const body = vmBody();
      body.properties.osProfile.adminUsername = 'root';
      assert.match((await vmError(body)).message, /Admin Username specified is not allowed/);
      const noKeys = vmBody();
      noKeys.properties.osProfile.linuxConfiguration.ssh.publicKeys = [];
      assert.match((await vmError(noKeys)).message, /either SSH or by user name and password/);
      const path = vmBody();
      path.properties.osProfile.linuxConfiguration.ssh.publicKeys[0].path = '/root/.ssh/authorized_keys';
      assert.match((await vmError(path)).message, /limited to its default value \/home\/docker-user/);
      const data = vmBody();
      data.properties.osProfile.customData = 'not base64!';
      assert.match((await vmError(data)).message, /Base64 encoding/);
    });

    it('public IP SKUs, DNS labels, accelerated networking', async () => {
      const std = await c.call('PUT', `${NET}/publicIPAddresses/std`, {
        location: 'westus',
        sku: { name: 'Standard' },
        properties: { publicIPAllocationMethod: 'Dynamic' },
      });
      assert.equal(std.status, 400);
      assert.equal(std.body.error.code, 'StandardSkuPublicIPAddressesMustBeStatic');
      const label = await c.call('PUT', `${NET}/publicIPAddresses/dup`, {
        location: 'westus',
        properties: { dnsSettings: { domainNameLabel: 'm1-label' } },
      });
      assert.equal(label.body.error.code, 'DnsRecordInUse');
      const badLabel = await c.call('PUT', `${NET}/publicIPAddresses/dup`, {
        location: 'westus',
        properties: { dnsSettings: { domainNameLabel: 'Upper_Case' } },
      });
      assert.equal(badLabel.body.error.code, 'InvalidDomainNameLabel');
      const staticIp = await c.call('PUT', `${NET}/publicIPAddresses/std`, {
        location: 'westus',
        sku: { name: 'Standard' },
        properties: { publicIPAllocationMethod: 'Static' },
      });
      await c.settle(staticIp);
      const got = await c.call('GET', `${NET}/publicIPAddresses/std`);
      assert.match(
        got.body.properties.ipAddress,
        /^192\.0\.2\.\d+$/,
        'TEST-NET-1 when no address is configured',
      );
      const accel = await c.call(
        'PUT',
        `${NET}/networkInterfaces/fast`,
        nicBody({ pip: false, accel: true }),
      );
      await c.settle(accel);
      const vm = await vmError(vmBody({ nic: `${NET}/networkInterfaces/fast` }));
      assert.equal(vm.code, 'VMSizeIsNotPermittedToEnableAcceleratedNetworking');
    });

    it('static private addresses: inside the subnet, not taken twice', async () => {
      const nic = (ip: string) => {
        const b = nicBody({ pip: false });
        Object.assign(b.properties.ipConfigurations[0].properties, {
          privateIPAllocationMethod: 'Static',
          privateIPAddress: ip,
        });
        return b;
      };
      const outside = await c.call('PUT', `${NET}/networkInterfaces/s1`, nic('10.9.9.9'));
      assert.equal(outside.body.error.code, 'PrivateIPAddressNotInSubnet');
      const ok = await c.call('PUT', `${NET}/networkInterfaces/s1`, nic('192.168.7.8'));
      assert.equal(ok.status, 201);
      await c.settle(ok);
      const got = await c.call('GET', `${NET}/networkInterfaces/s1`);
      assert.equal(got.body.properties.ipConfigurations[0].properties.privateIPAddress, '192.168.7.8');
      const twice = await c.call('PUT', `${NET}/networkInterfaces/s2`, nic('192.168.7.8'));
      assert.equal(twice.body.error.code, 'PrivateIPAddressInUse');
      const noSubnet = nicBody({ pip: false });
      noSubnet.properties.ipConfigurations[0].properties.subnet = {
        id: `${NET}/virtualNetworks/docker-machine-vnet/subnets/nope`,
      };
      const dangling = await c.call('PUT', `${NET}/networkInterfaces/s3`, noSubnet);
      assert.equal(dangling.body.error.code, 'InvalidResourceReference');
    });

    it('subnets outside the vnet or overlapping, NSG rule priorities', async () => {
      const out = await c.call('PUT', `${NET}/virtualNetworks/docker-machine-vnet/subnets/far`, {
        properties: { addressPrefix: '10.1.0.0/24' },
      });
      assert.equal(out.body.error.code, 'NetcfgSubnetRangeOutsideVnet');
      const over = await c.call('PUT', `${NET}/virtualNetworks/docker-machine-vnet/subnets/near`, {
        properties: { addressPrefix: '192.168.4.0/24' },
      });
      assert.equal(over.body.error.code, 'NetcfgSubnetRangesOverlap');
      const body = nsgBody();
      body.properties.securityRules[1].properties.priority = 100;
      const dup = await c.call('PUT', `${NET}/networkSecurityGroups/dup`, body);
      assert.equal(dup.body.error.code, 'SecurityRuleConflict');
      body.properties.securityRules[1].properties.priority = 50;
      const low = await c.call('PUT', `${NET}/networkSecurityGroups/dup`, body);
      assert.equal(low.body.error.code, 'SecurityRuleInvalidPriority');
      body.properties.securityRules[1].properties.priority = 300;
      body.properties.securityRules[1].properties.sourceAddressPrefix = 'Vnet';
      const tag = await c.call('PUT', `${NET}/networkSecurityGroups/dup`, body);
      assert.equal(tag.body.error.code, 'SecurityRuleInvalidAddressPrefix');
    });

    it('no failed request left anything behind, and every body matched its description', async () => {
      assert.ok(!fake.resources().some((r) => /\/(bad|dup|far|near|s2|s3)$/.test(r.id)));
      assert.deepEqual(await fake.validate(), []);
    });
  });

  describe('operations and providers', () => {
    it('a failed operation: status Failed with its error, the VM provisioningState Failed', async () => {
      const { fake, c } = await start();
      try {
        await network(c);
        fake.failOperation(
          /virtualmachines\/m1$/,
          'OSProvisioningTimedOut',
          'OS Provisioning for VM m1 did not finish in the allotted time.',
        );
        const vm = await c.call('PUT', `${COMPUTE}/virtualMachines/m1`, vmBody());
        const end = await c.settle(vm);
        assert.equal(end.status, 'Failed');
        assert.equal(end.error?.code, 'OSProvisioningTimedOut');
        const got = await c.call('GET', `${COMPUTE}/virtualMachines/m1?$expand=instanceView`);
        assert.equal(got.body.properties.provisioningState, 'Failed');
        assert.equal(got.body.properties.instanceView.statuses[0].code, 'ProvisioningState/failed');
        assert.deepEqual(await fake.validate(), []);
      } finally {
        await fake.stop();
      }
    });

    it('an unregistered provider: 409 until registered, Registering then Registered', async () => {
      const { fake, c } = await start({ unregisteredProviders: ['Microsoft.Network'], registerPolls: 2 });
      try {
        assert.equal((await c.call('PUT', RG, { location: 'westus' })).status, 201);
        const refused = await c.call('PUT', `${NET}/networkSecurityGroups/f`, nsgBody());
        assert.equal(refused.status, 409);
        assert.equal(refused.body.error.code, 'MissingSubscriptionRegistration');
        const list = await c.call('GET', `/subscriptions/${SUB}/providers`);
        const state = (ns: string, body: { value: { namespace: string; registrationState: string }[] }) =>
          body.value.find((p) => p.namespace === ns)?.registrationState;
        assert.equal(state('Microsoft.Network', list.body), 'NotRegistered');
        const reg = await c.call('POST', `/subscriptions/${SUB}/providers/Microsoft.Network/register`);
        assert.equal(reg.body.registrationState, 'Registering');
        const first = await c.call('GET', `/subscriptions/${SUB}/providers/Microsoft.Network`);
        assert.equal(first.body.registrationState, 'Registering');
        const second = await c.call('GET', `/subscriptions/${SUB}/providers/Microsoft.Network`);
        assert.equal(second.body.registrationState, 'Registered');
        assert.equal((await c.call('PUT', `${NET}/networkSecurityGroups/f`, nsgBody())).status, 201);
        assert.deepEqual(await fake.validate(), []);
      } finally {
        await fake.stop();
      }
    });

    it('pages: a walk along nextLink sees every item once', async () => {
      const { fake, c } = await start({ maxPageSize: 2 });
      try {
        assert.equal((await c.call('PUT', RG, { location: 'westus' })).status, 201);
        for (let i = 0; i < 5; i++) await c.call('PUT', `${NET}/networkSecurityGroups/n${i}`, nsgBody());
        const seen: string[] = [];
        let pages = 0;
        let next: string | undefined = `${NET}/networkSecurityGroups`;
        while (next) {
          const p = await c.call('GET', next);
          assert.equal(p.status, 200);
          assert.ok(p.body.value.length <= 2);
          seen.push(...p.body.value.map((x: { name: string }) => x.name));
          next = p.body.nextLink;
          pages++;
        }
        assert.equal(pages, 3);
        assert.deepEqual(seen, ['n0', 'n1', 'n2', 'n3', 'n4']);
        assert.deepEqual(await fake.validate(), []);
      } finally {
        await fake.stop();
      }
    });

    it('throttles every Nth request with 429 and Retry-After', async () => {
      const { fake, c } = await start({ throttle: 3, throttleRetryAfter: 7 });
      try {
        const codes: number[] = [];
        for (let i = 0; i < 6; i++) codes.push((await c.call('GET', `/subscriptions/${SUB}`)).status);
        assert.deepEqual(codes, [200, 200, 429, 200, 200, 429]);
        const t = await c.call('GET', `/subscriptions/${SUB}/locations`);
        assert.equal(t.status, 200);
        const r = await c.call('GET', `/subscriptions/${SUB}/locations`);
        assert.equal(r.status, 200);
        const x = await c.call('GET', `/subscriptions/${SUB}/locations`);
        assert.equal(x.status, 429);
        assert.equal(x.headers['retry-after'], '7');
        assert.equal(x.body.error.code, 'SubscriptionRequestsThrottled');
        assert.equal(fake.throttled, 3);
        assert.deepEqual(await fake.validate(), []);
      } finally {
        await fake.stop();
      }
    });

    it('holds a committed PUT unanswered, announcing it made the resource', async () => {
      const { fake, c } = await start({ holdPutMs: 300, authorityHost: 'https://127.0.0.1:4443/' });
      try {
        const events: string[] = [];
        fake.on('created', (e: { type: string }) => events.push(e.type));
        const started = Date.now();
        const pending = c.call('PUT', RG, { location: 'westus' });
        await new Promise((r) => setTimeout(r, 150));
        assert.deepEqual(events, ['Microsoft.Resources/resourceGroups'], 'made before it is answered');
        assert.equal((await pending).status, 201);
        assert.ok(Date.now() - started >= 300);
        const a = await c.call('GET', RG, undefined, { token: null });
        assert.match(
          String(a.headers['www-authenticate']),
          /authorization_uri="https:\/\/127\.0\.0\.1:4443\//,
        );
      } finally {
        await fake.stop();
      }
    });
  });

  describe('what a driver meets beyond the happy path', () => {
    let fake: FakeAzure;
    let c: Client;
    const power: string[] = [];
    before(async () => {
      ({ fake, c } = await start({
        acceptToken: (t) =>
          t === 'tok' || t === 'second' || ({ old: 'expired', graph: 'audience' } as const)[t] || false,
        onPower: async (name, on) => {
          power.push(`${name} ${on ? 'on' : 'off'}`);
        },
      }));
    });
    after(() => fake.stop());

    it('accepts the tokens acceptToken accepts', async () => {
      const a = await c.call('GET', `/subscriptions/${SUB}`, undefined, { token: 'second' });
      assert.equal(a.status, 200);
      assert.equal((await c.call('GET', `/subscriptions/${SUB}`, undefined, { token: 'third' })).status, 401);
      const expired = await c.call('GET', `/subscriptions/${SUB}`, undefined, { token: 'old' });
      assert.equal(expired.body.error.code, 'ExpiredAuthenticationToken');
      assert.match(String(expired.headers['www-authenticate']), /error="invalid_token"/);
      const graph = await c.call('GET', `/subscriptions/${SUB}`, undefined, { token: 'graph' });
      assert.equal(graph.body.error.code, 'InvalidAuthenticationTokenAudience');
      const basic = await c.call('GET', `/subscriptions/${SUB}`, undefined, {
        token: null,
        headers: { authorization: 'Basic dXNlcjpwdw==' },
      });
      assert.match(basic.body.error.message, /provided in an invalid format/);
    });

    it('seeds what existed before the test, out of the requests log', async () => {
      const before = fake.requests.length;
      await fake.seed(`/subscriptions/${SUB}/resourceGroups/shared`, { location: 'westus' });
      const vnet = await fake.seed(
        `/subscriptions/${SUB}/resourceGroups/shared/providers/Microsoft.Network/virtualNetworks/corp`,
        {
          location: 'westus',
          properties: {
            addressSpace: { addressPrefixes: ['10.20.0.0/16'] },
            subnets: [{ name: 'hosts', properties: { addressPrefix: '10.20.1.0/24' } }],
          },
        },
      );
      assert.equal((vnet.properties as { provisioningState: string }).provisioningState, 'Succeeded');
      assert.equal(fake.requests.length, before);
      await assert.rejects(
        fake.seed(
          `/subscriptions/${SUB}/resourceGroups/shared/providers/Microsoft.Network/virtualNetworks/bad`,
          {
            location: 'westus',
          },
        ),
        /must have at least one address prefix/,
      );
      const got = await c.call(
        'GET',
        `/subscriptions/${SUB}/resourceGroups/shared/providers/Microsoft.Network/virtualNetworks/corp/subnets/hosts`,
      );
      assert.equal(got.body.properties.addressPrefix, '10.20.1.0/24');
    });

    it('security rules one by one on an NSG', async () => {
      await network(c);
      const nsg = `${NET}/networkSecurityGroups/m1-firewall`;
      const rule = {
        properties: {
          protocol: 'Tcp',
          sourcePortRange: '*',
          destinationPortRange: '3376',
          sourceAddressPrefix: '*',
          destinationAddressPrefix: '*',
          access: 'Allow',
          priority: 500,
          direction: 'Inbound',
        },
      };
      const put = await c.call('PUT', `${nsg}/securityRules/DockerSwarmAllowAny`, rule);
      assert.equal(put.status, 201);
      assert.equal((await c.settle(put)).status, 'Succeeded');
      const clash = await c.call('PUT', `${nsg}/securityRules/Other`, rule);
      assert.equal(clash.body.error.code, 'SecurityRuleConflict');
      const list = await c.call('GET', `${nsg}/securityRules`);
      assert.deepEqual(
        list.body.value.map((r: { name: string }) => r.name),
        ['SSHAllowAny', 'DockerAllowAny', 'DockerSwarmAllowAny'],
      );
      const del = await c.call('DELETE', `${nsg}/securityRules/DockerSwarmAllowAny`);
      assert.equal(del.status, 202);
      assert.equal((await c.settle(del)).status, 'Succeeded');
      assert.equal((await c.call('GET', `${nsg}/securityRules/DockerSwarmAllowAny`)).status, 404);
    });

    it('a stale If-Match gets 412; a network resource busy with an operation gets 409', async () => {
      const path = `${NET}/networkSecurityGroups/m1-firewall`;
      const got = await c.call('GET', path);
      const stale = await c.call('PUT', path, nsgBody(), {
        headers: { 'if-match': 'W/"00000000-0000-0000-0000-000000000000"' },
      });
      assert.equal(stale.status, 412);
      assert.equal(stale.body.error.code, 'PreconditionFailed');
      const fresh = await c.call('PUT', path, nsgBody(), { headers: { 'if-match': got.body.etag } });
      assert.equal(fresh.status, 200);
      const busy = await c.call('PUT', path, nsgBody());
      assert.equal(busy.status, 409);
      assert.equal(busy.body.error.code, 'AnotherOperationInProgress');
      await c.settle(fresh);
    });

    it('a DELETE preempts a VM still being made; Detach keeps its OS disk', async () => {
      const made = await c.call('PUT', `${COMPUTE}/virtualMachines/m1`, vmBody({ deleteOption: 'Detach' }));
      assert.equal(made.status, 201);
      const del = await c.call('DELETE', `${COMPUTE}/virtualMachines/m1`);
      assert.equal(del.status, 202);
      const first = await c.settle(made);
      assert.equal(first.status, 'Canceled');
      assert.equal(first.error?.code, 'OperationPreempted');
      assert.equal((await c.settle(del)).status, 'Succeeded');
      const disks = await c.call('GET', `${COMPUTE}/disks`);
      assert.equal(disks.status, 200);
      assert.equal(disks.body.value.length, 1);
      assert.equal(disks.body.value[0].properties.diskState, 'Unattached');
      const d = await c.call('DELETE', disks.body.value[0].id);
      assert.equal(d.status, 202);
      await c.follow(d);
      assert.equal((await c.call('GET', `${COMPUTE}/disks`)).body.value.length, 0);
    });

    it('a VM PUT again is an update: the same body is taken, a changed user or image is not', async () => {
      const first = await c.call('PUT', `${COMPUTE}/virtualMachines/m3`, vmBody());
      assert.equal(first.status, 201);
      await c.settle(first);
      const again = await c.call('PUT', `${COMPUTE}/virtualMachines/m3`, vmBody());
      assert.equal(again.status, 200);
      assert.equal(again.body.properties.provisioningState, 'Updating');
      assert.equal((await c.settle(again)).status, 'Succeeded');
      const user = vmBody();
      user.properties.osProfile.adminUsername = 'other';
      const changed = await c.call('PUT', `${COMPUTE}/virtualMachines/m3`, user);
      assert.equal(changed.status, 409);
      assert.equal(changed.body.error.code, 'PropertyChangeNotAllowed');
      const image = await c.call(
        'PUT',
        `${COMPUTE}/virtualMachines/m3`,
        vmBody({ image: 'Debian:debian-12:12:latest' }),
      );
      assert.equal(image.body.error.code, 'PropertyChangeNotAllowed');
      const nameless = await c.call('PUT', `${NET}/networkSecurityGroups/x`, { properties: {} });
      assert.equal(nameless.body.error.code, 'LocationRequired');
      const badName = await c.call('PUT', `${NET}/networkSecurityGroups/a%26b`, nsgBody());
      assert.equal(badName.body.error.code, 'InvalidResourceName');
      await c.settle(await c.call('DELETE', `${COMPUTE}/virtualMachines/m3`));
    });

    it('an operation nobody polls ends after lroMaxMs all the same', async () => {
      fake.opts.lroMaxMs = 200;
      try {
        const nsg = await c.call('PUT', `${NET}/networkSecurityGroups/unpolled`, nsgBody());
        assert.equal(nsg.status, 201);
        await new Promise((r) => setTimeout(r, 250));
        // Any request lets the fake notice; this one is about another resource.
        await c.call('GET', `/subscriptions/${SUB}`);
        const opId = new URL(String(nsg.headers['azure-asyncoperation'])).pathname.split('/').at(-1)!;
        assert.equal(fake.ops.get(opId)?.status, 'Succeeded');
        const del = await c.call('DELETE', `${NET}/networkSecurityGroups/unpolled`);
        assert.equal(del.status, 202, 'no AnotherOperationInProgress: the create has ended');
        await c.settle(del);
      } finally {
        fake.opts.lroMaxMs = 60_000;
      }
    });

    it('zones only where the region has them', async () => {
      const body = {
        location: 'westus',
        sku: { name: 'Standard' },
        zones: ['1'],
        properties: { publicIPAllocationMethod: 'Static' },
      };
      const west = await c.call('PUT', `${NET}/publicIPAddresses/zoned`, body);
      assert.equal(west.status, 400);
      assert.match(west.body.error.message, /supported zones for location 'westus' are ''/);
      const east = await c.call('PUT', `${NET}/publicIPAddresses/zoned`, { ...body, location: 'eastus' });
      assert.equal(east.status, 201);
      await c.settle(east);
    });

    it('deleting the group deletes what is in it, the VM powered off', async () => {
      const vm = await c.call('PUT', `${COMPUTE}/virtualMachines/m2`, vmBody());
      await c.settle(vm);
      const listed = await c.call('GET', `${RG}/resources`);
      assert.ok(
        listed.body.value.some((r: { type: string }) => r.type === 'Microsoft.Compute/virtualMachines'),
      );
      const a = await c.call('DELETE', RG);
      await c.follow(a);
      // m1's host was made (onCreate) and went with its preempted create, m3's with its delete,
      // m2's with the group.
      assert.deepEqual(power, ['m1 off', 'm3 off', 'm2 off']);
      assert.ok(!fake.resources().some((r) => r.id.toLowerCase().startsWith(RG.toLowerCase())));
      assert.deepEqual(await fake.validate(), []);
    });
  });

  it('a client gone while its VM PUT is held (kill -9): the VM stays, and a later delete takes it', async () => {
    const { fake, c } = await start({ holdPutMs: 400 });
    try {
      await network(c);
      const abort = new AbortController();
      fake.on('created', (e: { type: string }) => {
        if (e.type === 'Microsoft.Compute/virtualMachines') abort.abort();
      });
      await assert.rejects(
        c.call('PUT', `${COMPUTE}/virtualMachines/m1`, vmBody(), { signal: abort.signal }),
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(
        fake.resources().some((r) => r.id.endsWith('/virtualMachines/m1')),
        'committed before the answer',
      );
      const seen = await c.call('GET', `${COMPUTE}/virtualMachines/m1`);
      assert.equal(seen.status, 200);
      const del = await c.call('DELETE', `${COMPUTE}/virtualMachines/m1`);
      assert.equal((await c.settle(del)).status, 'Succeeded');
      assert.ok(!fake.resources().some((r) => /\/(virtualMachines|disks)\//.test(r.id)));
      assert.deepEqual(await fake.validate(), []);
    } finally {
      await fake.stop();
    }
  });

  it('validate() finds a misspelt property in a request and a wrong type in a response', async () => {
    const body = vmBody();
    const os = body.properties.osProfile as Record<string, unknown>;
    os.adminUserName = os.adminUsername;
    delete os.adminUsername;
    const problems = await validateRecords([
      { op: 'VirtualMachines_CreateOrUpdate', kind: 'request', status: 0, body },
      {
        op: 'PublicIPAddresses_Get',
        kind: 'response',
        status: 200,
        body: { id: 'x', name: 'x', properties: { idleTimeoutInMinutes: 'four' } },
      },
      {
        op: 'ResourceGroups_Get',
        kind: 'response',
        status: 404,
        body: { error: { code: 'X', message: 'y' } },
      },
      { op: 'VirtualMachines_Frobnicate', kind: 'response', status: 200, body: {} },
    ]);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0], /osProfile.*'adminUserName' was unexpected/);
    assert.match(problems[1], /idleTimeoutInMinutes: 'four' is not of type 'integer'/);
    assert.match(problems[2], /no such operation/);
  });
});
