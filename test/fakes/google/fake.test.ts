import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Discovery } from './discovery.js';
import { DISCOVERY, FakeGoogle, type FakeGoogleOptions } from './fake.js';
import { applyFilter } from './filter.js';

// The fake itself, driven with plain fetch as a driver would: what GCE does, and that every body
// it sent or received matches the Compute discovery document.

const P = 'dm-test-project';
const Z = 'asia-northeast3-a';
const TOKEN = 'ya29.test-token';
const XENIAL =
  'https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20200223';

// biome-ignore lint/suspicious/noExplicitAny: the API's JSON answers are read field by field.
type Obj = Record<string, any>;

function client(g: FakeGoogle, token = TOKEN) {
  const call = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Obj }> => {
    const r = await fetch(`${g.url}/compute/v1/${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : {} };
  };
  /** Polls an operation by its selfLink until DONE, as the original driver does (but without sleeping). */
  const poll = async (op: Obj): Promise<{ op: Obj; polls: number }> => {
    const path = String(op.selfLink).slice(`${g.url}/compute/v1/`.length);
    let polls = 0;
    while (op.status !== 'DONE') {
      const r = await call('GET', path);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      op = r.body;
      if (++polls > 50) throw new Error('operation never finished');
    }
    return { op, polls };
  };
  return { call, poll };
}

function instanceBody(name: string, extra: Obj = {}): Obj {
  return {
    name,
    description: 'docker host vm',
    machineType: `zones/${Z}/machineTypes/f1-micro`,
    tags: { items: ['docker-machine', 'http-server'] },
    disks: [
      {
        boot: true,
        autoDelete: true,
        type: 'PERSISTENT',
        mode: 'READ_WRITE',
        initializeParams: {
          diskName: `${name}-disk`,
          sourceImage: XENIAL,
          diskSizeGb: '10',
          diskType: `projects/${P}/zones/${Z}/diskTypes/pd-standard`,
        },
      },
    ],
    networkInterfaces: [
      {
        network: `projects/${P}/global/networks/default`,
        accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
      },
    ],
    serviceAccounts: [{ email: 'default', scopes: ['https://www.googleapis.com/auth/compute'] }],
    scheduling: { preemptible: false },
    ...extra,
  };
}

async function withFake(opts: FakeGoogleOptions, fn: (g: FakeGoogle) => Promise<void>): Promise<void> {
  const g = new FakeGoogle({ token: TOKEN, projects: [P], ...opts });
  await g.start();
  try {
    await fn(g);
  } finally {
    await g.stop();
  }
}

describe('FakeGoogle', () => {
  test('a whole life: insert, operation polls, RUNNING, stale fingerprint 412, stop/start, delete, disk gone', async () => {
    const powered: [string, boolean][] = [];
    const keys: [string, string[]][] = [];
    await withFake(
      {
        addresses: ['127.0.0.1'],
        operationPolls: 2,
        onPower: (n, on) => {
          powered.push([n, on]);
        },
        onCreate: (n, k) => {
          keys.push([n, k]);
        },
      },
      async (g) => {
        const { call, poll } = client(g);
        assert.equal((await call('GET', `projects/${P}`)).status, 200);
        const fwGet = await call('GET', `projects/${P}/global/firewalls/docker-machines`);
        assert.equal(fwGet.status, 404);
        assert.equal(
          fwGet.body.error.message,
          `The resource 'projects/${P}/global/firewalls/docker-machines' was not found`,
        );
        const fw = await call('POST', `projects/${P}/global/firewalls`, {
          name: 'docker-machines',
          network: `projects/${P}/global/networks/default`,
          sourceRanges: ['0.0.0.0/0'],
          targetTags: ['docker-machine'],
          allowed: [{ IPProtocol: 'tcp', ports: ['2376'] }],
        });
        assert.equal(fw.status, 200);
        assert.equal(fw.body.kind, 'compute#operation');
        assert.match(fw.body.selfLink, /\/global\/operations\/operation-/);
        await poll(fw.body);

        const ins = await call('POST', `projects/${P}/zones/${Z}/instances`, instanceBody('gcp-host'));
        assert.equal(ins.status, 200, JSON.stringify(ins.body));
        assert.equal(ins.body.status, 'PENDING');
        assert.equal(ins.body.operationType, 'insert');
        assert.match(ins.body.targetLink, /\/zones\/asia-northeast3-a\/instances\/gcp-host$/);
        // The deprecated image of the guide works, with GCE's warning on the operation.
        assert.equal(ins.body.warnings[0].code, 'DEPRECATED_RESOURCE_USED');
        const during = await call('GET', `projects/${P}/zones/${Z}/instances/gcp-host`);
        assert.equal(during.body.status, 'PROVISIONING');
        const { op, polls } = await poll(ins.body);
        assert.equal(polls, 2, 'DONE after operationPolls GETs');
        assert.equal(op.progress, 100);
        assert.equal(op.error, undefined);
        const inst = (await call('GET', `projects/${P}/zones/${Z}/instances/gcp-host`)).body;
        assert.equal(inst.status, 'RUNNING');
        assert.equal(inst.networkInterfaces[0].accessConfigs[0].natIP, '127.0.0.1');
        assert.match(inst.networkInterfaces[0].networkIP, /^10\.\d+\.0\.\d+$/);
        assert.deepEqual(inst.tags.items, ['docker-machine', 'http-server']);
        assert.deepEqual(powered, [['gcp-host', true]]);
        const disk = (await call('GET', `projects/${P}/zones/${Z}/disks/gcp-host-disk`)).body;
        assert.equal(disk.status, 'READY');
        assert.deepEqual(disk.users, [inst.selfLink]);
        assert.equal(disk.sizeGb, '10');

        // A disk in use cannot be deleted.
        const busy = await call('DELETE', `projects/${P}/zones/${Z}/disks/gcp-host-disk`);
        assert.equal(busy.status, 400);
        assert.equal(busy.body.error.errors[0].reason, 'resourceInUseByAnotherResource');

        // Metadata: the original's single sshKeys item, with the current fingerprint; a stale one → 412.
        const line = 'docker-user:ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 docker-user';
        const md = await call('POST', `projects/${P}/zones/${Z}/instances/gcp-host/setMetadata`, {
          fingerprint: inst.metadata.fingerprint,
          items: [{ key: 'sshKeys', value: `${line}\n` }],
        });
        assert.equal(md.status, 200, JSON.stringify(md.body));
        await poll(md.body);
        assert.deepEqual(keys, [['gcp-host', [line]]]);
        const stale = await call('POST', `projects/${P}/zones/${Z}/instances/gcp-host/setMetadata`, {
          fingerprint: inst.metadata.fingerprint,
          items: [],
        });
        assert.equal(stale.status, 412);
        assert.equal(stale.body.error.errors[0].reason, 'conditionNotMet');
        const tagsStale = await call('POST', `projects/${P}/zones/${Z}/instances/gcp-host/setTags`, {
          fingerprint: 'AAAAAAAAAAA=',
          items: ['docker-machine'],
        });
        assert.equal(tagsStale.status, 412);
        const after = (await call('GET', `projects/${P}/zones/${Z}/instances/gcp-host`)).body;
        assert.notEqual(after.metadata.fingerprint, inst.metadata.fingerprint);
        assert.deepEqual(after.metadata.items, [{ key: 'sshKeys', value: `${line}\n` }]);

        // Stop: STOPPING then TERMINATED, the ephemeral address released; start gives one again.
        const stop = await call('POST', `projects/${P}/zones/${Z}/instances/gcp-host/stop`);
        assert.equal(stop.status, 200);
        await call('GET', stop.body.selfLink.slice(`${g.url}/compute/v1/`.length));
        assert.equal(
          (await call('GET', `projects/${P}/zones/${Z}/instances/gcp-host`)).body.status,
          'STOPPING',
        );
        await poll(stop.body);
        const stopped = (await call('GET', `projects/${P}/zones/${Z}/instances/gcp-host`)).body;
        assert.equal(stopped.status, 'TERMINATED');
        assert.equal(stopped.networkInterfaces[0].accessConfigs[0].natIP, undefined);
        const start = await call('POST', `projects/${P}/zones/${Z}/instances/gcp-host/start`);
        // operations.wait answers when DONE.
        const waited = await call('POST', `projects/${P}/zones/${Z}/operations/${start.body.name}/wait`);
        assert.equal(waited.body.status, 'DONE');
        const started = (await call('GET', `projects/${P}/zones/${Z}/instances/gcp-host`)).body;
        assert.equal(started.status, 'RUNNING');
        assert.equal(started.networkInterfaces[0].accessConfigs[0].natIP, '127.0.0.1');
        assert.deepEqual(powered, [
          ['gcp-host', true],
          ['gcp-host', false],
          ['gcp-host', true],
        ]);

        // Delete: the instance, and its autoDelete boot disk with it.
        const del = await call('DELETE', `projects/${P}/zones/${Z}/instances/gcp-host`);
        assert.equal(del.status, 200);
        await poll(del.body);
        assert.equal((await call('GET', `projects/${P}/zones/${Z}/instances/gcp-host`)).status, 404);
        const gone = await call('GET', `projects/${P}/zones/${Z}/disks/gcp-host-disk`);
        assert.equal(gone.status, 404);
        assert.equal(
          gone.body.error.message,
          `The resource 'projects/${P}/zones/${Z}/disks/gcp-host-disk' was not found`,
        );
        assert.deepEqual(g.instances(), []);
        assert.deepEqual(g.disks(), []);
        assert.equal(g.firewalls().length, 1);
        assert.ok(g.requests.some((r) => r.id === 'compute.instances.insert'));
        assert.deepEqual(await g.validate(), []);
      },
    );
  });
});

describe('FakeGoogle refuses what GCE refuses', () => {
  let g: FakeGoogle;
  let call: ReturnType<typeof client>['call'];
  let poll: ReturnType<typeof client>['poll'];
  const hits: string[] = [];
  before(async () => {
    g = new FakeGoogle({
      token: TOKEN,
      projects: [P],
      operationPolls: 1,
      instanceQuota: 4,
      staticAddresses: [{ region: 'asia-northeast3', name: 'front', address: '127.0.0.2' }],
    });
    g.on('created', (e: { kind: string; name: string }) => hits.push(`${e.kind}:${e.name}`));
    await g.start();
    ({ call, poll } = client(g));
  });
  after(() => g.stop());

  test('401 without a token or with a wrong one, with Google UNAUTHENTICATED body', async () => {
    for (const token of ['', 'ya29.wrong']) {
      const r = await client(g, token).call('GET', `projects/${P}`);
      assert.equal(r.status, 401);
      assert.equal(r.body.error.status, 'UNAUTHENTICATED');
      assert.equal(r.body.error.errors[0].location, 'Authorization');
      assert.equal(r.body.error.errors[0].reason, token ? 'authError' : 'required');
    }
  });

  test('404 for an unknown project, zone, instance, image; 409 for a duplicate', async () => {
    const proj = await call('GET', 'projects/other-project');
    assert.equal(proj.status, 404);
    assert.deepEqual(proj.body.error.errors[0], {
      message: "The resource 'projects/other-project' was not found",
      domain: 'global',
      reason: 'notFound',
    });
    const zone = await call('GET', `projects/${P}/zones/mars-north1-a`);
    assert.equal(zone.status, 404);
    assert.equal(zone.body.error.message, `The resource 'projects/${P}/zones/mars-north1-a' was not found`);
    const inZone = await call('POST', `projects/${P}/zones/mars-north1-a/instances`, instanceBody('x1'));
    assert.equal(inZone.status, 404);
    assert.equal((await call('GET', `projects/${P}/zones/${Z}/instances/nope`)).status, 404);
    assert.equal((await call('DELETE', `projects/${P}/zones/${Z}/instances/nope`)).status, 404);

    const first = await call('POST', `projects/${P}/zones/${Z}/instances`, instanceBody('dup'));
    assert.equal(first.status, 200);
    const again = await call('POST', `projects/${P}/zones/${Z}/instances`, instanceBody('dup'));
    assert.equal(again.status, 409);
    assert.equal(again.body.error.errors[0].reason, 'alreadyExists');
    assert.equal(
      again.body.error.message,
      `The resource 'projects/${P}/zones/${Z}/instances/dup' already exists`,
    );
    await poll(first.body);
    assert.ok(hits.includes('instance:dup'));
  });

  test('images: bare name malformed, the original default gone, obsolete refused, families resolve', async () => {
    const disk = (img: string) => [{ boot: true, autoDelete: true, initializeParams: { sourceImage: img } }];
    const bare = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-bare', { disks: disk('ubuntu-1604-xenial-v20200223') }),
    );
    assert.equal(bare.status, 400);
    assert.equal(
      bare.body.error.message,
      "Invalid value for field 'resource.disks[0].initializeParams.sourceImage': 'ubuntu-1604-xenial-v20200223'. The URL is malformed.",
    );
    const old = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-old', {
        disks: disk(
          'https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20170721',
        ),
      }),
    );
    // GCE names the field at insert; images.get of the same image is a 404.
    assert.equal(old.status, 400);
    assert.equal(
      old.body.error.message,
      "Invalid value for field 'resource.disks[0].initializeParams.sourceImage': 'https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20170721'. The referenced image resource cannot be found.",
    );
    const oldGet = await call('GET', 'projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20170721');
    assert.equal(oldGet.status, 404);
    assert.equal(
      oldGet.body.error.message,
      "The resource 'projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20170721' was not found",
    );
    const obsolete = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-obs', {
        disks: disk('projects/ubuntu-os-cloud/global/images/ubuntu-1404-trusty-v20190514'),
      }),
    );
    assert.equal(obsolete.status, 400);
    assert.match(obsolete.body.error.message, /obsolete/);
    const fam = await call('GET', 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64');
    assert.equal(fam.body.name, 'ubuntu-2404-noble-amd64-v20251120', 'the newest of the family');
    assert.equal(
      (await call('GET', 'projects/debian-cloud/global/images/family/debian-12')).body.name,
      'debian-12-bookworm-v20251111',
    );
    // A family of deprecated images only has no current image.
    assert.equal(
      (await call('GET', 'projects/ubuntu-os-cloud/global/images/family/ubuntu-1604-lts')).status,
      404,
    );
    const dep = await call('GET', 'projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20200223');
    assert.equal(dep.body.deprecated.state, 'DEPRECATED');
    // A family path and the fake's own URL are accepted; the disk is made from the family's newest.
    const viaFamily = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-fam', {
        disks: disk(
          `${g.url}/compute/v1/projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64`,
        ),
      }),
    );
    assert.equal(viaFamily.status, 200, JSON.stringify(viaFamily.body));
    assert.equal(viaFamily.body.warnings, undefined);
    await poll(viaFamily.body);
    const d = (await call('GET', `projects/${P}/zones/${Z}/disks/i-fam`)).body;
    assert.match(d.sourceImage, /ubuntu-2404-noble-amd64-v20251120$/);
  });

  test('machine types, GPUs and scheduling: what GCE refuses at insert', async () => {
    const mt = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-mt', { machineType: `zones/${Z}/machineTypes/f1-huge` }),
    );
    assert.equal(mt.status, 400);
    assert.equal(
      mt.body.error.message,
      `Invalid value for field 'resource.machineType': 'zones/${Z}/machineTypes/f1-huge'. Machine type with name 'f1-huge' does not exist in zone '${Z}'.`,
    );
    const gpu = (onHostMaintenance?: string) =>
      instanceBody('i-gpu', {
        machineType: `zones/${Z}/machineTypes/n1-standard-1`,
        guestAccelerators: [
          {
            acceleratorType: `projects/${P}/zones/${Z}/acceleratorTypes/nvidia-tesla-t4`,
            acceleratorCount: 1,
          },
        ],
        scheduling: onHostMaintenance ? { onHostMaintenance, automaticRestart: true } : {},
        minCpuPlatform: 'Intel Skylake',
      });
    for (const m of [undefined, 'MIGRATE']) {
      const r = await call('POST', `projects/${P}/zones/${Z}/instances`, gpu(m));
      assert.equal(r.status, 400);
      assert.equal(r.body.error.errors[0].reason, 'badRequest');
      assert.equal(r.body.error.message, 'Instances with guest accelerators do not support live migration.');
    }
    const ok = await call('POST', `projects/${P}/zones/${Z}/instances`, gpu('TERMINATE'));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await poll(ok.body);
    const inst = (await call('GET', `projects/${P}/zones/${Z}/instances/i-gpu`)).body;
    assert.equal(inst.guestAccelerators[0].acceleratorCount, 1);
    assert.equal(inst.minCpuPlatform, 'Intel Skylake');
    assert.equal(inst.scheduling.onHostMaintenance, 'TERMINATE');
    const badPlatform = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-cpu', {
        machineType: `zones/${Z}/machineTypes/n1-standard-1`,
        minCpuPlatform: 'Intel 8086',
      }),
    );
    assert.equal(badPlatform.status, 400);
    const pre = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-pre', { scheduling: { preemptible: true } }),
    );
    await poll(pre.body);
    const preInst = (await call('GET', `projects/${P}/zones/${Z}/instances/i-pre`)).body;
    assert.deepEqual(
      [
        preInst.scheduling.preemptible,
        preInst.scheduling.automaticRestart,
        preInst.scheduling.onHostMaintenance,
      ],
      [true, false, 'TERMINATE'],
    );
  });

  test('quota: the insert is accepted, its operation fails with QUOTA_EXCEEDED, nothing is made', async () => {
    const before = g.instances().length;
    assert.ok(before >= 4, `the quota of 4 is reached (${before})`);
    const r = await call('POST', `projects/${P}/zones/${Z}/instances`, instanceBody('i-quota'));
    assert.equal(r.status, 200);
    // As GCE: the instance shows while the insert runs, and is gone when it fails.
    assert.equal(
      (await call('GET', `projects/${P}/zones/${Z}/instances/i-quota`)).body.status,
      'PROVISIONING',
    );
    const { op } = await poll(r.body);
    assert.equal(op.error.errors[0].code, 'QUOTA_EXCEEDED');
    assert.match(
      op.error.errors[0].message,
      /^Quota 'INSTANCES' exceeded\.\s+Limit: 4\.0 in region asia-northeast3\.$/,
    );
    assert.equal(op.httpErrorStatusCode, 403);
    assert.equal(op.httpErrorMessage, 'FORBIDDEN');
    assert.equal((await call('GET', `projects/${P}/zones/${Z}/instances/i-quota`)).status, 404);
    assert.equal((await call('GET', `projects/${P}/zones/${Z}/disks/i-quota-disk`)).status, 404);
    assert.equal(g.instances().length, before);
  });

  test('lists page: a walk over several pages, maxResults over 500 refused, a name filter', async () => {
    const names: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const r = await call(
        'GET',
        `projects/ubuntu-os-cloud/global/images?maxResults=2${token ? `&pageToken=${token}` : ''}`,
      );
      assert.equal(r.status, 200);
      assert.ok(r.body.items.length <= 2);
      names.push(...r.body.items.map((i: Obj) => i.name));
      token = r.body.nextPageToken ?? '';
      pages++;
    } while (token);
    const all = (await call('GET', 'projects/ubuntu-os-cloud/global/images')).body.items.map(
      (i: Obj) => i.name,
    );
    assert.ok(pages >= 4, `${pages} pages`);
    assert.deepEqual(names, all);
    assert.equal(new Set(names).size, names.length);
    const inst = await call('GET', `projects/${P}/zones/${Z}/instances?maxResults=1`);
    assert.equal(inst.body.items.length, 1);
    assert.ok(inst.body.nextPageToken);
    const big = await call('GET', `projects/${P}/zones/${Z}/instances?maxResults=501`);
    assert.equal(big.status, 400);
    assert.match(big.body.error.message, /maxResults.*500/);
    const named = await call(
      'GET',
      `projects/${P}/zones/${Z}/instances?filter=${encodeURIComponent('name = "i-gpu"')}`,
    );
    assert.deepEqual(
      named.body.items.map((i: Obj) => i.name),
      ['i-gpu'],
    );
    const none = await call('GET', `projects/${P}/zones/europe-west1-b/instances`);
    assert.equal(none.body.items, undefined);
    assert.equal(none.body.warning.code, 'NO_RESULTS_ON_PAGE');
    for (const path of [
      `projects/${P}/global/firewalls?maxResults=1`,
      `projects/${P}/zones/${Z}/disks?maxResults=1`,
      `projects/${P}/regions/asia-northeast3/addresses?maxResults=1`,
      `projects/${P}/zones/${Z}/operations?maxResults=1`,
    ]) {
      const r = await call('GET', path);
      assert.equal(r.status, 200, path);
    }
  });

  test('a static address as natIP is IN_USE until the instance goes; it cannot be deleted meanwhile', async () => {
    await call('DELETE', `projects/${P}/zones/${Z}/instances/i-pre`).then((r) => poll(r.body));
    const r = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-static', {
        networkInterfaces: [{ accessConfigs: [{ type: 'ONE_TO_ONE_NAT', natIP: '127.0.0.2' }] }],
      }),
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await poll(r.body);
    const a = (await call('GET', `projects/${P}/regions/asia-northeast3/addresses/front`)).body;
    assert.equal(a.status, 'IN_USE');
    const del = await call('DELETE', `projects/${P}/regions/asia-northeast3/addresses/front`);
    assert.equal(del.status, 400);
    // A static address stays with a stopped instance.
    await call('POST', `projects/${P}/zones/${Z}/instances/i-static/stop`).then((x) => poll(x.body));
    const stopped = (await call('GET', `projects/${P}/zones/${Z}/instances/i-static`)).body;
    assert.equal(stopped.networkInterfaces[0].accessConfigs[0].natIP, '127.0.0.2');
    await call('DELETE', `projects/${P}/zones/${Z}/instances/i-static`).then((x) => poll(x.body));
    assert.equal(
      (await call('GET', `projects/${P}/regions/asia-northeast3/addresses/front`)).body.status,
      'RESERVED',
    );
    const unknown = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-nat', { networkInterfaces: [{ accessConfigs: [{ natIP: '203.0.113.9' }] }] }),
    );
    assert.equal(unknown.status, 400);
  });

  test('a kept disk: delete without autoDelete leaves it, a new instance boots from it as source', async () => {
    const body = instanceBody('keep');
    body.disks[0].autoDelete = false;
    await call('POST', `projects/${P}/zones/${Z}/instances`, body).then((r) => poll(r.body));
    await call('DELETE', `projects/${P}/zones/${Z}/instances/keep`).then((r) => poll(r.body));
    const disk = (await call('GET', `projects/${P}/zones/${Z}/disks/keep-disk`)).body;
    assert.equal(disk.users, undefined);
    const again = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('keep', {
        disks: [{ boot: true, autoDelete: true, source: `projects/${P}/zones/${Z}/disks/keep-disk` }],
      }),
    );
    assert.equal(again.status, 200, JSON.stringify(again.body));
    await poll(again.body);
    assert.equal((await call('GET', `projects/${P}/zones/${Z}/disks/keep-disk`)).body.users.length, 1);
    await call('DELETE', `projects/${P}/zones/${Z}/instances/keep`).then((r) => poll(r.body));
    assert.equal((await call('GET', `projects/${P}/zones/${Z}/disks/keep-disk`)).status, 404);
  });

  test('labels with a fingerprint; a retried insert with the same requestId answers the first operation', async () => {
    const inst = (await call('GET', `projects/${P}/zones/${Z}/instances/i-gpu`)).body;
    const set = await call('POST', `projects/${P}/zones/${Z}/instances/i-gpu/setLabels`, {
      labels: { owner: 'ci', purpose: 'docker-machine' },
      labelFingerprint: inst.labelFingerprint,
    });
    assert.equal(set.status, 200);
    await poll(set.body);
    const stale = await call('POST', `projects/${P}/zones/${Z}/instances/i-gpu/setLabels`, {
      labels: {},
      labelFingerprint: inst.labelFingerprint,
    });
    assert.equal(stale.status, 412);
    assert.deepEqual((await call('GET', `projects/${P}/zones/${Z}/instances/i-gpu`)).body.labels, {
      owner: 'ci',
      purpose: 'docker-machine',
    });
    const badLabel = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances`,
      instanceBody('i-lab', { labels: { Owner: 'x' } }),
    );
    assert.equal(badLabel.status, 400);
    await call('DELETE', `projects/${P}/zones/${Z}/instances/i-gpu`).then((r) => poll(r.body));
    const rid = '6f0a1a52-5b5c-4d7e-9a39-d4a1a1a1a1a1';
    const one = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances?requestId=${rid}`,
      instanceBody('i-rid'),
    );
    const two = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances?requestId=${rid}`,
      instanceBody('i-rid'),
    );
    assert.equal(two.status, 200);
    assert.equal(two.body.name, one.body.name);
    assert.equal(g.instances().filter((i) => i.name === 'i-rid').length, 1);
    const badId = await call(
      'POST',
      `projects/${P}/zones/${Z}/instances?requestId=retry-1`,
      instanceBody('i-rid2'),
    );
    assert.equal(badId.status, 400);
  });

  test('firewall update adds a port; a duplicate firewall is 409', async () => {
    const rule = {
      name: 'docker-machines',
      network: 'global/networks/default',
      sourceRanges: ['0.0.0.0/0'],
      targetTags: ['docker-machine'],
      allowed: [{ IPProtocol: 'tcp', ports: ['2376'] }],
    };
    await call('POST', `projects/${P}/global/firewalls`, rule).then((r) => poll(r.body));
    assert.equal((await call('POST', `projects/${P}/global/firewalls`, rule)).status, 409);
    const up = await call('PUT', `projects/${P}/global/firewalls/docker-machines`, {
      ...rule,
      allowed: [{ IPProtocol: 'tcp', ports: ['2376', '3376'] }],
    });
    assert.equal(up.status, 200);
    const waited = await call('POST', `projects/${P}/global/operations/${up.body.name}/wait`);
    assert.equal(waited.body.status, 'DONE');
    const fw = (await call('GET', `projects/${P}/global/firewalls/docker-machines`)).body;
    assert.deepEqual(fw.allowed, [{ IPProtocol: 'tcp', ports: ['2376', '3376'] }]);
    const badPort = await call('POST', `projects/${P}/global/firewalls`, {
      ...rule,
      name: 'bad',
      allowed: [{ IPProtocol: 'tcp', ports: ['http'] }],
    });
    assert.equal(badPort.status, 400);
  });

  test('every body of this run matches the discovery document', async () => {
    assert.deepEqual(await g.validate(), []);
    assert.ok(g.recorded.length > 100, `${g.recorded.length} bodies checked`);
  });
});

describe('FakeGoogle timing and faults', () => {
  test('operations.wait is bounded: a still-running operation is answered after waitMs', async () => {
    await withFake({ operationPolls: 1000, waitMs: 150 }, async (g) => {
      const { call } = client(g);
      const r = await call('POST', `projects/${P}/global/firewalls`, {
        name: 'slow',
        allowed: [{ IPProtocol: 'tcp', ports: ['22'] }],
      });
      assert.equal(r.status, 200);
      const t0 = Date.now();
      const w = await call('POST', `projects/${P}/global/operations/${r.body.name}/wait`);
      const took = Date.now() - t0;
      assert.equal(w.status, 200);
      assert.equal(w.body.status, 'RUNNING');
      assert.ok(took >= 140 && took < 2000, `${took} ms`);
      assert.deepEqual(await g.validate(), []);
    });
  });

  test('throttling: every Nth request answers 429 rateLimitExceeded with the error body', async () => {
    await withFake({ throttleEvery: 3 }, async (g) => {
      const { call } = client(g);
      const statuses: number[] = [];
      let limited: Obj | undefined;
      for (let i = 0; i < 6; i++) {
        const r = await call('GET', `projects/${P}`);
        statuses.push(r.status);
        if (r.status === 429) limited = r.body;
      }
      assert.deepEqual(statuses, [200, 200, 429, 200, 200, 429]);
      assert.equal(g.throttled, 2);
      assert.equal(limited!.error.code, 429);
      assert.equal(limited!.error.errors[0].reason, 'rateLimitExceeded');
      assert.equal(limited!.error.errors[0].domain, 'usageLimits');
      assert.deepEqual(await g.validate(), []);
    });
  });

  test('failOperation: a late failure in the operation, nothing changed; failNext: one refused call', async () => {
    await withFake({ operationPolls: 1 }, async (g) => {
      const { call, poll } = client(g);
      g.failOperation(
        'insert',
        'ZONE_RESOURCE_POOL_EXHAUSTED',
        `The zone 'projects/${P}/zones/${Z}' does not have enough resources available to fulfill the request.`,
        503,
      );
      const r = await call('POST', `projects/${P}/zones/${Z}/instances`, instanceBody('late'));
      assert.equal(r.status, 200);
      assert.equal(
        (await call('GET', `projects/${P}/zones/${Z}/instances/late`)).body.status,
        'PROVISIONING',
      );
      const { op } = await poll(r.body);
      assert.equal(op.error.errors[0].code, 'ZONE_RESOURCE_POOL_EXHAUSTED');
      assert.equal(op.httpErrorStatusCode, 503);
      // GCE shows the instance while it is made, and removes it with its new disk when the insert fails.
      assert.equal((await call('GET', `projects/${P}/zones/${Z}/instances/late`)).status, 404);
      assert.equal((await call('GET', `projects/${P}/zones/${Z}/disks/late-disk`)).status, 404);
      g.failNext('compute.firewalls.get', 403, 'forbidden', "Required 'compute.firewalls.get' permission");
      const fw = await call('GET', `projects/${P}/global/firewalls/any`);
      assert.equal(fw.status, 403);
      assert.equal(fw.body.error.errors[0].reason, 'forbidden');
      assert.equal((await call('GET', `projects/${P}/global/firewalls/any`)).status, 404);
      assert.deepEqual(await g.validate(), []);
    });
  });

  test("Google's front end: unknown fields and query parameters, and path values off the pattern, are 400", async () => {
    await withFake({}, async (g) => {
      const { call } = client(g);
      const typo = await call(
        'POST',
        `projects/${P}/zones/${Z}/instances`,
        instanceBody('typo', { networkInterfaces: [{ acessConfigs: [] }] }),
      );
      assert.equal(typo.status, 400);
      assert.equal(
        typo.body.error.message,
        `Invalid JSON payload received. Unknown name "acessConfigs" at 'resource.networkInterfaces[0]': Cannot find field.`,
      );
      const q = await call('GET', `projects/${P}/zones/${Z}/instances?max_results=5`);
      assert.equal(q.status, 400);
      assert.match(q.body.error.message, /Unknown name "max_results"/);
      assert.equal((await call('GET', `projects/${P}/zones/${Z}/instances?fields=items(name)`)).status, 200);
      const path = await call('GET', `projects/${P}/zones/${Z}/instances/Bad_Name`);
      assert.equal(path.status, 400);
      assert.equal(path.body.error.errors[0].reason, 'invalidParameter');
      assert.deepEqual(g.instances(), []);
    });
  });

  test('addresses: each instance keeps its host across stop/start; newAddressOnStart models a new one', async () => {
    for (const newAddressOnStart of [false, true]) {
      await withFake(
        { addresses: ['127.0.0.11', '127.0.0.12', '127.0.0.13'], operationPolls: 0, newAddressOnStart },
        async (g) => {
          const { call } = client(g);
          for (const n of ['a1', 'a2'])
            await call('POST', `projects/${P}/zones/${Z}/instances`, instanceBody(n));
          assert.equal(g.addressOf('a1')?.natIP, '127.0.0.11');
          assert.equal(g.addressOf('a2')?.natIP, '127.0.0.12');
          await call('POST', `projects/${P}/zones/${Z}/instances/a1/stop`);
          assert.equal(g.addressOf('a1')?.natIP, undefined);
          await call('POST', `projects/${P}/zones/${Z}/instances/a1/start`);
          await call('POST', `projects/${P}/zones/${Z}/instances/a2/stop`);
          await call('POST', `projects/${P}/zones/${Z}/instances/a2/start`);
          assert.deepEqual(
            [g.addressOf('a1')?.natIP, g.addressOf('a2')?.natIP],
            newAddressOnStart ? ['127.0.0.13', '127.0.0.11'] : ['127.0.0.11', '127.0.0.12'],
          );
        },
      );
    }
  });

  test("a subnetwork in the zone's region; internal addresses from internalAddresses; delete during insert", async () => {
    const power: string[] = [];
    await withFake(
      {
        internalAddresses: ['10.9.0.5'],
        operationPolls: 2,
        onPower: (n, on) => void power.push(`${n}:${on}`),
      },
      async (g) => {
        const { call, poll } = client(g);
        const wrongRegion = await call(
          'POST',
          `projects/${P}/zones/${Z}/instances`,
          instanceBody('sn', {
            networkInterfaces: [{ subnetwork: `projects/${P}/regions/us-central1/subnetworks/default` }],
          }),
        );
        assert.equal(wrongRegion.status, 400);
        const missing = await call(
          'POST',
          `projects/${P}/zones/${Z}/instances`,
          instanceBody('sn', {
            networkInterfaces: [{ subnetwork: `regions/asia-northeast3/subnetworks/backend` }],
          }),
        );
        assert.equal(missing.status, 404);
        const ok = await call(
          'POST',
          `projects/${P}/zones/${Z}/instances`,
          instanceBody('sn', {
            networkInterfaces: [{ subnetwork: `regions/asia-northeast3/subnetworks/default` }],
          }),
        );
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.deepEqual(g.addressOf('sn'), { natIP: undefined, networkIP: '10.9.0.5' });
        // Deleted before its insert finished: the host is never powered on.
        const del = await call('DELETE', `projects/${P}/zones/${Z}/instances/sn`);
        await poll(del.body);
        await poll(ok.body);
        assert.deepEqual(g.instances(), []);
        assert.deepEqual(g.disks(), []);
        assert.deepEqual(power, []);
        assert.deepEqual(await g.validate(), []);
      },
    );
  });

  test('runningPolls: STAGING after the insert is DONE until enough GETs; labels on the boot disk', async () => {
    await withFake({ operationPolls: 0, runningPolls: 2 }, async (g) => {
      const { call } = client(g);
      const body = instanceBody('slowboot', { labels: { team: 'ops' } });
      body.disks[0].initializeParams.labels = { team: 'ops' };
      const r = await call('POST', `projects/${P}/zones/${Z}/instances`, body);
      assert.equal(r.body.status, 'DONE');
      const seen: string[] = [];
      for (let i = 0; i < 3; i++)
        seen.push((await call('GET', `projects/${P}/zones/${Z}/instances/slowboot`)).body.status);
      assert.deepEqual(seen, ['STAGING', 'RUNNING', 'RUNNING']);
      const disk = (await call('GET', `projects/${P}/zones/${Z}/disks/slowboot-disk`)).body;
      assert.deepEqual(disk.labels, { team: 'ops' });
      const relabel = await call('POST', `projects/${P}/zones/${Z}/disks/slowboot-disk/setLabels`, {
        labels: { team: 'dev' },
        labelFingerprint: disk.labelFingerprint,
      });
      assert.equal(relabel.body.status, 'DONE');
      assert.deepEqual((await call('GET', `projects/${P}/zones/${Z}/disks/slowboot-disk`)).body.labels, {
        team: 'dev',
      });
      const blank = await call('POST', `projects/${P}/zones/${Z}/disks`, { name: 'data' });
      assert.equal(blank.status, 200);
      assert.equal((await call('GET', `projects/${P}/zones/${Z}/disks/data`)).body.sizeGb, '500');
      assert.equal((await call('POST', `projects/${P}/zones/${Z}/disks`, { name: 'data' })).status, 409);
      assert.deepEqual(await g.validate(), []);
    });
  });

  test('CPUS quota: counted from machine types per region, the region shows the usage', async () => {
    await withFake({ operationPolls: 0, cpuQuota: 4 }, async (g) => {
      const { call } = client(g);
      const mt = (t: string) => ({ machineType: `zones/${Z}/machineTypes/${t}` });
      assert.equal(
        (await call('POST', `projects/${P}/zones/${Z}/instances`, instanceBody('c1', mt('n1-standard-2'))))
          .body.error,
        undefined,
      );
      const over = await call(
        'POST',
        `projects/${P}/zones/${Z}/instances`,
        instanceBody('c2', mt('n1-standard-4')),
      );
      assert.equal(over.body.error.errors[0].code, 'QUOTA_EXCEEDED');
      assert.match(
        over.body.error.errors[0].message,
        /^Quota 'CPUS' exceeded\.\s+Limit: 4\.0 in region asia-northeast3\.$/,
      );
      const fits = await call(
        'POST',
        `projects/${P}/zones/${Z}/instances`,
        instanceBody('c3', mt('n1-standard-2')),
      );
      assert.equal(fits.body.error, undefined);
      // Another region has its own quota.
      const elsewhere = await call(
        'POST',
        `projects/${P}/zones/europe-west1-b/instances`,
        instanceBody('c4', {
          machineType: 'zones/europe-west1-b/machineTypes/n1-standard-4',
          disks: [
            {
              boot: true,
              autoDelete: true,
              initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
            },
          ],
        }),
      );
      assert.equal(elsewhere.body.error, undefined, JSON.stringify(elsewhere.body));
      const region = (await call('GET', `projects/${P}/regions/asia-northeast3`)).body;
      assert.deepEqual(
        region.quotas.find((q: Obj) => q.metric === 'CPUS'),
        { metric: 'CPUS', limit: 4, usage: 4 },
      );
      assert.deepEqual(await g.validate(), []);
    });
  });

  test('holdInsertMs: the instance exists (created event) before the insert is answered', async () => {
    await withFake(
      { holdInsertMs: 300, operationPolls: 0, acceptToken: (t) => t.startsWith('ya29.') },
      async (g) => {
        const { call } = client(g, 'ya29.minted-by-the-oauth-fake');
        let seenAt = 0;
        let existed = false;
        g.on('created', (e: { kind: string }) => {
          if (e.kind !== 'instance') return;
          seenAt = Date.now();
          existed = g.instances().length === 1;
        });
        const r = await call('POST', `projects/${P}/zones/${Z}/instances`, instanceBody('held'));
        const answeredAt = Date.now();
        assert.equal(r.status, 200);
        assert.ok(existed, 'committed when the event fired');
        assert.ok(answeredAt - seenAt >= 250, `held ${answeredAt - seenAt} ms`);
        // operationPolls 0: the operation is DONE in the answer itself.
        assert.equal(r.body.status, 'DONE');
        assert.equal((await call('GET', `projects/${P}/zones/${Z}/instances/held`)).body.status, 'RUNNING');
      },
    );
  });

  test('linkBase google: selfLinks as GCE writes them', async () => {
    await withFake({ linkBase: 'google' }, async (g) => {
      const r = await client(g).call('GET', `projects/${P}/zones/${Z}`);
      assert.equal(r.body.selfLink, `https://www.googleapis.com/compute/v1/projects/${P}/zones/${Z}`);
    });
  });
});

describe('validate()', () => {
  test('catches a wrong body: an unknown field, a number where int64 is a string, a wrong enum', () => {
    const d = Discovery.load(DISCOVERY);
    const problems = d.check([
      {
        method: 'compute.instances.insert',
        kind: 'request',
        status: 0,
        body: {
          name: 'x',
          machineTyp: 'zones/z/machineTypes/f1-micro',
          disks: [{ initializeParams: { diskSizeGb: 10 } }],
          scheduling: { onHostMaintenance: 'LIVE' },
        },
      },
      { method: 'compute.instances.get', kind: 'response', status: 200, body: { name: 'x', status: 7 } },
      { method: 'compute.instances.insert', kind: 'request', status: 0, body: { description: 'no name' } },
      { method: 'compute.instances.get', kind: 'response', status: 404, body: { error: { code: 404 } } },
    ]);
    assert.ok(
      problems.some((p) => /machineTyp: not a property of Instance/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /disks\[0\]\.initializeParams\.diskSizeGb: number 10 where a string/.test(p)),
    );
    assert.ok(problems.some((p) => /onHostMaintenance: 'LIVE' is not one of MIGRATE, TERMINATE/.test(p)));
    assert.ok(problems.some((p) => /status: number 7 where a string/.test(p)));
    assert.ok(problems.some((p) => /#2 .*name: required by compute.instances.insert, missing/.test(p)));
    assert.ok(problems.some((p) => /#3 .*error.message: required, missing/.test(p)));
    assert.equal(problems.length, 7, problems.join('\n'));
    // A pattern the document puts on an array applies to its items; int64 as a string passes.
    assert.deepEqual(d.checkValue({ $ref: 'Tags' }, { items: ['Bad Tag'] }), [
      "items[0]: 'Bad Tag' does not match [a-z](?:[-a-z0-9]{0,61}[a-z0-9])?",
    ]);
    assert.deepEqual(d.checkValue({ $ref: 'AttachedDiskInitializeParams' }, { diskSizeGb: '10' }), []);
    assert.deepEqual(d.checkValue({ $ref: 'Metadata' }, { fingerprint: 'not base64!' }), [
      "fingerprint: 'not base64!' is not base64",
    ]);
  });

  test('no blind spot: a stray field put into any object of any body of a whole run is reported', async () => {
    const d = Discovery.load(DISCOVERY);
    await withFake({ operationPolls: 1, addresses: ['127.0.0.1'] }, async (g) => {
      const { call, poll } = client(g);
      const body = instanceBody('probe', {
        labels: { a: 'b' },
        metadata: { items: [{ key: 'k', value: 'v' }] },
      });
      await poll((await call('POST', `projects/${P}/zones/${Z}/instances`, body)).body);
      await call('GET', `projects/${P}/zones/${Z}/instances/probe`);
      await call('GET', `projects/${P}/zones/${Z}/instances`);
      await call('GET', `projects/${P}/zones/${Z}/disks/probe-disk`);
      await call('GET', `projects/${P}/regions/asia-northeast3`);
      await call('GET', `projects/${P}`);
      await call('GET', 'projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20200223');
      await call('GET', `projects/${P}/zones/${Z}/instances/none`);
      assert.deepEqual(await g.validate(), []);
      let probes = 0;
      for (const rec of g.recorded) {
        const objects: Obj[] = [];
        const walk = (v: unknown) => {
          if (Array.isArray(v)) v.forEach(walk);
          else if (v && typeof v === 'object') {
            objects.push(v as Obj);
            Object.values(v).forEach(walk);
          }
        };
        const copy = structuredClone(rec);
        walk(copy.body);
        for (const o of objects) {
          o.zzStray = true;
          const problems = d.check([copy]);
          assert.equal(
            problems.length,
            1,
            `${rec.method} ${JSON.stringify(o).slice(0, 120)}: ${problems.join('; ')}`,
          );
          delete o.zzStray;
          probes++;
        }
      }
      assert.ok(probes > 40, `${probes} objects probed`);
    });
  });

  test('list filters: = and != compare, eq and ne match a whole regular expression, clauses AND together', () => {
    const items = [
      { name: 'dm-a', status: 'RUNNING', labels: { role: 'manager' } },
      { name: 'dm-b', status: 'TERMINATED', labels: { role: 'worker' } },
      { name: 'other', status: 'RUNNING', labels: {} },
    ];
    const names = (f: string) => applyFilter(items, f).map((i) => i.name);
    assert.deepEqual(names('name = "dm-a"'), ['dm-a']);
    assert.deepEqual(names('name != dm-a'), ['dm-b', 'other']);
    assert.deepEqual(names('name eq dm-.*'), ['dm-a', 'dm-b']);
    assert.deepEqual(names('name eq dm'), [], 'eq matches the whole name');
    assert.deepEqual(names('(name eq dm-.*) (status = RUNNING)'), ['dm-a']);
    assert.deepEqual(names('labels.role = worker AND status = "TERMINATED"'), ['dm-b']);
    assert.throws(() => applyFilter(items, 'name ~ x'), /Invalid list filter expression/);
  });
});
