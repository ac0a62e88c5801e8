import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakeGoogle } from '../fakes/google/fake.js';
import { FakeGoogleOAuth } from '../fakes/google/oauth.js';
import { busyboxTarball } from '../helpers/busybox.js';
import { binPath, type CliStore, runProcess, tempStore } from '../helpers/cli.js';
import { type CloudHost, startCloudHost } from '../helpers/cloud-host.js';
import { testHostsAvailable } from '../helpers/testhost.js';

/**
 * The walkthrough, word for word, against the Compute Engine fake: the instance's external
 * address is a real Debian host (systemd, sshd, Docker) of the test's own on a Docker network of
 * its own engine, so SSH (22) and the engine (2376) are reached there as on GCE. The fake's
 * onCreate does what the guest agent does with the ssh-keys metadata (the user, sudo, the key);
 * its power changes stop and start the host. Credentials: a service-account key whose token_uri
 * is the fake OAuth endpoint.
 */
const skip = testHostsAvailable()
  ? false
  : 'needs root, dockerd, debootstrap and ip (npm test installs them)';

const WALKTHROUGH = `docker-machine create --driver google \\
  --google-project $PROJECT_ID \\
  --google-zone asia-northeast3-a \\
  --google-machine-type f1-micro \\
  --google-tags 'http-server' \\
  --google-machine-image https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20200223 \\
  gcp-host`;

describe('the google walkthrough with a real host at the address the fake hands out', {
  skip,
  timeout: 15 * 60_000,
}, () => {
  let rig: CloudHost;
  let oauth: FakeGoogleOAuth;
  let fake: FakeGoogle;
  let s: CliStore;
  let work: string;
  let ip: string;

  before(async () => {
    rig = await startCloudHost({ name: 'gcehost', at: 'own-address', lastOctet: 9 });
    work = rig.work;
    ip = rig.address;
    oauth = new FakeGoogleOAuth();
    await oauth.start();
    await oauth.writeServiceAccountKey(
      join(work, 'sa.json'),
      oauth.addServiceAccount('dm', 'walkthrough-proj'),
    );
    fake = new FakeGoogle({
      projects: ['walkthrough-proj'],
      addresses: [ip],
      acceptToken: (t) => oauth.acceptToken(t),
      // The guest agent's part: a user for each ssh-keys line, with password-less sudo.
      onCreate: async (_name, keys) => {
        for (const line of keys) {
          const i = line.indexOf(':');
          const user = line.slice(0, i);
          assert.match(user, /^[a-z_][a-z0-9_-]*$/);
          await rig.addSudoUser(user, [line.slice(i + 1)]);
        }
      },
      // A delete powers off too; the host is the test's, so only stop it then.
      onPower: (_name, on) => rig.power(on),
    });
    await fake.start();
    s = await tempStore();
    // `docker-machine` on the PATH, as the walkthrough calls it.
    await mkdir(join(work, 'bin'));
    await writeFile(
      join(work, 'bin', 'docker-machine'),
      `#!/bin/sh\nexec "${process.execPath}" "${binPath}" "$@"\n`,
    );
    await chmod(join(work, 'bin', 'docker-machine'), 0o755);
  });

  after(async () => {
    await fake?.stop();
    await oauth?.stop();
    await rig?.stop();
    await s?.cleanup();
  });

  const env = () => ({
    HOME: work,
    PATH: `${join(work, 'bin')}:${process.env.PATH}`,
    MACHINE_STORAGE_PATH: s.dir,
    PROJECT_ID: 'walkthrough-proj',
    GOOGLE_APPLICATION_CREDENTIALS: join(work, 'sa.json'),
    GOOGLE_COMPUTE_ENDPOINT: fake.url,
    DOCKER_CONFIG: join(work, 'docker-config'),
  });
  const sh = (script: string, timeoutMs = 300_000) =>
    runProcess('bash', ['-c', script], { env: env(), timeoutMs });

  test('the walkthrough: create, word for word', async () => {
    const r = await sh(WALKTHROUGH, 600_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(
      out,
      new RegExp(
        [
          /\(gcp-host\) Image ubuntu-1604-xenial-v20200223 is DEPRECATED/,
          /\(gcp-host\) Creating SSH key\.\.\./,
          /\(gcp-host\) Creating firewall\.\.\./,
          /\(gcp-host\) Creating instance\.\.\./,
          /\(gcp-host\) Warning from Compute Engine \(insert of instance gcp-host\): DEPRECATED_RESOURCE_USED: /,
          /\(gcp-host\) Instance gcp-host is RUNNING/,
          new RegExp(`\\(gcp-host\\) Instance address: ${ip.replace(/\./g, '\\.')}`),
          /Docker is up and running!/,
        ]
          .map((x) => x.source)
          .join('[\\s\\S]*'),
      ),
    );
    // Credentials came from the key: a token was minted for the service account, and never shown.
    assert.ok([...oauth.tokens.values()].some((t) => t.source.startsWith('service_account:dm@')));
    for (const t of oauth.tokens.keys()) assert.ok(!out.includes(t));
  });

  test('ls shows the row of the guide; env, then docker run on the instance', async () => {
    const ls = await sh('docker-machine ls');
    assert.equal(ls.code, 0, ls.stderr);
    const row = ls.stdout.split('\n').find((l) => l.startsWith('gcp-host'));
    process.stderr.write(`docker-machine ls: ${row}\n`);
    assert.match(
      row ?? ls.stdout,
      new RegExp(
        `^gcp-host\\s+-\\s+google\\s+Running\\s+tcp://${ip.replace(/\./g, '\\.')}:2376\\s+v\\d+\\.\\d+\\.\\d+`,
      ),
    );
    const r = await sh(
      `eval "$(docker-machine env gcp-host)" && docker import - busybox < ${busyboxTarball()} >/dev/null && docker run --pull=never --rm busybox echo hello from gcp-host`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello from gcp-host\n');
  });

  test('stop stops the instance (its operation waited for); start starts it, reads its address again and waits for Docker', async () => {
    const stop = await sh('docker-machine stop gcp-host');
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await sh('docker-machine status gcp-host')).stdout.trim(), 'Stopped');
    assert.equal(fake.instances()[0].status, 'TERMINATED');
    const start = await sh('docker-machine start gcp-host');
    assert.equal(start.code, 0, start.stderr);
    assert.equal((await sh('docker-machine status gcp-host')).stdout.trim(), 'Running');
    const r = await sh(
      'eval "$(docker-machine env gcp-host)" && docker run --pull=never --rm busybox echo again',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'again\n');
    assert.ok(fake.requests.some((q) => q.id === 'compute.instances.stop'));
    assert.ok(fake.requests.some((q) => q.id === 'compute.instances.start'));
  });

  test('rm deletes the instance and its disk; only the shared firewall rule stays', async () => {
    const r = await sh('docker-machine rm -y gcp-host');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted instance gcp-host[\s\S]*Left firewall rule docker-machines \(docker-machines\): shared[\s\S]*Successfully removed gcp-host/,
    );
    assert.deepEqual(fake.instances(), []);
    assert.deepEqual(fake.disks(), []);
    assert.deepEqual(
      fake.firewalls().map((f) => f.name),
      ['docker-machines'],
    );
    assert.deepEqual(await fake.validate(), []);
  });
});
