import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSSHKeyPair } from '../../src/ssh/keys.js';
import { FakeAzureAD } from '../fakes/azure/aad.js';
import { FakeAzure } from '../fakes/azure/arm.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { binPath, type CliStore, runProcess, tempStore } from '../helpers/cli.js';
import {
  type HostEngine,
  hostRootfs,
  importHostImage,
  startHostEngine,
  startTestHost,
  type TestHost,
  testHostsAvailable,
} from '../helpers/testhost.js';

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

/** A /24 in 10.200-249.x.0 that no route of this computer covers yet. */
function freeSubnet(): string {
  const routes = execFileSync('ip', ['-4', 'route'], { encoding: 'utf8' });
  for (let i = 0; i < 50; i++) {
    const cidr = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`;
    if (!routes.includes(`${cidr}.`)) return cidr;
  }
  throw new Error('no free 10.2xx.y.0/24 for the test network');
}

describe('the azure walkthrough with a real host behind the fakes', {
  skip,
  timeout: 20 * 60_000,
}, () => {
  let engine: HostEngine;
  let host: TestHost;
  let aad: FakeAzureAD;
  let fake: FakeAzure;
  let s: CliStore;
  let work: string;
  let ip: string;
  let bundle: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'dm-azhost-'));
    const tarball = await hostRootfs({ withDocker: true }, (l) => process.stderr.write(`${l}\n`));
    engine = await startHostEngine();
    const image = await importHostImage(engine, tarball, 'dm-testhost:docker');
    const prefix = freeSubnet();
    await engine.docker([
      'network',
      'create',
      '--subnet',
      `${prefix}.0/24`,
      '--gateway',
      `${prefix}.1`,
      '--ip-range',
      `${prefix}.128/25`,
      'aznet',
    ]);
    ip = `${prefix}.4`;
    // The host's own key: none of the driver's, which it authorises when the VM is made.
    const { publicLine } = await generateSSHKeyPair(join(work, 'unused_key'));
    host = await startTestHost(engine, image, { authorizedKey: publicLine, network: { name: 'aznet', ip } });

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
      onCreate: async (_vm, keys) => {
        await host.exec(
          `id docker-user >/dev/null 2>&1 || useradd -m -s /bin/bash docker-user; echo 'docker-user ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/docker-user; install -d -m 700 -o docker-user -g docker-user /home/docker-user/.ssh; printf '%s\\n' ${keys.map((k) => `'${k}'`).join(' ')} >> /home/docker-user/.ssh/authorized_keys; chown docker-user:docker-user /home/docker-user/.ssh/authorized_keys; chmod 600 /home/docker-user/.ssh/authorized_keys`,
        );
      },
      onPower: async (_vm, on) => {
        await engine.docker(on ? ['start', host.id] : ['stop', '-t', '20', host.id]);
      },
    });
    await fake.start();
    bundle = join(work, 'ca-bundle.pem');
    await writeFile(bundle, `${await readFile(aad.caPath, 'utf8')}\n${await readFile(fake.caPath, 'utf8')}`);
    s = await tempStore();
  });

  after(async () => {
    await host?.stop();
    await engine?.stop();
    await fake?.stop();
    await aad?.stop();
    await s?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const env = () => ({
    HOME: work,
    NODE_EXTRA_CA_CERTS: bundle,
    AZURE_SUBSCRIPTION_ID: SUB,
    AZURE_RESOURCE_MANAGER_ENDPOINT: fake.url,
    AZURE_AUTHORITY_HOST: aad.url,
    DOCKER_CONFIG: join(work, 'docker-config'),
  });
  const run = (args: string[], timeoutMs = 300_000) => s.run(args, { env: env(), timeoutMs });
  const withEnv = (script: string) =>
    runProcess('bash', ['-c', `eval "$("${process.execPath}" "${binPath}" env azure-host)" && ${script}`], {
      env: { MACHINE_STORAGE_PATH: s.dir, ...env() },
      timeoutMs: 120_000,
    });

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
