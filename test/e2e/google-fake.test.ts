import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ledgerOf } from '../../src/drivers/cloud/ledger.js';
import { googleDriver } from '../../src/drivers/google/index.js';
import { FakeGoogle, type FakeGoogleOptions } from '../fakes/google/fake.js';
import { FakeGoogleOAuth } from '../fakes/google/oauth.js';
import { type CliStore, tempStore } from '../helpers/cli.js';
import { endFakeTest } from '../helpers/cloud-fake.js';
import { killCreateAt, onCreated } from '../helpers/kill-at.js';

/**
 * The google driver against the stateful Compute Engine fake, credentials through a
 * service-account key whose token_uri is the fake OAuth endpoint (no test host: what happens
 * before SSH). Every body the fake sent or received is checked against the Compute discovery
 * document at the end of each test.
 */
const PROJECT = 'dm-test-project';
/** A token the test itself uses to set up what a user had before (an instance to adopt). */
const USER_TOKEN = 'ya29.user-own-token';
// biome-ignore lint/suspicious/noExplicitAny: request and answer bodies are read field by field.
type Json = Record<string, any>;

describe('google driver against the fake Compute Engine API', { timeout: 10 * 60_000 }, () => {
  let oauth: FakeGoogleOAuth;
  let fake: FakeGoogle;
  let s: CliStore;
  let home: string;
  let key: string;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'dm-gce-home-'));
    oauth = new FakeGoogleOAuth();
    await oauth.start();
    key = join(home, 'sa-key.json');
    await oauth.writeServiceAccountKey(key, oauth.addServiceAccount('docker-machine', PROJECT));
  });
  after(async () => {
    await oauth?.stop();
    await rm(home, { recursive: true, force: true });
  });

  const start = async (opts: FakeGoogleOptions = {}) => {
    fake = new FakeGoogle({
      projects: [PROJECT],
      addresses: ['127.0.0.1'],
      operationPolls: 1,
      acceptToken: (t) => t === USER_TOKEN || oauth.acceptToken(t),
      ...opts,
    });
    await fake.start();
    s = await tempStore();
  };
  afterEach(() => endFakeTest(fake, s, 'the Compute discovery document'));

  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    HOME: home,
    GOOGLE_APPLICATION_CREDENTIALS: key,
    GOOGLE_COMPUTE_ENDPOINT: fake.url,
    ...extra,
  });
  const create = (name: string, extra: string[] = [], e: NodeJS.ProcessEnv = {}) =>
    s.run(['create', '-d', 'google', '--google-project', PROJECT, ...extra, name], {
      env: env(e),
      timeoutMs: 120_000,
    });
  const inventory = () => ({
    instances: fake.instances().map((i) => String(i.name)),
    disks: fake.disks().map((d) => String(d.name)),
    firewalls: fake.firewalls().map((f) => String(f.name)),
  });
  const nothing = { instances: [], disks: [], firewalls: [] };
  const mutations = () => fake.requests.filter((r) => r.method !== 'GET');

  /** The driver's own start on a machine of the store: the command would go on to SSH, which has no host here. */
  const driverStart = async (name: string, lines: string[] = []) => {
    const cfg = JSON.parse(await readFile(join(s.dir, 'machines', name, 'config.json'), 'utf8'));
    const driver = googleDriver.fromJSON(cfg.Driver);
    const saved = { ...process.env };
    Object.assign(process.env, env());
    try {
      await driver.start({
        log: (l) => lines.push(l),
        debug: () => {},
        save: async () => {},
        ssh: () => Promise.reject(new Error('no SSH here')),
        waitFor: () => Promise.reject(new Error('no wait here')),
      });
      return { driver, state: await driver.getState() };
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  };

  const badInput: [string, string[], RegExp][] = [
    ['no project', [], /no Google Cloud Project name specified \(--google-project\)/],
    [
      'an unknown project',
      ['--google-project', 'nobody-project'],
      /Project with ID nobody-project not found; --google-project takes the project ID/,
    ],
    [
      'an unknown zone',
      ['--google-zone', 'asia-northeast3-x'],
      /zone asia-northeast3-x does not exist; zones of asia-northeast3: asia-northeast3-a, asia-northeast3-b/,
    ],
    [
      'an unknown machine type',
      ['--google-machine-type', 'n9-huge-64'],
      /machine type n9-huge-64 does not exist in zone us-central1-a; see gcloud compute machine-types list --zones us-central1-a/,
    ],
    [
      'an unknown image',
      ['--google-machine-image', 'ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20170721'],
      /image ubuntu-1604-xenial-v20170721 does not exist in project ubuntu-os-cloud/,
    ],
    [
      'an obsolete image',
      ['--google-machine-image', 'ubuntu-os-cloud/global/images/ubuntu-1404-trusty-v20190514'],
      /image projects\/ubuntu-os-cloud\/global\/images\/ubuntu-1404-trusty-v20190514 is OBSOLETE: Compute Engine no longer makes disks from it; give a current image/,
    ],
    [
      'a malformed image (the original sent it on: "The URL is malformed")',
      ['--google-machine-image', 'Ubuntu 16.04'],
      /--google-machine-image "Ubuntu 16.04" is not an image reference Compute Engine takes; give https:\/\/www.googleapis.com\/compute\/v1\/projects\/PROJECT\/global\/images\/NAME/,
    ],
    [
      'a family no project has',
      ['--google-machine-image', 'ubuntu-9910-lts'],
      /no image or image family named ubuntu-9910-lts in projects dm-test-project, ubuntu-os-cloud/,
    ],
    ['an unknown network', ['--google-network', 'backend'], /network backend does not exist in project/],
    [
      'an unknown Shared VPC network of a host project',
      ['--google-network', 'projects/host-project/global/networks/shared'],
      /network projects\/host-project\/global\/networks\/shared does not exist; see gcloud compute networks list/,
    ],
    [
      'a malformed network path',
      ['--google-network', 'projects/x/networks'],
      /--google-network projects\/x\/networks: expected a network name, or projects\/PROJECT\/global\/networks\/NAME/,
    ],
    [
      'an unknown subnetwork',
      ['--google-subnetwork', 'frontend'],
      /subnetwork frontend does not exist in region us-central1/,
    ],
    [
      'an unknown static address',
      ['--google-address', 'front-ip'],
      /no reserved address front-ip in region us-central1 of project dm-test-project/,
    ],
    [
      'an accelerator the zone lacks',
      ['--google-accelerator', 'type=nvidia-h999,count=1'],
      /accelerator type nvidia-h999 is not offered in zone us-central1-a/,
    ],
    [
      'a malformed accelerator',
      ['--google-accelerator', 'nvidia-tesla-t4'],
      /--google-accelerator nvidia-tesla-t4: expected type=TYPE,count=N/,
    ],
    [
      'an unknown disk type',
      ['--google-disk-type', 'pd-floppy'],
      /disk type pd-floppy does not exist in zone/,
    ],
    ['a tag GCE refuses', ['--google-tags', 'Web_Server'], /"Web_Server" is not a network tag/],
    ['a label GCE refuses', ['--google-label', 'Team=a'], /--google-label Team=a: "Team" is not a label key/],
    ['a bad open port', ['--google-open-port', '99999'], /--google-open-port 99999: expected PORT/],
    [
      'a bad maintenance policy',
      ['--google-maintenance-policy', 'LIVE'],
      /--google-maintenance-policy LIVE: expected MIGRATE or TERMINATE/,
    ],
    [
      'a missing user-data file',
      ['--google-userdata', '/nonexistent/ud.yml'],
      /the file \/nonexistent\/ud.yml could not be found/,
    ],
    [
      'a quota that is used up',
      ['--google-zone', 'europe-west1-b'],
      /Quota INSTANCES exceeded in region europe-west1: 0 of 0 in use, and this instance needs 1/,
    ],
    [
      'a CPU quota too small for the machine type',
      ['--google-machine-type', 'n1-standard-4'],
      /Quota CPUS exceeded in region us-central1: 0 of 2 in use, and this instance needs 4/,
    ],
  ];
  for (const [what, flags, want] of badInput) {
    test(`${what}: one clear line, exit non-zero, nothing made`, async () => {
      await start(
        what.startsWith('a quota')
          ? { instanceQuota: 0 }
          : what.startsWith('a CPU quota')
            ? { cpuQuota: 2 }
            : {},
      );
      const r =
        what === 'no project'
          ? await s.run(['create', '-d', 'google', 'm1'], { env: env(), timeoutMs: 60_000 })
          : await create('m1', flags);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, want);
      const errLines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^Running pre-create checks|^Creating CA|^Creating client/.test(l));
      assert.equal(errLines.length, 1, r.stderr);
      assert.deepEqual(inventory(), nothing);
      assert.deepEqual(mutations(), [], 'no change was asked for');
      assert.equal(existsSync(join(s.dir, 'machines', 'm1')), false, 'no machine folder');
    });
  }

  test("a quota error of the insert operation: the API's line, and what this create made is removed (the shared rule stays)", async () => {
    await start();
    fake.failOperation(
      'insert',
      'QUOTA_EXCEEDED',
      "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.",
      403,
    );
    // The firewall insert is the first operation: let it pass, fail the instance's.
    const r = await create('q1', ['--google-skip-firewall-create']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /Google Compute Engine API: QUOTA_EXCEEDED: Quota 'CPUS' exceeded\. {2}Limit: 24\.0 in region us-central1\. \(HTTP 403\)/,
    );
    assert.deepEqual(inventory(), nothing);
    const rmr = await s.run(['rm', '-y', 'q1'], { env: env() });
    assert.equal(rmr.code, 0, rmr.stderr);
  });

  /**
   * create until `at` happens (a line of its output, or the fake having made a kind of resource
   * while it holds the answer), kill -9, then (unless told not to) rm -y: the fake must be left
   * with only the shared rule and what the user had.
   */
  const killAt = async (
    at: RegExp | string,
    name: string,
    extra: string[] = [],
    remove = true,
    e: NodeJS.ProcessEnv = {},
  ) => {
    const { out, driver } = await killCreateAt(at, {
      storeDir: s.dir,
      args: ['create', '-d', 'google', '--google-project', PROJECT, ...extra, name],
      env: env(e),
      made: onCreated(fake),
      settleMs: 700,
    });
    const ledger = ledgerOf(driver);
    const made = inventory();
    const inserted = fake.recorded.find(
      (x) =>
        x.kind === 'request' &&
        x.method === 'compute.instances.insert' &&
        (x.body as { name?: string }).name === name,
    )?.body as Record<string, unknown> | undefined;
    if (!remove) return { ledger, made, inserted, driver, out, output: out };
    const before = inventory();
    const r = await s.run(['rm', '-y', name], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const left = inventory();
    assert.deepEqual(
      left.instances,
      before.instances.filter((i) => i !== name),
    );
    assert.deepEqual(
      left.disks,
      before.disks.filter((d) => d !== `${name}-disk`),
    );
    assert.ok(
      left.firewalls.every((f) => f === 'docker-machines' || !f.endsWith(`-${name}`)),
      `left: ${left.firewalls}`,
    );
    assert.equal(existsSync(join(s.dir, 'machines', name)), false);
    return { ledger, made, inserted, driver, out: r.stdout, output: out };
  };

  test("kill -9 at each create step and while Compute Engine holds an insert's answer, then rm -y: nothing this machine made is left", async () => {
    await start({ holdInsertMs: 500 });
    await killAt(/Creating SSH key\.\.\./, 'k1');
    await killAt(/Creating firewall\.\.\./, 'k2');
    await killAt(/Creating instance\.\.\./, 'k3');
    const waiting = await killAt(/Waiting for instance k4 to be running/, 'k4');
    assert.deepEqual(
      waiting.ledger.map((e) => [e.kind, e.id]),
      [
        ['disk', 'k4-disk'],
        ['instance', 'k4'],
      ],
      'every id was saved before the wait (the shared rule was there already)',
    );
    const address = await killAt(/Instance address: 127\.0\.0\.1/, 'k5');
    assert.deepEqual(address.made.instances, ['k5']);
    assert.match(address.out, /Deleted instance k5 \(k5\)/);

    // Made, but the answer never arrived: rm finds the instance (and its disk) by name.
    const held = await killAt('instance', 'k6');
    assert.deepEqual(held.made.instances, ['k6']);
    assert.equal(held.ledger.find((e) => e.kind === 'instance')?.id, '');
    assert.match(held.out, /Deleted instance k6 \(k6\)/);
    assert.deepEqual(inventory(), { instances: [], disks: [], firewalls: ['docker-machines'] });

    // The shared rule, made by the first create and killed before its answer: recorded, kept.
    fake.firewallMap.clear();
    const rule = await killAt('firewall', 'k7');
    assert.deepEqual(rule.made.firewalls, ['docker-machines']);
    assert.deepEqual(
      rule.ledger.map((e) => [e.kind, e.id]),
      [['firewall', '']],
    );
    assert.match(
      rule.out,
      /Left firewall rule docker-machines \(docker-machines\): shared by every machine tagged docker-machine; rm never deletes it/,
    );
    // A machine's own rules (the prefix flags), killed while their insert is held: deleted by rm.
    const own = await killAt('firewall', 'k8', ['--google-external-firewall-rule-prefix', 'dm-ext']);
    assert.deepEqual(own.made.firewalls, ['docker-machines', 'dm-ext-k8']);
    assert.match(own.out, /Deleted firewall rule dm-ext-k8 \(dm-ext-k8\)/);
    assert.deepEqual(inventory(), { instances: [], disks: [], firewalls: ['docker-machines'] });
  });

  test("the walkthrough's zone, tags and image and every other option reach the insert request; the ledger names what was made", async () => {
    await start();
    const ud = join(home, 'user-data.yml');
    await writeFile(ud, '#cloud-config\npackages: [htop]\n');
    const startup = join(home, 'startup.sh');
    await writeFile(startup, '#!/bin/sh\necho hi\n');
    const k = await killAt(
      /Instance address: /,
      'o1',
      [
        '--google-zone',
        'asia-northeast3-a',
        '--google-machine-type',
        'n1-standard-1',
        '--google-network',
        `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/networks/default`,
        '--google-subnetwork',
        `projects/${PROJECT}/regions/asia-northeast3/subnetworks/default`,
        '--google-tags',
        'http-server',
        '--google-machine-image',
        'https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20200223',
        '--google-disk-size',
        '20',
        '--google-disk-type',
        'pd-ssd',
        '--google-vm-labels',
        'team:a',
        '--google-label',
        'env=test',
        '--google-metadata',
        'enable-oslogin=FALSE',
        '--google-metadata-from-file',
        `startup-script=${startup}`,
        '--google-userdata',
        ud,
        '--google-accelerator',
        'type=nvidia-tesla-t4,count=1',
        '--google-min-cpu-platform',
        'Intel Skylake',
        '--google-open-port',
        '8080',
        '--google-open-port',
        '53/udp',
        '--google-service-account',
        'runner@dm-test-project.iam.gserviceaccount.com',
        '--google-scopes',
        'https://www.googleapis.com/auth/cloud-platform',
      ],
      false,
    );
    assert.match(
      k.output,
      /Image ubuntu-1604-xenial-v20200223 is DEPRECATED \(its replacement: projects\/ubuntu-os-cloud\/global\/images\/ubuntu-1604-xenial-v20210429\)/,
    );
    assert.match(
      k.output,
      /Warning from Compute Engine \(insert of instance o1\): DEPRECATED_RESOURCE_USED: /,
    );
    const body = k.inserted as Json;
    assert.equal(body.machineType, `projects/${PROJECT}/zones/asia-northeast3-a/machineTypes/n1-standard-1`);
    assert.deepEqual(body.tags.items, ['docker-machine', 'http-server']);
    assert.equal(
      body.disks[0].initializeParams.sourceImage,
      'projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20200223',
    );
    assert.equal(body.disks[0].initializeParams.diskName, 'o1-disk');
    assert.equal(body.disks[0].initializeParams.diskSizeGb, '20');
    assert.match(body.disks[0].initializeParams.diskType, /diskTypes\/pd-ssd$/);
    assert.deepEqual(body.labels, { team: 'a', env: 'test' });
    assert.deepEqual(body.disks[0].initializeParams.labels, { team: 'a', env: 'test' });
    const items = Object.fromEntries(
      (body.metadata.items as { key: string; value: string }[]).map((i) => [i.key, i.value]),
    );
    assert.equal(items['enable-oslogin'], 'FALSE');
    assert.equal(items['startup-script'], '#!/bin/sh\necho hi\n');
    assert.equal(items['user-data'], '#cloud-config\npackages: [htop]\n');
    const pub = (await readFile(join(s.dir, 'machines', 'o1', 'id_rsa.pub'), 'utf8')).trim();
    assert.equal(items['ssh-keys'], `docker-user:${pub} docker-user`);
    assert.deepEqual(body.guestAccelerators, [
      {
        acceleratorType: `projects/${PROJECT}/zones/asia-northeast3-a/acceleratorTypes/nvidia-tesla-t4`,
        acceleratorCount: 1,
      },
    ]);
    assert.equal(body.scheduling.onHostMaintenance, 'TERMINATE', 'GPUs cannot live-migrate');
    assert.equal(body.minCpuPlatform, 'Intel Skylake');
    assert.deepEqual(body.serviceAccounts, [
      {
        email: 'runner@dm-test-project.iam.gserviceaccount.com',
        scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      },
    ]);
    assert.equal(body.networkInterfaces[0].network, `projects/${PROJECT}/global/networks/default`);
    assert.equal(
      body.networkInterfaces[0].subnetwork,
      `projects/${PROJECT}/regions/asia-northeast3/subnetworks/default`,
    );
    assert.deepEqual(body.networkInterfaces[0].accessConfigs, [
      { type: 'ONE_TO_ONE_NAT', name: 'External NAT' },
    ]);
    const rule = fake.firewalls()[0] as Json;
    assert.deepEqual(rule.targetTags, ['docker-machine']);
    assert.deepEqual(rule.sourceRanges, ['0.0.0.0/0']);
    assert.deepEqual(rule.allowed, [
      { IPProtocol: 'tcp', ports: ['2376', '8080'] },
      { IPProtocol: 'udp', ports: ['53'] },
    ]);
    assert.deepEqual(
      k.ledger.map((e) => [e.kind, e.id]),
      [
        ['firewall', 'docker-machines'],
        ['disk', 'o1-disk'],
        ['instance', 'o1'],
      ],
    );
    assert.equal(k.driver.Zone, 'asia-northeast3-a');
    assert.equal(k.driver.MachineType, 'n1-standard-1');
    assert.equal(k.driver.IPAddress, '127.0.0.1');

    // A second machine needs a port the shared rule lacks: the rule is widened, not made again.
    await killAt(/Instance address: /, 'o2', ['--google-open-port', '9000-9100'], false);
    assert.deepEqual((fake.firewalls()[0] as Json).allowed, [
      { IPProtocol: 'tcp', ports: ['2376', '8080', '9000-9100'] },
      { IPProtocol: 'udp', ports: ['53'] },
    ]);
    // A swarm manager: the driver sees its role (as the original's drivers did) and the rule
    // opens the original's standalone Swarm port and Swarm mode's 2377.
    const m = await killAt(/Instance address: /, 'o3', ['--swarm-master'], false);
    assert.equal(m.driver.SwarmMaster, true);
    assert.equal(m.driver.SwarmHost, 'tcp://0.0.0.0:3376');
    assert.deepEqual((fake.firewalls()[0] as Json).allowed, [
      { IPProtocol: 'tcp', ports: ['2376', '8080', '9000-9100', '3376', '2377'] },
      { IPProtocol: 'udp', ports: ['53'] },
    ]);
    // And, shared by swarm members, Swarm mode's node ports from machines tagged docker-machine.
    const swarm = fake.firewalls().find((f) => f.name === 'docker-machines-swarm') as Json;
    assert.deepEqual(
      [swarm.sourceRanges, swarm.sourceTags, swarm.targetTags, swarm.allowed],
      [
        undefined,
        ['docker-machine'],
        ['docker-machine'],
        [
          { IPProtocol: 'tcp', ports: ['7946'] },
          { IPProtocol: 'udp', ports: ['7946', '4789'] },
        ],
      ],
    );
    const r = await s.run(['rm', '-y', 'o1', 'o2', 'o3'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    // Both shared rules stay, as the original's shared rule always has.
    assert.deepEqual(inventory(), {
      instances: [],
      disks: [],
      firewalls: ['docker-machines', 'docker-machines-swarm'],
    });
  });

  test('a static address by name, internal-only and internal-IP use', async () => {
    await start({
      staticAddresses: [{ region: 'us-central1', name: 'front-ip', address: '127.0.0.1' }],
      internalAddresses: ['127.0.0.3'],
    });
    const st = await killAt(/Instance address: /, 's1', ['--google-address', 'front-ip'], false);
    assert.deepEqual((st.inserted as Json).networkInterfaces[0].accessConfigs, [
      { type: 'ONE_TO_ONE_NAT', name: 'External NAT', natIP: '127.0.0.1' },
    ]);
    const r = await create('s2', ['--google-address', 'front-ip']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /address front-ip \(127\.0\.0\.1\) is in use by s1/);
    const only = await killAt(
      /Instance address: 127\.0\.0\.3/,
      's3',
      ['--google-use-internal-ip-only'],
      false,
    );
    assert.deepEqual((only.inserted as Json).networkInterfaces[0].accessConfigs, []);
    const rmr = await s.run(['rm', '-y', 's1', 's3'], { env: env() });
    assert.equal(rmr.code, 0, rmr.stderr);
    // Given as the address itself: found by a filtered list of the region's addresses.
    const byIP = await killAt(
      /Instance address: 127\.0\.0\.1/,
      's4',
      ['--google-address', '127.0.0.1'],
      false,
    );
    assert.equal((byIP.inserted as Json).networkInterfaces[0].accessConfigs[0].natIP, '127.0.0.1');
    assert.equal((await s.run(['rm', '-y', 's4'], { env: env() })).code, 0);
    // The reserved address is the user's: released by the instance's delete, never deleted.
    assert.deepEqual(
      fake.addresses().map((a) => [a.name, a.status]),
      [['front-ip', 'RESERVED']],
    );
  });

  test('--google-use-existing: tag and key added with their fingerprints, other metadata kept, a stale fingerprint read again; rm leaves the instance', async () => {
    await start();
    // The user's own instance, made with their own token.
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${fake.apiBase}projects/${PROJECT}/zones/us-central1-a/${path}`, {
        method,
        headers: { authorization: `Bearer ${USER_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then((r) => r.json() as Promise<Json>);
    const op = await api('POST', 'instances', {
      name: 'mine',
      machineType: `zones/us-central1-a/machineTypes/e2-small`,
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
        },
      ],
      networkInterfaces: [
        { network: 'global/networks/default', accessConfigs: [{ type: 'ONE_TO_ONE_NAT' }] },
      ],
      tags: { items: ['web'] },
      metadata: {
        items: [
          { key: 'startup-script', value: 'echo mine' },
          { key: 'ssh-keys', value: 'alice:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt alice' },
        ],
      },
    });
    // Compute Engine finishes the insert by itself; the fake, as its operation is read.
    for (let i = 0; i < 10 && (await api('GET', `operations/${op.name}`)).status !== 'DONE'; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal((await api('GET', 'instances/mine')).status, 'RUNNING');
    // Someone changes the metadata between the driver's read and its write: 412, read again.
    fake.failNext(
      'compute.instances.setMetadata',
      412,
      'conditionNotMet',
      'Supplied fingerprint does not match current metadata fingerprint.',
    );
    const k = await killAt(/Instance address: /, 'mine', ['--google-use-existing'], false);
    const inst = (await api('GET', 'instances/mine')) as Json;
    assert.deepEqual(inst.tags.items, ['web', 'docker-machine']);
    const items = Object.fromEntries(
      (inst.metadata.items as { key: string; value: string }[]).map((i) => [i.key, i.value]),
    );
    assert.equal(items['startup-script'], 'echo mine');
    const pub = (await readFile(join(s.dir, 'machines', 'mine', 'id_rsa.pub'), 'utf8')).trim();
    assert.equal(
      items['ssh-keys'],
      `alice:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt alice\ndocker-user:${pub} docker-user`,
    );
    assert.equal(fake.requests.filter((r) => r.id === 'compute.instances.setMetadata').length, 2);
    assert.ok(
      !fake.requests.some(
        (r) => r.id === 'compute.instances.insert' && r.body && (r.body as Json).name !== 'mine',
      ),
    );
    assert.deepEqual(
      k.ledger.map((e) => e.kind),
      ['firewall', 'existing_instance'],
    );
    const r = await s.run(['rm', '-y', 'mine'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Left instance mine \(mine\): it existed before this machine \(--google-use-existing\)/,
    );
    assert.deepEqual(inventory().instances, ['mine']);
  });

  test('status reads the instance; with the instance gone and its disk kept it is Stopped; a revoked token is renewed once; the key never shows', async () => {
    await start();
    const asked = oauth.requests.length;
    await killAt(/Instance address: /, 'st1', [], false);
    // One token for the whole create: every call and every poll shares it.
    assert.equal(oauth.requests.length - asked, 1);
    const status = await s.run(['--debug', 'status', 'st1'], { env: env() });
    assert.equal(status.stdout.trim(), 'Running', status.stderr);
    const keyJSON = JSON.parse(await readFile(key, 'utf8')) as { private_key: string };
    const secretLine = keyJSON.private_key.split('\n')[1];
    assert.ok(!status.stderr.includes(secretLine) && !status.stdout.includes(secretLine));
    assert.ok(!/Bearer ya29|authorization=Bearer/.test(status.stderr), 'the token is redacted');
    // Every token minted so far is revoked: the first call gets 401, a new token is minted.
    for (const t of oauth.tokens.keys()) oauth.revoke(t);
    const minted = oauth.tokens.size;
    const again = await s.run(['status', 'st1'], { env: env() });
    assert.equal(again.stdout.trim(), 'Running', again.stderr);
    assert.ok(oauth.tokens.size > minted);
    // The instance deleted with its disk kept (autoDelete off): Stopped, as the original said.
    const inst = fake.instanceMap.get(`${PROJECT}/us-central1-a/st1`);
    assert.ok(inst);
    for (const d of inst.inst.disks) d.autoDelete = false;
    fake.instanceMap.delete(`${PROJECT}/us-central1-a/st1`);
    const disk = fake.diskMap.get(`${PROJECT}/us-central1-a/st1-disk`);
    if (disk) disk.disk.users = [];
    assert.equal((await s.run(['status', 'st1'], { env: env() })).stdout.trim(), 'Stopped');
    // Start makes the instance again from the kept disk.
    const lines: string[] = [];
    const { driver, state } = await driverStart('st1', lines);
    assert.deepEqual(lines, ['Instance st1 is gone; making it again from its disk st1-disk...']);
    const again2 = fake.recorded
      .filter((x) => x.kind === 'request' && x.method === 'compute.instances.insert')
      .at(-1)?.body as Json;
    assert.deepEqual(again2.disks, [
      {
        boot: true,
        autoDelete: true,
        type: 'PERSISTENT',
        mode: 'READ_WRITE',
        source: `projects/${PROJECT}/zones/us-central1-a/disks/st1-disk`,
      },
    ]);
    assert.equal(driver.toJSON().IPAddress, '127.0.0.1');
    assert.equal(state, 'Running');
    const r = await s.run(['rm', '-y', 'st1'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deleted instance st1 \(st1\)/);
    assert.deepEqual(inventory(), { instances: [], disks: [], firewalls: ['docker-machines'] });
  });

  test('a machine the original made (no ledger): rm deletes its instance and disk by name, as the original did', async () => {
    await start();
    await killAt(/Instance address: /, 'old1', [], false);
    const path = join(s.dir, 'machines', 'old1', 'config.json');
    const cfg = JSON.parse(await readFile(path, 'utf8'));
    delete cfg.Driver.Ledger;
    await writeFile(path, JSON.stringify(cfg), { mode: 0o600 });
    const r = await s.run(['rm', '-y', 'old1'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deleted instance old1 \(old1\)/);
    assert.deepEqual(inventory(), { instances: [], disks: [], firewalls: ['docker-machines'] });
  });

  test('--google-auth-encoded-json: the key is used, kept in config.json (0600) for later commands, and never printed', async () => {
    await start();
    const encoded = Buffer.from(await readFile(key, 'utf8')).toString('base64');
    // No other credential: a GOOGLE_APPLICATION_CREDENTIALS that names nothing would be an error.
    const noKey = { GOOGLE_APPLICATION_CREDENTIALS: '' };
    const k = await killAt(/Instance address: /, 'e1', ['--google-auth-encoded-json', encoded], false, {
      ...noKey,
      MACHINE_DEBUG: '1',
    });
    // With the debug log on, which shows every flag and request.
    assert.match(k.output, /POST .*\/token/);
    assert.ok(!k.output.includes(encoded) && !k.output.includes(encoded.slice(0, 40)));
    const path = join(s.dir, 'machines', 'e1', 'config.json');
    assert.equal(k.driver.AuthEncodedJSON, encoded);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const st = await s.run(['--debug', 'status', 'e1'], { env: env(noKey) });
    assert.equal(st.stdout.trim(), 'Running', st.stderr);
    assert.match(
      st.stderr,
      /credentials from the service-account key of docker-machine@dm-test-project\.iam\.gserviceaccount\.com in --google-auth-encoded-json/,
    );
    assert.ok(!st.stderr.includes(encoded) && !st.stderr.includes(encoded.slice(0, 40)));
    const r = await s.run(['rm', '-y', 'e1'], { env: env(noKey) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(inventory(), { instances: [], disks: [], firewalls: ['docker-machines'] });
  });

  test('a throttling API (429 rateLimitExceeded every 4th request): the create retries and gets there', async () => {
    await start({ throttleEvery: 4 });
    const k = await killAt(/Instance address: 127\.0\.0\.1/, 't1', [], false);
    assert.ok(fake.throttled > 0, 'the fake throttled some requests');
    // Every change carries a requestId, the same on its retries: Compute Engine acts once.
    const changes = fake.requests.filter((q) => q.method !== 'GET');
    assert.ok(changes.length > 0 && changes.every((q) => /[?&]requestId=[0-9a-f-]{36}/.test(q.query)));
    assert.deepEqual(k.made.instances, ['t1']);
    const r = await s.run(['rm', '-y', 't1'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(inventory(), { instances: [], disks: [], firewalls: ['docker-machines'] });
  });

  test("the firewall-rule prefixes: this machine's own rules instead of the shared one, its tags on the instance, deleted by rm", async () => {
    await start();
    const k = await killAt(
      /Instance address: /,
      'f1',
      [
        '--google-external-firewall-rule-prefix',
        'dm-ext',
        '--google-internal-firewall-rule-prefix',
        'dm-int',
        '--google-open-port',
        '8443',
      ],
      false,
    );
    const rules = Object.fromEntries(fake.firewalls().map((f) => [String(f.name), f as Json]));
    assert.deepEqual(Object.keys(rules).sort(), ['dm-ext-f1', 'dm-int-f1']);
    assert.deepEqual(rules['dm-ext-f1'].targetTags, ['dm-ext-f1']);
    assert.deepEqual(rules['dm-ext-f1'].sourceRanges, ['0.0.0.0/0']);
    assert.deepEqual(rules['dm-ext-f1'].allowed, [{ IPProtocol: 'tcp', ports: ['2376', '8443'] }]);
    assert.deepEqual(rules['dm-int-f1'].sourceTags, ['docker-machine']);
    assert.deepEqual(rules['dm-int-f1'].targetTags, ['dm-int-f1']);
    assert.deepEqual((k.inserted as Json).tags.items, ['docker-machine', 'dm-ext-f1', 'dm-int-f1']);
    assert.deepEqual(
      k.ledger.map((e) => [e.kind, e.id]),
      [
        ['firewall_rule', 'dm-ext-f1'],
        ['firewall_rule', 'dm-int-f1'],
        ['disk', 'f1-disk'],
        ['instance', 'f1'],
      ],
    );
    const r = await s.run(['rm', '-y', 'f1'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Deleted instance f1[\s\S]*Deleted firewall rule dm-int-f1 \(dm-int-f1\)[\s\S]*Deleted firewall rule dm-ext-f1/,
    );
    assert.deepEqual(inventory(), nothing);
  });

  test('stop, then start: the new ephemeral address is read again and saved', async () => {
    await start({ addresses: ['127.0.0.1', '127.0.0.2'], newAddressOnStart: true });
    await killAt(/Instance address: 127\.0\.0\.1/, 'ip1', [], false);
    const stop = await s.run(['stop', 'ip1'], { env: env() });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await s.run(['status', 'ip1'], { env: env() })).stdout.trim(), 'Stopped');
    const { driver } = await driverStart('ip1');
    assert.equal(driver.toJSON().IPAddress, '127.0.0.2');
    assert.ok(fake.requests.some((q) => q.id === 'compute.instances.stop'));
    assert.ok(fake.requests.some((q) => q.id === 'compute.instances.start'));
    const r = await s.run(['rm', '-y', 'ip1'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
  });

  test('rm names what it could not delete with the gcloud command, keeps it in the ledger, and a later rm finishes', async () => {
    await start();
    await killAt(/Instance address: /, 'r1', [], false);
    fake.failNext(
      'compute.instances.delete',
      403,
      'forbidden',
      "Required 'compute.instances.delete' permission for 'projects/dm-test-project/zones/us-central1-a/instances/r1'",
    );
    const first = await s.run(['rm', '-y', 'r1'], { env: env() });
    assert.notEqual(first.code, 0);
    assert.match(
      first.stderr,
      /could not delete 2 Google Compute Engine resource\(s\) this machine made:\n {2}instance r1 \(r1\): Google Compute Engine API: forbidden: Required 'compute.instances.delete' permission .* \(HTTP 403\); delete it by hand: gcloud compute instances delete r1 --zone us-central1-a --project dm-test-project\n {2}disk r1-disk \(r1-disk\): Google Compute Engine API: resourceInUseByAnotherResource: .* \(HTTP 400\); delete it by hand: gcloud compute disks delete r1-disk --zone us-central1-a --project dm-test-project/,
    );
    const cfg = JSON.parse(await readFile(join(s.dir, 'machines', 'r1', 'config.json'), 'utf8'));
    assert.ok(ledgerOf(cfg.Driver).some((e) => e.kind === 'instance'));
    const second = await s.run(['rm', '-y', 'r1'], { env: env() });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(inventory(), { instances: [], disks: [], firewalls: ['docker-machines'] });
  });
});
