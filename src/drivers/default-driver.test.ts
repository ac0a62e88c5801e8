import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHTTPServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Candidate, candidates, chooseDefaultDriver, defaultDriverHelp } from './default-driver.js';

const qemuName = `qemu-system-${process.arch === 'arm64' ? 'aarch64' : process.arch === 'x64' ? 'x86_64' : process.arch}`;
const all = () => true;

/** A loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

async function listen(server: Server, socket: string): Promise<void> {
  server.listen(socket);
  await once(server, 'listening');
}

test('the first registered candidate that can run wins; unregistered ones are not probed', async () => {
  const probed: string[] = [];
  const fake = (name: string, ok: boolean): Candidate => ({
    name,
    when: '',
    probe: async () => {
      probed.push(name);
      return ok ? { ok, why: `${name} is fine` } : { ok, why: `${name} is broken` };
    },
  });
  const list = [fake('docker', false), fake('qemu', true), fake('later', true)];
  const choice = await chooseDefaultDriver({}, list, (n) => n !== 'later');
  assert.deepEqual(choice, { name: 'qemu', message: 'No driver given: using "qemu" (qemu is fine)' });
  assert.deepEqual(probed, ['docker', 'qemu']);
  const onlyDocker = await chooseDefaultDriver(
    {},
    [fake('qemu', true), fake('docker', true)],
    (n) => n === 'docker',
  );
  assert.equal(onlyDocker.name, 'docker');
});

test('docker is chosen when an engine answers its ping on the unix socket of DOCKER_HOST', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-default-'));
  const socket = join(dir, 'engine.sock');
  const paths: string[] = [];
  const server = createHTTPServer((req, res) => {
    paths.push(req.url ?? '');
    res.end(req.url === '/_ping' ? 'OK' : '');
  });
  await listen(server, socket);
  try {
    const choice = await chooseDefaultDriver({ DOCKER_HOST: `unix://${socket}` });
    assert.deepEqual(choice, {
      name: 'docker',
      message: `No driver given: using "docker" (the Docker engine at unix://${socket} answers)`,
    });
    assert.deepEqual(paths, ['/_ping']);
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('no engine and no qemu: one line naming every driver and what it needs', async () => {
  const port = await closedPort();
  const err = await chooseDefaultDriver({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, PATH: '' }).catch((e) => e);
  assert.equal(
    err.message,
    `Error: no driver given and none can be chosen: amazonec2 needs AWS credentials (--amazonec2-access-key and --amazonec2-secret-key, $AWS_ACCESS_KEY_ID, or a profile in ~/.aws/credentials); azure needs an Azure subscription (--azure-subscription-id, $AZURE_SUBSCRIPTION_ID) and a sign-in (a service principal, az login, or the device code); digitalocean needs a DigitalOcean API token (--digitalocean-access-token, $DIGITALOCEAN_ACCESS_TOKEN, or doctl auth init); docker needs a Docker engine (--docker-host, $DOCKER_HOST) (Cannot connect to the Docker engine at tcp://127.0.0.1:${port}: dial tcp 127.0.0.1:${port}: connect: connection refused); exoscale needs an Exoscale API key and secret (--exoscale-api-key and --exoscale-api-secret-key, or $EXOSCALE_API_KEY and $EXOSCALE_API_SECRET); generic needs a Linux server reached by SSH (--generic-ip-address); google needs a Google Cloud project (--google-project, $GOOGLE_PROJECT) and credentials ($GOOGLE_APPLICATION_CREDENTIALS, --google-auth-encoded-json, or gcloud auth application-default login); hetzner needs a Hetzner Cloud API token (--hetzner-api-token, $HETZNER_API_TOKEN, $HCLOUD_TOKEN, or hcloud context create); hyperv needs Windows with Hyper-V and its PowerShell module, run by a Hyper-V Administrator; none needs a running engine's URL (--url); openstack needs OpenStack credentials (--openstack-auth-url with a user and password or an application credential, $OS_AUTH_URL, or a clouds.yaml entry with --openstack-cloud or $OS_CLOUD); qemu needs QEMU (qemu-system-x86_64 or qemu-system-aarch64, and qemu-img) (no ${qemuName} on the PATH); rackspace needs a Rackspace user name and API key (--rackspace-username and --rackspace-api-key, or $OS_USERNAME and $OS_API_KEY); virtualbox needs VirtualBox (VBoxManage on the PATH) (no VBoxManage on the PATH); vmwarevsphere needs a vCenter or ESXi (--vmwarevsphere-vcenter, $VSPHERE_VCENTER) and its user name and password (--vmwarevsphere-username and --vmwarevsphere-password). Choose one with --driver (-d) NAME or $MACHINE_DRIVER`,
  );
  assert.equal(err.exitCode, 1);
  assert.ok(!err.message.includes('\n'));
});

test('an engine that accepts but never answers is given up on within the bound', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-default-'));
  const socket = join(dir, 'silent.sock');
  const held: import('node:net').Socket[] = [];
  const server = createServer((c) => held.push(c));
  await listen(server, socket);
  try {
    const t0 = Date.now();
    const err = await chooseDefaultDriver({ DOCKER_HOST: `unix://${socket}`, PATH: '' }).catch((e) => e);
    const took = Date.now() - t0;
    assert.match(
      err.message,
      new RegExp(
        `docker needs .* \\(the Docker engine at unix://${socket} did not answer GET /_ping within 3 s\\)`,
      ),
    );
    assert.ok(took < 20_000, `took ${took} ms`);
  } finally {
    for (const c of held) c.destroy();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('virtualbox, the original default, comes before qemu when VBoxManage is found', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-default-'));
  try {
    for (const name of [qemuName, 'VBoxManage']) {
      await writeFile(join(dir, name), '#!/bin/sh\nexit 0\n');
      await chmod(join(dir, name), 0o755);
    }
    const port = await closedPort();
    const env = { DOCKER_HOST: `tcp://127.0.0.1:${port}`, PATH: `/nonexistent:${dir}` };
    assert.deepEqual(await chooseDefaultDriver(env), {
      name: 'virtualbox',
      message: `No driver given: using "virtualbox" (${join(dir, 'VBoxManage')} is installed)`,
    });
    // Found where VirtualBox's installer says, too.
    const viaInstall = await chooseDefaultDriver({
      DOCKER_HOST: env.DOCKER_HOST,
      PATH: '',
      VBOX_INSTALL_PATH: dir,
    });
    assert.equal(viaInstall.name, 'virtualbox');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('qemu follows docker when qemu-system is on the PATH', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dm-default-'));
  try {
    const bin = join(dir, qemuName);
    await writeFile(bin, '#!/bin/sh\nexit 0\n');
    await chmod(bin, 0o755);
    const port = await closedPort();
    const env = { DOCKER_HOST: `tcp://127.0.0.1:${port}`, PATH: `/nonexistent:${dir}` };
    const choice = await chooseDefaultDriver(env, candidates, all);
    assert.deepEqual(choice, {
      name: 'qemu',
      message: `No driver given: using "qemu" (${bin} is installed)`,
    });
    // The registry's own list gives the same answer now that the qemu driver exists.
    assert.equal((await chooseDefaultDriver(env)).name, 'qemu');
    // A candidate that is not registered is skipped.
    await assert.rejects(
      chooseDefaultDriver(env, candidates, (n) => n === 'docker'),
      /no driver given and none can be chosen: amazonec2 needs .*; azure needs .*; digitalocean needs .*; docker needs/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('create --help states the rule with the registered candidates', () => {
  assert.equal(
    defaultDriverHelp(),
    `Without --driver and $MACHINE_DRIVER, create uses docker when a Docker engine answers at $DOCKER_HOST, else at unix:///var/run/docker.sock, else virtualbox when VBoxManage is on the PATH, else qemu when ${qemuName} is installed, and says which on stderr; else it fails, saying what each driver needs.`,
  );
  assert.match(
    defaultDriverHelp(all),
    new RegExp(`docker when .*, else qemu when ${qemuName} is installed, and says`),
  );
});
