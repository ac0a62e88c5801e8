import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CliStore } from '../helpers/cli.js';
import { type EngineRig, startEngineRig } from '../helpers/engine-rig.js';
import { freePort } from '../helpers/ports.js';
import { type HostEngine, testHostsAvailable } from '../helpers/testhost.js';

// `create NAME` with no -d and no MACHINE_DRIVER: docker when the engine at DOCKER_HOST answers
// (here a dockerd of the test's own; /var/run/docker.sock is never looked at), else an error.
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

describe('create without -d: the default driver', { skip, timeout: 20 * 60_000 }, () => {
  let rig: EngineRig;
  let s: CliStore;
  let engine: HostEngine;
  let dockerHost: string;

  before(async () => {
    rig = await startEngineRig({ poolPrefix: '172.28' });
    ({ store: s, engine, dockerHost } = rig);
  });

  after(async () => {
    await rig?.stop();
  });

  test('with an engine at DOCKER_HOST, create NAME makes a docker machine on it and says so', async () => {
    const r = await s.run(['create', 'auto1'], { env: { DOCKER_HOST: dockerHost }, timeoutMs: 900_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stderr, `No driver given: using "docker" (the Docker engine at ${dockerHost} answers)\n`);
    assert.ok(r.stdout.split('\n').includes('Docker is up and running!'), r.stdout);
    const config = JSON.parse(await readFile(join(s.dir, 'machines', 'auto1', 'config.json'), 'utf8'));
    assert.equal(config.DriverName, 'docker');
    assert.equal(config.Driver.DockerHost, dockerHost);
    assert.equal(
      (
        await engine.docker(['inspect', '-f', '{{.State.Status}} {{.Name}}', config.Driver.ContainerID])
      ).trim(),
      'running /auto1',
    );
    const ls = await s.run(['ls', '--format', '{{.Name}} {{.DriverName}} {{.State}} {{.DockerVersion}}']);
    assert.equal(ls.stdout, 'auto1 docker Running v20.10.24+dfsg1\n');
    const rm = await s.run(['rm', '-y', 'auto1'], { timeoutMs: 180_000 });
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(
      (await engine.docker(['ps', '-aq', '--filter', 'label=io.docker-machine.name=auto1'])).trim(),
      '',
    );
  });

  test('with DOCKER_HOST at a closed port and no QEMU: one line naming each driver and what it needs, nothing made', async () => {
    const port = await freePort();
    // A PATH without qemu-system (this machine has it: else create would make a VM).
    const r = await s.run(['create', 'auto2'], {
      env: { DOCKER_HOST: `tcp://127.0.0.1:${port}`, PATH: '/nonexistent' },
    });
    assert.deepEqual(
      [r.code, r.stdout, r.stderr],
      [
        1,
        '',
        `Error: no driver given and none can be chosen: amazonec2 needs AWS credentials (--amazonec2-access-key and --amazonec2-secret-key, $AWS_ACCESS_KEY_ID, or a profile in ~/.aws/credentials); azure needs an Azure subscription (--azure-subscription-id, $AZURE_SUBSCRIPTION_ID) and a sign-in (a service principal, az login, or the device code); digitalocean needs a DigitalOcean API token (--digitalocean-access-token, $DIGITALOCEAN_ACCESS_TOKEN, or doctl auth init); docker needs a Docker engine (--docker-host, $DOCKER_HOST) (Cannot connect to the Docker engine at tcp://127.0.0.1:${port}: dial tcp 127.0.0.1:${port}: connect: connection refused); exoscale needs an Exoscale API key and secret (--exoscale-api-key and --exoscale-api-secret-key, or $EXOSCALE_API_KEY and $EXOSCALE_API_SECRET); generic needs a Linux server reached by SSH (--generic-ip-address); google needs a Google Cloud project (--google-project, $GOOGLE_PROJECT) and credentials ($GOOGLE_APPLICATION_CREDENTIALS, --google-auth-encoded-json, or gcloud auth application-default login); hetzner needs a Hetzner Cloud API token (--hetzner-api-token, $HETZNER_API_TOKEN, $HCLOUD_TOKEN, or hcloud context create); hyperv needs Windows with Hyper-V and its PowerShell module, run by a Hyper-V Administrator; none needs a running engine's URL (--url); openstack needs OpenStack credentials (--openstack-auth-url with a user and password or an application credential, $OS_AUTH_URL, or a clouds.yaml entry with --openstack-cloud or $OS_CLOUD); qemu needs QEMU (qemu-system-x86_64 or qemu-system-aarch64, and qemu-img) (no ${process.arch === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64'} on the PATH); rackspace needs a Rackspace user name and API key (--rackspace-username and --rackspace-api-key, or $OS_USERNAME and $OS_API_KEY); virtualbox needs VirtualBox (VBoxManage on the PATH) (no VBoxManage on the PATH); vmwarevsphere needs a vCenter or ESXi (--vmwarevsphere-vcenter, $VSPHERE_VCENTER) and its user name and password (--vmwarevsphere-username and --vmwarevsphere-password). Choose one with --driver (-d) NAME or $MACHINE_DRIVER\n`,
      ],
    );
    assert.equal((await s.run(['ls', '-q'])).stdout, '');
    // MACHINE_DRIVER still names the driver; nothing is pinged.
    const named = await s.run(['create', 'auto2'], {
      env: { DOCKER_HOST: `tcp://127.0.0.1:${port}`, MACHINE_DRIVER: 'none' },
    });
    assert.deepEqual(
      [named.code, named.stderr],
      [
        1,
        'Error setting machine configuration from flags provided: --url option is required when no driver is selected\n',
      ],
    );
  });

  test('create --help states the rule', async () => {
    const r = await s.run(['create', '--help']);
    assert.equal(r.code, 0);
    assert.ok(
      r.stdout
        .split('\n')
        .includes(
          `Without --driver and $MACHINE_DRIVER, create uses docker when a Docker engine answers at $DOCKER_HOST, else at unix:///var/run/docker.sock, else virtualbox when VBoxManage is on the PATH, else qemu when ${process.arch === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64'} is installed, and says which on stderr; else it fails, saying what each driver needs.`,
        ),
      r.stdout,
    );
  });
});
