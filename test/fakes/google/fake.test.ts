import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Discovery } from './discovery.js';
import { DISCOVERY, FakeGoogle, type FakeGoogleOptions } from './fake.js';

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
  });
});
