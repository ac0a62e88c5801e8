import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeGoogle } from '../../../test/fakes/google/fake.js';
import { COMPUTE_SCOPE, FakeGoogleOAuth } from '../../../test/fakes/google/oauth.js';
import { CloudAPIError } from '../cloud/errors.js';
import { ComputeAPI, type Operation, parseGoogleError } from './api.js';
import { googleTokenSource } from './auth/index.js';
import { parseImage, publicProjects, resolveImage } from './images.js';
import { googleDriver, swarmFirewallRule } from './index.js';
import { waitOperation } from './operations.js';
import {
  machineState,
  openPortProblem,
  parseAccelerator,
  parseLabels,
  parseTags,
  regionOf,
} from './state.js';

test('image references: URL, project path, family path, PROJECT/WORD, bare word; a malformed one is a line', () => {
  assert.deepEqual(
    parseImage(
      'https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20200223',
    ),
    { kind: 'name', project: 'ubuntu-os-cloud', name: 'ubuntu-1604-xenial-v20200223' },
  );
  assert.deepEqual(
    parseImage(
      'https://compute.googleapis.com/compute/v1/projects/debian-cloud/global/images/family/debian-12',
    ),
    {
      kind: 'family',
      project: 'debian-cloud',
      family: 'debian-12',
    },
  );
  assert.deepEqual(parseImage('projects/cos-cloud/global/images/cos-stable-109'), {
    kind: 'name',
    project: 'cos-cloud',
    name: 'cos-stable-109',
  });
  assert.deepEqual(parseImage('ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64'), {
    kind: 'family',
    project: 'ubuntu-os-cloud',
    family: 'ubuntu-2404-lts-amd64',
  });
  assert.deepEqual(parseImage('global/images/my-golden'), { kind: 'name', project: '', name: 'my-golden' });
  assert.deepEqual(parseImage('ubuntu-os-cloud/ubuntu-2204-lts'), {
    kind: 'either',
    project: 'ubuntu-os-cloud',
    word: 'ubuntu-2204-lts',
  });
  assert.deepEqual(parseImage('ubuntu-2404-lts-amd64'), { kind: 'bare', word: 'ubuntu-2404-lts-amd64' });
  for (const bad of ['Ubuntu 16.04', 'http://x/y', 'a/b/c', 'projects/p/global/disks/d', ''])
    assert.match(
      String(parseImage(bad)),
      /is not an image reference Compute Engine takes; give https:\/\//,
      bad,
    );
  assert.deepEqual(publicProjects('ubuntu-pro-2204-lts'), ['ubuntu-os-pro-cloud', 'ubuntu-os-cloud']);
  assert.deepEqual(publicProjects('debian-12'), ['debian-cloud']);
  assert.deepEqual(publicProjects('my-image'), []);
});

test('instance states, tags, labels, ports, accelerators, regions', () => {
  assert.equal(machineState('PROVISIONING'), 'Starting');
  assert.equal(machineState('STAGING'), 'Starting');
  assert.equal(machineState('RUNNING'), 'Running');
  assert.equal(machineState('STOPPING'), 'Stopping');
  assert.equal(machineState('TERMINATED'), 'Stopped');
  assert.equal(machineState('REPAIRING'), '');
  assert.deepEqual(parseTags('http-server, https-server').tags, ['http-server', 'https-server']);
  assert.match(parseTags('http_server').problem, /"http_server" is not a network tag/);
  assert.deepEqual(parseLabels(['team:a,env=test'], 'google-vm-labels').labels, { team: 'a', env: 'test' });
  assert.match(parseLabels(['Team=a'], 'google-label').problem, /"Team" is not a label key/);
  assert.match(parseLabels(['team=A B'], 'google-label').problem, /"A B" is not a label value/);
  assert.equal(openPortProblem('8080'), '');
  assert.equal(openPortProblem('8000-8010/udp'), '');
  assert.match(openPortProblem('70000'), /expected PORT/);
  assert.match(openPortProblem('10-5'), /expected PORT/);
  assert.deepEqual(parseAccelerator('type=nvidia-tesla-t4,count=2'), { type: 'nvidia-tesla-t4', count: 2 });
  assert.match(String(parseAccelerator('nvidia-tesla-t4')), /expected type=TYPE,count=N/);
  assert.equal(regionOf('asia-northeast3-a'), 'asia-northeast3');
});

test("swarm members share one rule: Swarm mode's node ports, from and to machines tagged docker-machine only", () => {
  assert.deepEqual(swarmFirewallRule('projects/p/global/networks/default'), {
    name: 'docker-machines-swarm',
    network: 'projects/p/global/networks/default',
    direction: 'INGRESS',
    sourceTags: ['docker-machine'],
    targetTags: ['docker-machine'],
    allowed: [
      { IPProtocol: 'tcp', ports: ['7946'] },
      { IPProtocol: 'udp', ports: ['7946', '4789'] },
    ],
    description: 'docker-machine: Swarm mode between machines tagged docker-machine (gossip, overlay)',
  });
});

test('a swarm node advertises its internal address, where the swarm rule admits the other members', async () => {
  const d = (json: Record<string, unknown>) =>
    googleDriver.fromJSON({ MachineName: 'm', IPAddress: '34.1.2.3', ...json });
  assert.equal(await d({ InternalIPAddress: '10.128.0.7' }).clusterAddress?.(), '10.128.0.7');
  assert.equal(await d({}).clusterAddress?.(), '34.1.2.3');
});

test("Google's error body is one line: reason, message", () => {
  assert.deepEqual(
    parseGoogleError(404, {
      error: {
        code: 404,
        message: "The resource 'projects/p/zones/nowhere-a' was not found",
        errors: [{ domain: 'global', reason: 'notFound', message: 'x' }],
      },
    }),
    { code: 'notFound', message: "The resource 'projects/p/zones/nowhere-a' was not found" },
  );
  assert.equal(parseGoogleError(502, '<html>\nbad gateway\n</html>').message, '<html> bad gateway </html>');
});

/** A tiny Compute endpoint: answers from a table, counts calls, refuses a token it was told to. */
async function endpoint(
  answer: (path: string, auth: string) => [number, unknown],
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const [status, body] = answer(req.url ?? '', req.headers.authorization ?? '');
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

test('an operation is polled to DONE with a doubling back-off; its warnings are shown once; its error is a refusal with its status', async () => {
  let polls = 0;
  const { url, server } = await endpoint((path) => {
    if (path.endsWith('/operations/op-1')) {
      polls++;
      return [
        200,
        {
          name: 'op-1',
          zone: 'https://x/compute/v1/projects/p/zones/z-a',
          status: polls < 3 ? 'RUNNING' : 'DONE',
          warnings: [{ code: 'DEPRECATED_RESOURCE_USED', message: "The resource 'img' is deprecated." }],
        },
      ];
    }
    if (path.endsWith('/operations/op-2'))
      return [
        200,
        {
          name: 'op-2',
          status: 'DONE',
          httpErrorStatusCode: 403,
          error: {
            errors: [{ code: 'QUOTA_EXCEEDED', message: "Quota 'CPUS' exceeded.  Limit: 8.0 in region r." }],
          },
        },
      ];
    return [404, { error: { code: 404, message: 'no', errors: [{ reason: 'notFound' }] } }];
  });
  try {
    const api = new ComputeAPI({
      endpoint: url,
      project: 'p',
      tokens: { token: async () => 't', invalidate() {} },
    });
    const slept: number[] = [];
    const lines: string[] = [];
    const first: Operation = { name: 'op-1', zone: 'zones/z-a', status: 'PENDING' };
    const done = await waitOperation(api, first, {
      what: 'insert of instance m1',
      log: (l) => lines.push(l),
      sleep: async (ms) => {
        slept.push(ms);
      },
      maxDelayMs: 3000,
    });
    assert.equal(done.status, 'DONE');
    assert.deepEqual(slept, [1000, 2000, 3000]);
    assert.deepEqual(lines, [
      "Warning from Compute Engine (insert of instance m1): DEPRECATED_RESOURCE_USED: The resource 'img' is deprecated.",
    ]);
    await assert.rejects(
      waitOperation(
        api,
        { name: 'op-2', status: 'RUNNING' },
        { what: 'x', log: () => {}, sleep: async () => {} },
      ),
      (err) =>
        err instanceof CloudAPIError &&
        err.status === 403 &&
        err.message ===
          "Google Compute Engine API: QUOTA_EXCEEDED: Quota 'CPUS' exceeded.  Limit: 8.0 in region r. (HTTP 403)",
    );
    // Bounded: an operation that never ends is a line naming it.
    await assert.rejects(
      waitOperation(
        api,
        { name: 'op-9', status: 'RUNNING' },
        { what: 'stop of instance m1', log: () => {}, timeoutMs: 0 },
      ),
      /Compute Engine's stop of instance m1 \(operation op-9\) is still RUNNING after 0 s/,
    );
  } finally {
    server.close();
  }
});

test('a 401 renews the token and asks once more; renewed and refused again is one line naming the request and what to do', async () => {
  let minted = 0;
  const { url, server } = await endpoint((_path, auth) =>
    auth === 'Bearer t2'
      ? [200, { name: 'p' }]
      : [401, { error: { code: 401, message: 'Invalid Credentials', errors: [{ reason: 'authError' }] } }],
  );
  try {
    // As a credential keeps its token: the same one until it is dropped.
    let current = '';
    const tokens = {
      token: async () => {
        current ||= `t${++minted}`;
        return current;
      },
      invalidate() {
        current = '';
      },
    };
    const api = new ComputeAPI({ endpoint: url, project: 'p', tokens });
    assert.deepEqual(await api.get('projects/p'), { name: 'p' });
    assert.equal(minted, 2);
    const api2 = new ComputeAPI({
      endpoint: url,
      project: 'p',
      tokens: {
        token: async () => 'bad',
        invalidate() {},
        hint: 'check that the key of sa@p.iam.gserviceaccount.com is not deleted or disabled',
      },
    });
    const err = await api2.get('projects/p').then(
      () => assert.fail('a second 401 is an error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CloudAPIError);
    assert.equal(err.status, 401);
    assert.equal(
      err.message,
      'Google Compute Engine API: authError: Invalid Credentials (HTTP 401); GET /compute/v1/projects/p was refused again with credentials renewed just before: check that the key of sa@p.iam.gserviceaccount.com is not deleted or disabled',
    );
  } finally {
    server.close();
  }
});

test('against the fake OAuth endpoint: requests refused together renew the token once, and the next requests reuse it', async () => {
  const oauth = new FakeGoogleOAuth();
  await oauth.start();
  const gce = new FakeGoogle({ projects: ['p'], acceptToken: (t) => oauth.acceptToken(t) });
  await gce.start();
  const dir = await mkdtemp(join(tmpdir(), 'dm-greauth-'));
  try {
    const key = join(dir, 'sa.json');
    await oauth.writeServiceAccountKey(key);
    const tokens = await googleTokenSource({
      env: { GOOGLE_APPLICATION_CREDENTIALS: key },
      home: dir,
      scopes: [COMPUTE_SCOPE],
      debug: () => {},
    });
    const api = new ComputeAPI({ endpoint: gce.url, project: 'p', tokens });
    const minted = () => oauth.tokenRequests().length;
    await Promise.all([api.get('projects/p'), api.get('projects/p/zones')]);
    assert.equal(minted(), 1, 'requests at once share the first token');

    for (const t of oauth.tokens.keys()) oauth.revoke(t);
    const sent = gce.requests.length;
    const five = await Promise.all(Array.from({ length: 5 }, () => api.get<{ name: string }>('projects/p')));
    assert.deepEqual(
      five.map((x) => x.name),
      ['p', 'p', 'p', 'p', 'p'],
    );
    assert.equal(minted(), 2, 'five requests refused with the same token: one renewal');
    assert.equal(gce.requests.length - sent, 10, 'each refused once and sent once more');

    for (let i = 0; i < 3; i++) await api.get('projects/p');
    await api.list('projects/p/zones');
    assert.equal(minted(), 2, 'the renewed token serves the next requests');
    assert.equal(gce.requests.length - sent, 14, 'and none of them is refused');

    // The driver makes an API object per operation, all on its one token source.
    const other = new ComputeAPI({ endpoint: gce.url, project: 'p', tokens });
    for (const t of oauth.tokens.keys()) oauth.revoke(t);
    await Promise.all([api.get('projects/p'), other.get('projects/p'), other.get('projects/p/zones')]);
    assert.equal(minted(), 3, 'one renewal for the requests of both');
  } finally {
    await gce.stop();
    await oauth.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bare family name is found in the public project its name points to', async () => {
  const seen: string[] = [];
  const { url, server } = await endpoint((path) => {
    seen.push(path);
    if (path === '/compute/v1/projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64')
      return [200, { name: 'ubuntu-2404-noble-amd64-v20250101' }];
    return [404, { error: { code: 404, message: 'not found', errors: [{ reason: 'notFound' }] } }];
  });
  try {
    const api = new ComputeAPI({
      endpoint: url,
      project: 'mine',
      tokens: { token: async () => 't', invalidate() {} },
    });
    const r = await resolveImage(api, 'ubuntu-2404-lts-amd64');
    assert.equal(r.source, 'projects/ubuntu-os-cloud/global/images/ubuntu-2404-noble-amd64-v20250101');
    assert.deepEqual(seen, [
      '/compute/v1/projects/mine/global/images/ubuntu-2404-lts-amd64',
      '/compute/v1/projects/mine/global/images/family/ubuntu-2404-lts-amd64',
      '/compute/v1/projects/ubuntu-os-cloud/global/images/ubuntu-2404-lts-amd64',
      '/compute/v1/projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64',
    ]);
    await assert.rejects(
      resolveImage(api, 'debian-99'),
      /no image or image family named debian-99 in projects mine, debian-cloud; give https:/,
    );
  } finally {
    server.close();
  }
});
