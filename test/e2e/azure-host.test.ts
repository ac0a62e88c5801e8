import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeAzureAD } from '../fakes/azure/aad.js';
import { FakeAzure } from '../fakes/azure/arm.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { type CloudHost, cloudCli, startCloudHost } from '../helpers/cloud-host.js';
import { testHostsAvailable } from '../helpers/testhost.js';

/**
 * The guide's azure walkthrough against the Resource Manager and Azure AD fakes, with a real
 * Debian host (systemd, sshd, Docker) of the test's own standing in for the VM: it runs on a
 * Docker network of the test's engine at the address the fake gives the VM's public IP, so the
 * guide's flags (SSH on 22, the engine on --azure-docker-port 2376) work unchanged. The fake's
 * create hook plays the VM agent (the admin user with sudo and the VM's SSH key); its power hook
 * stops and starts the host.
 */
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const SUB = '6a1b9c3e-5f2d-4e8a-9b7c-0d1e2f3a4b5c';
const CLIENT = '5e0a6d4c-2b1f-4a39-9c87-1d2e3f4a5b6c';
const SECRET = 'guide-sp-secret-0123456789';

describe('the azure walkthrough with a real host behind the fakes', {
  skip,
  timeout: 20 * 60_000,
}, () => {
  let rig: CloudHost;
  let aad: FakeAzureAD;
  let fake: FakeAzure;
  let s: CliStore;
  let ip: string;
  let bundle: string;

  before(async () => {
    rig = await startCloudHost({ name: 'azhost', at: 'own-address', lastOctet: 4 });
    ip = rig.address;

    aad = new FakeAzureAD();
    await aad.start();
    aad.addTenant(TENANT);
    aad.registerApp({ clientId: CLIENT, secret: SECRET, tenant: TENANT });
    fake = new FakeAzure({
      subscriptionId: SUB,
      tenantId: TENANT,
      authorityHost: aad.url,
      acceptToken: (t) => aad.acceptToken(t),
      publicAddresses: [ip],
      lroPolls: 1,
      retryAfter: 1,
      // The VM agent's part: the admin user, with sudo, and the VM's key in its authorized keys.
      onCreate: (_vm, keys) => rig.addSudoUser('docker-user', keys),
      onPower: (_vm, on) => rig.power(on),
    });
    await fake.start();
    bundle = join(rig.work, 'ca-bundle.pem');
    await writeFile(bundle, `${await readFile(aad.caPath, 'utf8')}\n${await readFile(fake.caPath, 'utf8')}`);
    s = await tempStore();
  });

  after(async () => {
    await rig?.stop();
    await fake?.stop();
    await aad?.stop();
    await s?.cleanup();
  });

  const env = () => ({
    HOME: rig.work,
    NODE_EXTRA_CA_CERTS: bundle,
    AZURE_SUBSCRIPTION_ID: SUB,
    AZURE_RESOURCE_MANAGER_ENDPOINT: fake.url,
    AZURE_AUTHORITY_HOST: aad.url,
    DOCKER_CONFIG: join(rig.work, 'docker-config'),
  });
  const { run, withEnv } = cloudCli(() => s, env, 'azure-host');

  test("create with the guide's flags: group, network, NSG, IP, NIC, availability set, VM, then SSH and provisioning", async () => {
    const r = await run([
      'create',
      '--driver',
      'azure',
      '--azure-subscription-id',
      SUB,
      '--azure-image',
      'canonical:UbuntuServer:16.04.0-LTS:latest',
      '--azure-docker-port',
      '2376',
      '--azure-location',
      'westus',
      '--azure-availability-set',
      'docker-swarm',
      '--azure-client-id',
      CLIENT,
      '--azure-client-secret',
      SECRET,
      'azure-host',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      new RegExp(
        [
          'Creating SSH key\\.\\.\\.',
          'Creating resource group docker-machine\\.\\.\\.',
          'Creating virtual network docker-machine-vnet\\.\\.\\.',
          'Creating network security group azure-host-firewall\\.\\.\\.',
          'Creating public IP address azure-host-ip\\.\\.\\.',
          'Creating network interface azure-host-nic\\.\\.\\.',
          'Creating availability set docker-swarm\\.\\.\\.',
          'Creating virtual machine\\.\\.\\.',
          'Virtual machine azure-host is running',
          `Virtual machine address: ${ip.replace(/\./g, '\\.')}`,
          'Docker is up and running!',
        ].join('[\\s\\S]*'),
      ),
    );
    assert.ok(!out.includes(SECRET), 'the secret is never printed');
    // The old guide's image resolved to the newest version the location lists.
    const vm = fake.recorded
      .filter((x) => x.kind === 'request' && x.op === 'VirtualMachines_CreateOrUpdate')
      .at(-1)?.body as { properties: { storageProfile: { imageReference: Record<string, string> } } };
    assert.deepEqual(vm.properties.storageProfile.imageReference, {
      publisher: 'canonical',
      offer: 'UbuntuServer',
      sku: '16.04.0-LTS',
      version: '16.04.202104290',
    });
  });

  test('ls shows the row; env, then docker run through TLS on the VM', async () => {
    const ls = await run(['ls']);
    assert.equal(ls.code, 0, ls.stderr);
    const row = ls.stdout.split('\n').find((l) => l.startsWith('azure-host'));
    assert.match(
      row ?? '',
      new RegExp(
        `^azure-host\\s+-\\s+azure\\s+Running\\s+tcp://${ip.replace(/\./g, '\\.')}:2376\\s+v\\d+\\.\\d+\\.\\d+`,
      ),
    );
    const r = await withEnv(
      `docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
  });

  test('stop powers the VM off (billing notice), start powers it on and waits for Docker', async () => {
    const stop = await run(['stop', 'azure-host']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout + stop.stderr, /Azure keeps billing its compute until it is deallocated/);
    assert.equal((await run(['status', 'azure-host'])).stdout.trim(), 'Stopped');
    assert.equal(fake.powerState('docker-machine', 'azure-host'), 'stopped');
    const start = await run(['start', 'azure-host']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await run(['status', 'azure-host'])).stdout.trim(), 'Running');
    const r = await withEnv('docker run --pull=never --rm busybox echo again');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'again\n');
  });

  test('rm deletes everything the create made, newest first: the subscription is empty again', async () => {
    const r = await run(['rm', '-y', 'azure-host']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        [
          'Deleted virtual machine azure-host',
          'Deleted availability set docker-swarm',
          'Deleted network interface azure-host-nic',
          'Deleted public IP address azure-host-ip',
          'Deleted network security group azure-host-firewall',
          'Deleted virtual network docker-machine-vnet',
          'Deleted resource group docker-machine',
          'Successfully removed azure-host',
        ].join('[\\s\\S]*'),
      ),
    );
    assert.deepEqual(fake.resources(), []);
    assert.deepEqual(await fake.validate(), []);
  });
});
