import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ledgerOf } from '../../src/drivers/cloud/ledger.js';
import { FakeAzureAD } from '../fakes/azure/aad.js';
import { FakeAzure, type FakeAzureOptions } from '../fakes/azure/arm.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { endFakeTest } from '../helpers/cloud-fake.js';
import { killCreateAt, onCreated } from '../helpers/kill-at.js';

/**
 * The azure driver against the Resource Manager and Azure AD fakes (no test host: what happens
 * before SSH). The driver signs in as a service principal at the AAD fake, finds the tenant from
 * the subscription's 401, and every body the ARM fake sent or received is checked against the
 * Swagger descriptions at the end of each test.
 */
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const SUB = '6a1b9c3e-5f2d-4e8a-9b7c-0d1e2f3a4b5c';
const CLIENT = '3f1c0b9e-7a2d-4c55-8e10-5b6a7c8d9e0f';
const SECRET = 'sp-secret-0123456789abcdefABCDEF';

describe('azure driver against the fake Resource Manager', { timeout: 15 * 60_000 }, () => {
  let aad: FakeAzureAD;
  let fake: FakeAzure;
  let s: CliStore;
  let home: string;
  let bundle: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'dm-az-home-'));
    aad = new FakeAzureAD();
    await aad.start();
    aad.addTenant(TENANT);
    aad.registerApp({ clientId: CLIENT, secret: SECRET, tenant: TENANT });
  });
  after(async () => {
    await aad?.stop();
    await rm(home, { recursive: true, force: true });
  });

  const start = async (opts: FakeAzureOptions = {}) => {
    fake = new FakeAzure({
      subscriptionId: SUB,
      tenantId: TENANT,
      authorityHost: aad.url,
      acceptToken: (t) => aad.acceptToken(t),
      publicAddresses: ['127.0.0.1'],
      privateAddresses: ['127.0.0.2'],
      lroPolls: 1,
      retryAfter: 0,
      registerPolls: 1,
      ...opts,
    });
    await fake.start();
    // One file that trusts both fakes' CAs.
    bundle = join(home, 'ca-bundle.pem');
    await writeFile(bundle, `${await readFile(aad.caPath, 'utf8')}\n${await readFile(fake.caPath, 'utf8')}`);
    s = await tempStore();
  };
  afterEach(() => endFakeTest(fake, s, 'the Resource Manager descriptions'));

  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    HOME: home,
    NODE_EXTRA_CA_CERTS: bundle,
    AZURE_RESOURCE_MANAGER_ENDPOINT: fake.url,
    AZURE_AUTHORITY_HOST: aad.url,
    AZURE_SUBSCRIPTION_ID: SUB,
    AZURE_CLIENT_ID: CLIENT,
    AZURE_CLIENT_SECRET: SECRET,
    ...extra,
  });
  const create = (name: string, extra: string[] = [], e: NodeJS.ProcessEnv = {}) =>
    s.run(['create', '-d', 'azure', '--azure-ssh-port', '1', ...extra, name], {
      env: env(e),
      timeoutMs: 120_000,
    });

  const badInput: [string, string[], RegExp, NodeJS.ProcessEnv?][] = [
    [
      'no subscription',
      [],
      /azure driver requires the "azure-subscription-id" option: give --azure-subscription-id or set \$AZURE_SUBSCRIPTION_ID/,
      { AZURE_SUBSCRIPTION_ID: '' },
    ],
    [
      'an unknown location',
      ['--azure-location', 'mars'],
      /location mars is not a region of this subscription; regions: .*westus/,
    ],
    ['an unknown size', ['--azure-size', 'Standard_X99'], /VM size Standard_X99 is not offered in westus/],
    [
      'an unknown image',
      ['--azure-image', 'Canonical:UbuntuServer:14.04.5-LTS:latest'],
      /image Canonical:UbuntuServer:14\.04\.5-LTS:latest is not offered in westus/,
    ],
    [
      'an image version the location lacks',
      ['--azure-image', 'canonical:UbuntuServer:16.04.0-LTS:16.04.201001010'],
      /image canonical:UbuntuServer:16\.04\.0-LTS:16\.04\.201001010 has no version 16\.04\.201001010 in westus/,
    ],
    [
      'an image that is not a URN',
      ['--azure-image', 'ubuntu'],
      /--azure-image ubuntu: expected publisher:offer:sku:version/,
    ],
    [
      'a missing custom-data file',
      ['--azure-custom-data', '/nonexistent/cloud-init.yml'],
      /custom-data file \/nonexistent\/cloud-init\.yml could not be found/,
    ],
    [
      'an NSG that does not exist',
      ['--azure-nsg', 'shared-nsg'],
      /network security group shared-nsg does not exist in resource group docker-machine/,
    ],
    [
      'a vnet in a group that does not exist',
      ['--azure-vnet', 'netrg:vnet1'],
      /resource group netrg of --azure-vnet netrg:vnet1 does not exist/,
    ],
    [
      'a user name Azure refuses',
      ['--azure-ssh-user', 'root'],
      /--azure-ssh-user root: Azure refuses this administrator name/,
    ],
    [
      'a disk SKU Azure does not have',
      ['--azure-storage-type', 'Fast_LRS'],
      /disk SKU Fast_LRS .*expected one of Standard_LRS/,
    ],
    [
      'an odd tag list',
      ['--azure-tags', 'team,a,env'],
      /--azure-tags "team,a,env": expected key,value pairs/,
    ],
    [
      'a zone the location lacks',
      ['--azure-availability-zone', '2'],
      /location westus has no availability zone 2 \(it has none\); leave out --azure-availability-zone or choose another location/,
    ],
    [
      'a zone and an availability set',
      ['--azure-availability-zone', '1', '--azure-availability-set', 'as1'],
      /availability zone or an availability set, not both/,
    ],
    [
      'a wrong client secret',
      [],
      /AADSTS7000215|invalid_client|client secret/i,
      { AZURE_CLIENT_SECRET: 'not-the-secret' },
    ],
    [
      'a subscription that does not exist',
      [],
      /0b0b0b0b-0000-4000-8000-000000000000/,
      { AZURE_SUBSCRIPTION_ID: '0b0b0b0b-0000-4000-8000-000000000000' },
    ],
  ];
  for (const [what, flags, want, e] of badInput) {
    test(`${what}: one clear line, exit non-zero, nothing made`, async () => {
      await start();
      const r = await create('m1', flags, e);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, want);
      const errLines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^Running pre-create checks|^Creating CA|^Creating client/.test(l));
      assert.equal(errLines.length, 1, r.stderr);
      assert.deepEqual(fake.resources(), []);
      assert.ok(
        !fake.requests.some((x) => x.method === 'PUT' || x.method === 'DELETE'),
        'no create or delete was sent',
      );
      assert.equal(existsSync(join(s.dir, 'machines', 'm1')), false, 'no machine folder');
      assert.ok(!(r.stderr + r.stdout).includes(SECRET), 'the secret is never printed');
    });
  }

  test('a quota Azure refuses at the VM: its words in one line, and what the create made is removed', async () => {
    await start({ coresQuota: 1 });
    const r = await create('q1');
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /Azure API: OperationNotAllowed: Operation could not be completed as it results in exceeding approved Total Regional Cores quota\..*\(HTTP 409\); removed what this create had made: .*virtual network docker-machine-vnet/,
    );
    assert.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => /Azure/.test(l)).length,
      1,
      r.stderr,
    );
    assert.deepEqual(fake.resources(), []);
    const rmr = await s.run(['rm', '-y', 'q1'], { env: env() });
    assert.equal(rmr.code, 0, rmr.stderr);
  });

  test('providers that are not registered are registered by the pre-create check, as the original did', async () => {
    await start({ unregisteredProviders: ['Microsoft.Compute'] });
    const k = await killAt(/Virtual machine address: /, 'p1');
    assert.match(k.output, /Registering the resource provider Microsoft\.Compute \(it was NotRegistered\)/);
    assert.ok(
      fake.requests.some((x) => x.method === 'POST' && /Microsoft\.Compute\/register$/i.test(x.path)),
    );
  });

  /**
   * create until `at` happens (a line of its output, or the fake having made a resource of a type
   * while it holds the answer), kill -9, then (unless told not to) rm -y: the fake must be left
   * with what existed before.
   */
  const killAt = async (at: RegExp | string, name: string, extra: string[] = [], remove = true) => {
    const before = fake.resources().map((r) => r.id);
    const { out, driver } = await killCreateAt(at, {
      storeDir: s.dir,
      args: ['create', '-d', 'azure', '--azure-ssh-port', '1', ...extra, name],
      env: env(),
      made: onCreated(fake, 'type'),
      timeoutMs: 90_000,
      settleMs: (fake.opts.holdPutMs ?? 0) + 300,
    });
    const ledger = ledgerOf(driver);
    const made = fake.resources().map((r) => r.id);
    if (!remove) return { ledger, made, driver, out, output: out };
    const r = await s.run(['rm', '-y', name], { env: env(), timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      fake.resources().map((x) => x.id),
      before,
      `after rm (made: ${JSON.stringify(made)})`,
    );
    assert.equal(existsSync(join(s.dir, 'machines', name)), false);
    return { ledger, made, driver, out: r.stdout, output: out };
  };

  test('kill -9 at each create step line, then rm -y: nothing this machine made is left', async () => {
    await start();
    const steps = [
      /Creating SSH key\.\.\./,
      /Creating resource group docker-machine\.\.\./,
      /Creating virtual network docker-machine-vnet\.\.\./,
      /Creating network security group k\d-firewall\.\.\./,
      /Creating public IP address k\d-ip\.\.\./,
      /Creating network interface k\d-nic\.\.\./,
      /Creating availability set docker-machine\.\.\./,
      /Creating virtual machine\.\.\./,
      /Waiting for virtual machine k\d to be running\.\.\./,
      /Virtual machine address: 127\.0\.0\.1/,
    ];
    for (const [i, step] of steps.entries()) await killAt(step, `k${i}`);
    assert.deepEqual(fake.resources(), []);
  });

  test('kill -9 while Resource Manager holds a PUT it has carried out, then rm -y finds it by its id', async () => {
    await start({ holdPutMs: 800 });
    const types = [
      'Microsoft.Resources/resourceGroups',
      'Microsoft.Network/virtualNetworks',
      'Microsoft.Network/networkSecurityGroups',
      'Microsoft.Network/publicIPAddresses',
      'Microsoft.Network/networkInterfaces',
      'Microsoft.Compute/availabilitySets',
      'Microsoft.Compute/virtualMachines',
    ];
    for (const [i, type] of types.entries()) {
      const k = await killAt(type, `h${i}`);
      const pending = k.ledger.at(-1);
      assert.equal(pending?.id, '', `the last entry (${pending?.label}) was pending`);
      // Subnets are listed inside their network, not among the subscription's resources.
      if (!type.endsWith('/subnets'))
        assert.ok(
          k.made.some((id) =>
            type.endsWith('/resourceGroups')
              ? /\/resourceGroups\/docker-machine$/i.test(id)
              : id.toLowerCase().includes(`/providers/${type.toLowerCase()}/`),
          ),
          `${type} was made (${k.made.join(', ')})`,
        );
      else
        assert.match(
          pending?.find.value ?? '',
          /\/virtualNetworks\/docker-machine-vnet\/subnets\/docker-machine$/,
        );
    }
    assert.deepEqual(fake.resources(), []);
  });

  test('a resource group, vnet and NSG that existed before are used and kept; rm deletes only what this machine made', async () => {
    await start();
    // The user's group, network and security group, made as az would make them.
    const sub = `/subscriptions/${SUB}/resourceGroups/shared-rg`;
    await fake.seed(sub, { location: 'westus' });
    await fake.seed(`${sub}/providers/Microsoft.Network/virtualNetworks/corp-net`, {
      location: 'westus',
      properties: {
        addressSpace: { addressPrefixes: ['10.1.0.0/16'] },
        subnets: [{ name: 'apps', properties: { addressPrefix: '10.1.2.0/24' } }],
      },
    });
    await fake.seed(`${sub}/providers/Microsoft.Network/networkSecurityGroups/corp-nsg`, {
      location: 'westus',
      properties: { securityRules: [] },
    });
    const before = fake.resources().map((r) => r.id);
    const k = await killAt(
      /Virtual machine address: 127\.0\.0\.1/,
      'e1',
      [
        '--azure-resource-group',
        'shared-rg',
        '--azure-vnet',
        'corp-net',
        '--azure-subnet',
        'apps',
        '--azure-nsg',
        'corp-nsg',
      ],
      false,
    );
    assert.match(k.output, /Using the existing resource group shared-rg/);
    assert.match(k.output, /Using the existing virtual network corp-net/);
    assert.match(k.output, /Using the existing subnet apps/);
    assert.match(k.output, /Using the existing network security group corp-nsg/);
    assert.deepEqual(
      k.ledger.map((e) => e.kind),
      ['public_ip', 'network_interface', 'availability_set', 'disk', 'virtual_machine'],
    );
    const r = await s.run(['rm', '-y', 'e1'], { env: env(), timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted virtual machine e1[\s\S]*Deleted availability set docker-machine[\s\S]*Deleted network interface e1-nic[\s\S]*Deleted public IP address e1-ip/,
    );
    assert.deepEqual(
      fake.resources().map((x) => x.id),
      before,
    );
    // A new subnet in the user's network: made, recorded, and deleted by rm with the network kept.
    const n = await killAt(/Virtual machine address: 127\.0\.0\.1/, 'e2', [
      '--azure-resource-group',
      'shared-rg',
      '--azure-vnet',
      'corp-net',
      '--azure-subnet',
      'ci',
      '--azure-subnet-prefix',
      '10.1.3.0/24',
    ]);
    assert.match(n.output, /Using the existing virtual network corp-net[\s\S]*Creating subnet ci\.\.\./);
    assert.ok(
      n.ledger.some(
        (e) => e.kind === 'subnet' && e.find.value.endsWith('/virtualNetworks/corp-net/subnets/ci'),
      ),
    );
    assert.match(n.out, /Deleted subnet ci/);
    const net = fake.items.get(`${sub}/providers/Microsoft.Network/virtualNetworks/corp-net`.toLowerCase());
    assert.deepEqual(
      ((net?.data as { subnets?: { name: string }[] })?.subnets ?? []).map((x) => x.name),
      ['apps'],
    );
  });

  test('two creates at once share the new group, network and availability set; each rm leaves what the other uses', async () => {
    await start();
    const [a, b] = await Promise.all([
      killAt(/Virtual machine address: 127\.0\.0\.1/, 'f1', [], false),
      killAt(/Virtual machine address: 127\.0\.0\.1/, 'f2', [], false),
    ]);
    assert.ok(a.driver.IPAddress && b.driver.IPAddress, 'both made their VM');
    const first = await s.run(['rm', '-y', 'f1'], { env: env(), timeoutMs: 120_000 });
    assert.equal(first.code, 0, first.stderr);
    const shared = fake.resources().map((r) => r.id.split('/').at(-1));
    for (const n of ['docker-machine', 'docker-machine-vnet', 'f2', 'f2-nic'])
      assert.ok(shared.includes(n), `${n} is still there after rm f1 (${shared.join(', ')})`);
    assert.ok(!shared.some((n) => n?.startsWith('f1')), `nothing of f1 is left (${shared.join(', ')})`);
    const second = await s.run(['rm', '-y', 'f2'], { env: env(), timeoutMs: 120_000 });
    assert.equal(second.code, 0, second.stderr);
    // Each recorded the shared ones it found absent; what the first left is no longer its own.
    const left = fake.resources().map((r) => r.id.split('/').at(-1));
    assert.ok(!left.some((n) => n?.startsWith('f')), `no VM resource is left (${left.join(', ')})`);
  });

  test('kill powers off without shutdown; stop with --azure-deallocate-on-stop deallocates; status follows the instance view', async () => {
    await start();
    await killAt(/Virtual machine address: 127\.0\.0\.1/, 'w1', ['--azure-deallocate-on-stop'], false);
    await killAt(/Virtual machine address: 127\.0\.0\.1/, 'w2', [], false);
    const run = (args: string[]) => s.run(args, { env: env(), timeoutMs: 120_000 });
    assert.equal((await run(['status', 'w1'])).stdout.trim(), 'Running');
    const stop = await run(['stop', 'w1']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.doesNotMatch(stop.stdout + stop.stderr, /keeps billing/);
    assert.equal(fake.powerState('docker-machine', 'w1'), 'deallocated');
    assert.equal((await run(['status', 'w1'])).stdout.trim(), 'Stopped');
    const kill = await run(['kill', 'w2']);
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal(fake.powerState('docker-machine', 'w2'), 'stopped');
    assert.ok(
      fake.requests.some((x) => /\/w2\/powerOff$/.test(x.path) && /skipShutdown=true/.test(x.query)),
      'kill skipped the guest shutdown',
    );
    assert.equal((await run(['status', 'w2'])).stdout.trim(), 'Stopped');
    // w1 made the group, network and availability set, which w2 uses: rm of w1 leaves them and
    // says so; they are no longer w1's, and w2 did not make them, so rm of w2 leaves them too.
    const r = await run(['rm', '-y', 'w1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Left availability set docker-machine \(.*\): 1 other virtual machine\(s\) are in it/,
    );
    assert.match(
      r.stdout,
      /Left virtual network docker-machine-vnet \(.*\): 1 other network interface\(s\) are in its subnet/,
    );
    assert.match(r.stdout, /Left resource group docker-machine \(.*\): it holds \d+ other resource\(s\)/);
    const r2 = await run(['rm', '-y', 'w2']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(
      fake.resources().map((x) => x.id.split('/').at(-1)),
      ['docker-machine', 'docker-machine-vnet', 'docker-machine'],
    );
  });

  test("a machine the original made (no ledger in its config.json): status, then rm by the original's names", async () => {
    await start();
    await killAt(/Virtual machine address: 127\.0\.0\.1/, 'old1', [], false);
    const cfgPath = join(s.dir, 'machines', 'old1', 'config.json');
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
    for (const k of ['Ledger', 'VMID', 'NICID', 'PublicIPID', 'AvailabilitySetID']) delete cfg.Driver[k];
    await writeFile(cfgPath, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    const st = await s.run(['status', 'old1'], { env: env() });
    assert.equal(st.stdout.trim(), 'Running', st.stderr);
    const r = await s.run(['rm', '-y', 'old1'], { env: env(), timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted virtual machine old1[\s\S]*Deleted network interface old1-nic[\s\S]*Deleted public IP address old1-ip[\s\S]*Deleted subnet docker-machine[\s\S]*Deleted virtual network docker-machine-vnet[\s\S]*Deleted network security group old1-firewall[\s\S]*Deleted availability set docker-machine/,
    );
    // The original never deleted the group; its OS disk (ours: managed) went with the VM.
    assert.deepEqual(
      fake.resources().map((x) => x.id.split('/').at(-1)),
      ['docker-machine'],
    );
  });

  test('every option reaches the requests: zone, tags, disk, custom data, open ports, private address; no public IP', async () => {
    await start();
    const custom = join(home, 'cloud-init.yml');
    await writeFile(custom, '#cloud-config\npackages: [htop]\n');
    let seenCustom: string | undefined;
    fake.opts.onCreate = async (_vm, _keys, data) => {
      seenCustom = data;
    };
    // Killed before the address: a static private address is not one of the test's own hosts.
    const k = await killAt(/Waiting for virtual machine o1 to be running/, 'o1', [
      '--azure-location',
      'eastus',
      '--azure-availability-zone',
      '2',
      '--azure-tags',
      'team,a,env,test',
      '--azure-disk-sku',
      'Premium_LRS',
      '--azure-disk-size',
      '64',
      '--azure-custom-data',
      custom,
      '--azure-open-port',
      '8080',
      '--azure-open-port',
      '53/udp',
      '--azure-private-ip-address',
      '192.168.0.10',
      '--azure-accelerated-networking',
      '--azure-dns',
      'o1-docker',
    ]);
    const req = (op: string) =>
      // biome-ignore lint/suspicious/noExplicitAny: request bodies as the test reads them
      fake.recorded.filter((x) => x.kind === 'request' && x.op === op).at(-1)?.body as Record<string, any>;
    const vm = req('VirtualMachines_CreateOrUpdate');
    assert.deepEqual(vm.zones, ['2']);
    assert.equal(vm.location, 'eastus');
    assert.deepEqual(vm.tags, { team: 'a', env: 'test', 'docker-machine': 'o1' });
    assert.equal(vm.properties.storageProfile.osDisk.managedDisk.storageAccountType, 'Premium_LRS');
    assert.equal(vm.properties.storageProfile.osDisk.diskSizeGB, 64);
    assert.equal(vm.properties.storageProfile.osDisk.deleteOption, 'Delete');
    assert.equal(vm.properties.availabilitySet, undefined);
    assert.equal(vm.properties.osProfile.adminUsername, 'docker-user');
    assert.equal(seenCustom, '#cloud-config\npackages: [htop]\n');
    const nsg = req('NetworkSecurityGroups_CreateOrUpdate');
    assert.deepEqual(
      nsg.properties.securityRules.map((r: { name: string }) => r.name),
      ['SSHAllowAny', 'DockerAllowAny', 'Port8080-TcpAllowAny', 'Port53-UdpAllowAny'],
    );
    const nic = req('NetworkInterfaces_CreateOrUpdate');
    assert.equal(nic.properties.enableAcceleratedNetworking, true);
    assert.equal(nic.properties.ipConfigurations[0].properties.privateIPAddress, '192.168.0.10');
    assert.equal(nic.properties.ipConfigurations[0].properties.privateIPAllocationMethod, 'Static');
    const pip = req('PublicIPAddresses_CreateOrUpdate');
    assert.deepEqual(pip.zones, ['2']);
    assert.equal(pip.properties.dnsSettings.domainNameLabel, 'o1-docker');
    assert.ok(!k.ledger.some((e) => e.kind === 'availability_set'));

    // No public IP: the NIC's private address (a loopback one of the fake's) is the machine's.
    const grants = aad.count('client_credentials');
    const n = await killAt(/Virtual machine address: 127\.0\.0\.2/, 'o2', ['--azure-no-public-ip']);
    // One sign-in for the create's process, one for rm's: never one per request.
    assert.equal(aad.count('client_credentials') - grants, 2);
    assert.ok(!n.ledger.some((e) => e.kind === 'public_ip'));
    assert.equal(n.driver.IPAddress, '127.0.0.2');
    assert.deepEqual(fake.resources(), []);
  });
});
