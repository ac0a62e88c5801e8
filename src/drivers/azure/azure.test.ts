import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FakeAzureAD } from '../../../test/fakes/azure/aad.js';
import { FakeAzure } from '../../../test/fakes/azure/arm.js';
import { ARM, armError } from './api.js';
import { azureCloud, azureTokenSource } from './auth/index.js';
import { azureDriver } from './index.js';
import { OperationFailedError } from './lro.js';
import {
  compareVersions,
  groupAndName,
  machineState,
  parseOpenPort,
  parseTags,
  parseURN,
  resourceGroupProblem,
  securityRules,
} from './state.js';

describe('azure: states and values', () => {
  test('the first PowerState/ status decides the state, as the original read it', () => {
    const s = (...codes: string[]) => machineState(codes.map((code) => ({ code })));
    assert.equal(s('ProvisioningState/succeeded', 'PowerState/running'), 'Running');
    assert.equal(s('PowerState/starting'), 'Starting');
    assert.equal(s('PowerState/stopping'), 'Stopping');
    assert.equal(s('PowerState/deallocating'), 'Stopping');
    assert.equal(s('PowerState/stopped'), 'Stopped');
    assert.equal(s('PowerState/deallocated'), 'Stopped');
    assert.equal(s('ProvisioningState/creating'), '');
    assert.equal(machineState(undefined), '');
  });

  test('image URNs, versions, [group:]name, tags, ports, group names', () => {
    assert.deepEqual(parseURN('canonical:UbuntuServer:16.04.0-LTS:latest'), {
      publisher: 'canonical',
      offer: 'UbuntuServer',
      sku: '16.04.0-LTS',
      version: 'latest',
    });
    assert.equal(parseURN('ubuntu'), undefined);
    assert.equal(parseURN('a:b:c'), undefined);
    assert.deepEqual(['16.04.201908150', '16.04.202104140', '16.04.9'].sort(compareVersions), [
      '16.04.9',
      '16.04.201908150',
      '16.04.202104140',
    ]);
    assert.deepEqual(groupAndName('net-rg:shared', 'dm'), { group: 'net-rg', name: 'shared' });
    assert.deepEqual(groupAndName('vnet1', 'dm'), { group: 'dm', name: 'vnet1' });
    assert.deepEqual(parseTags('team,a,env,test').tags, { team: 'a', env: 'test' });
    assert.match(parseTags('team,a,env').problem, /expected key,value pairs/);
    assert.match(parseTags('a/b,1').problem, /not a tag name/);
    assert.deepEqual(parseOpenPort('8080'), { port: 8080, proto: 'Tcp' });
    assert.deepEqual(parseOpenPort('53/udp'), { port: 53, proto: 'Udp' });
    assert.equal(parseOpenPort('70000'), undefined);
    assert.equal(parseOpenPort('80/icmp'), undefined);
    assert.equal(resourceGroupProblem('docker-machine'), '');
    assert.match(resourceGroupProblem('a b'), /only letters/);
    assert.match(resourceGroupProblem('x.'), /period/);
  });

  test("the original's rules: SSH 100, Docker 300, swarm 500, open ports from 1000, no duplicates", () => {
    const rules = securityRules({
      sshPort: 22,
      dockerPort: 2376,
      swarmPort: 3376,
      open: [
        { port: 8080, proto: 'Tcp' },
        { port: 53, proto: 'Udp' },
        { port: 2376, proto: 'Tcp' },
      ],
    });
    assert.deepEqual(
      rules.map((r) => `${r.name} ${r.properties.priority} ${r.properties.destinationPortRange}`),
      [
        'SSHAllowAny 100 22',
        'DockerAllowAny 300 2376',
        'DockerSwarmAllowAny 500 3376',
        'SwarmManagerAllowAny 510 2377',
        'Port8080-TcpAllowAny 1000 8080',
        'Port53-UdpAllowAny 1001 53',
      ],
    );
  });

  test("a swarm member, manager or worker: Swarm mode's node ports from the virtual network only", () => {
    const show = (swarmPort?: number) =>
      securityRules({ sshPort: 22, dockerPort: 2376, swarmPort, swarmNode: true, open: [] }).map(
        (r) =>
          `${r.name} ${r.properties.priority} ${r.properties.destinationPortRange}/${r.properties.protocol} from ${r.properties.sourceAddressPrefix}`,
      );
    const nodes = [
      'SwarmNode7946-TcpAllowVnet 520 7946/Tcp from VirtualNetwork',
      'SwarmNode7946-UdpAllowVnet 530 7946/Udp from VirtualNetwork',
      'SwarmNode4789-UdpAllowVnet 540 4789/Udp from VirtualNetwork',
    ];
    assert.deepEqual(show(3376), [
      'SSHAllowAny 100 22/Tcp from *',
      'DockerAllowAny 300 2376/Tcp from *',
      'DockerSwarmAllowAny 500 3376/Tcp from *',
      'SwarmManagerAllowAny 510 2377/Tcp from *',
      ...nodes,
    ]);
    assert.deepEqual(show(), [
      'SSHAllowAny 100 22/Tcp from *',
      'DockerAllowAny 300 2376/Tcp from *',
      ...nodes,
    ]);
  });

  test('a swarm node advertises its private address, in the virtual network', async () => {
    const d = (json: Record<string, unknown>) =>
      azureDriver.fromJSON({ MachineName: 'm', IPAddress: '20.1.2.3', ...json });
    assert.equal(await d({ PrivateIPAddress: '192.168.0.4' }).clusterAddress?.(), '192.168.0.4');
    assert.equal(await d({}).clusterAddress?.(), '20.1.2.3');
  });

  test('ARM error bodies become one line with the first detail', () => {
    assert.deepEqual(
      armError(409, {
        error: {
          code: 'OperationNotAllowed',
          message:
            'Operation could not be completed as it results in exceeding approved\nTotal Regional Cores quota.',
          details: [{ code: 'QuotaExceeded', message: 'Current Limit: 4, Additional Required: 2' }],
        },
      }),
      {
        code: 'OperationNotAllowed',
        message:
          'Operation could not be completed as it results in exceeding approved Total Regional Cores quota. (QuotaExceeded: Current Limit: 4, Additional Required: 2)',
      },
    );
    assert.deepEqual(armError(502, '<html>bad gateway</html>'), {
      code: 'HTTP502',
      message: '<html>bad gateway</html>',
    });
  });
});

/** A tiny Resource Manager on loopback (plain HTTP: the connection allows it for tests). */
async function miniARM(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let tokens = 0;
  let invalidated = 0;
  // As a sign-in keeps its token: the same one until it is dropped.
  let current = '';
  const arm = new ARM({
    endpoint: url,
    subscription: 'sub-1',
    tokens: {
      describe: 'test',
      hint: 'sign in again',
      token: async () => {
        current ||= `t${++tokens}`;
        return current;
      },
      invalidate: () => {
        invalidated++;
        current = '';
      },
    },
    lro: { defaultIntervalMs: 10, timeoutMs: 5000 },
  });
  return {
    url,
    arm,
    seen,
    stats: () => ({ tokens, invalidated }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
};

describe('azure: long-running operations', () => {
  test('a PUT with Azure-AsyncOperation is polled until Succeeded, honouring Retry-After', async () => {
    let polls = 0;
    const m = await miniARM((req, res) => {
      if (req.method === 'PUT')
        return json(
          res,
          201,
          { id: '/x', properties: { provisioningState: 'Creating' } },
          {
            'azure-asyncoperation': `http://${req.headers.host}/subscriptions/sub-1/providers/op/1?api-version=2024-03-01`,
            'retry-after': '0',
          },
        );
      if (req.url?.includes('/op/1')) {
        polls++;
        return json(res, 200, { status: polls < 3 ? 'InProgress' : 'Succeeded' }, { 'retry-after': '0' });
      }
      return json(res, 200, { id: '/x', properties: { provisioningState: 'Succeeded' } });
    });
    try {
      const r = await m.arm.put<{ properties: { provisioningState: string } }>(
        m.arm.path('network', '/x'),
        {},
        'create of x',
      );
      assert.equal(r.properties.provisioningState, 'Succeeded');
      assert.equal(polls, 3);
      assert.ok(m.seen.every((s) => s.endsWith('Bearer t1')));
    } finally {
      await m.close();
    }
  });

  test('an operation that ends Failed is an OperationFailedError with ARM words', async () => {
    const m = await miniARM((req, res) => {
      if (req.method === 'PUT')
        return json(res, 201, {}, { 'azure-asyncoperation': `http://${req.headers.host}/op/2` });
      return json(res, 200, {
        status: 'Failed',
        error: { code: 'OSProvisioningTimedOut', message: 'OS Provisioning did not finish in time.' },
      });
    });
    try {
      await assert.rejects(m.arm.put('/vm?api-version=1', {}, 'create of virtual machine m1'), (err) => {
        assert.ok(err instanceof OperationFailedError);
        assert.equal(
          err.message,
          'Azure API: OSProvisioningTimedOut: OS Provisioning did not finish in time. (create of virtual machine m1: operation Failed)',
        );
        return true;
      });
    } finally {
      await m.close();
    }
  });

  test('a DELETE answered 202 + Location is polled until it stops answering 202', async () => {
    let polls = 0;
    const m = await miniARM((req, res) => {
      if (req.method === 'DELETE')
        return json(res, 202, undefined, {
          location: `http://${req.headers.host}/loc/1`,
          'retry-after': '0',
        });
      polls++;
      return polls < 2 ? json(res, 202, undefined, { 'retry-after': '0' }) : json(res, 200, undefined);
    });
    try {
      await m.arm.delete('/r?api-version=1', 'delete of r');
      assert.equal(polls, 2);
    } finally {
      await m.close();
    }
  });

  test('a PUT refused while another operation holds the resource waits for that operation, then is sent again', async () => {
    let puts = 0;
    let opPolls = 0;
    const m = await miniARM((req, res) => {
      if (req.method === 'PUT') {
        puts++;
        if (puts === 1)
          return json(res, 409, {
            error: {
              code: 'AnotherOperationInProgress',
              message: `Operation PutvirtualNetworks could not be performed: another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: http://${req.headers.host}/op/9?api-version=2024-01-01.`,
            },
          });
        return json(res, 200, { id: '/v', properties: { provisioningState: 'Succeeded' } });
      }
      if (req.url?.startsWith('/op/9')) {
        opPolls++;
        return json(res, 200, { status: opPolls < 2 ? 'InProgress' : 'Succeeded' }, { 'retry-after': '0' });
      }
      return json(res, 200, { id: '/v', properties: { provisioningState: 'Succeeded' } });
    });
    try {
      await m.arm.put('/v?api-version=2024-01-01', {}, 'create of virtual network v');
      assert.equal(puts, 2);
      assert.equal(opPolls, 2);
    } finally {
      await m.close();
    }
  });

  test('a poll URL on another host is not followed (the token stays with Resource Manager)', async () => {
    const m = await miniARM((_req, res) =>
      json(res, 202, undefined, { location: 'http://198.51.100.7/steal', 'retry-after': '0' }),
    );
    try {
      await assert.rejects(m.arm.delete('/r?api-version=1', 'delete of r'), /on another host/);
    } finally {
      await m.close();
    }
  });

  test('a 401 renews the token once; renewed and refused again is one line naming the request and what to do', async () => {
    const m = await miniARM((req, res) => {
      if (req.headers.authorization === 'Bearer t1')
        return json(res, 401, { error: { code: 'ExpiredAuthenticationToken', message: 'expired' } });
      return json(res, 200, { value: [{ name: 'westus' }] });
    });
    try {
      const r = await m.arm.list<{ name: string }>(m.arm.path('subscriptions', '/locations'));
      assert.deepEqual(r, [{ name: 'westus' }]);
      assert.deepEqual(m.stats(), { tokens: 2, invalidated: 1 });
    } finally {
      await m.close();
    }
    const always = await miniARM((_req, res) =>
      json(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'bad' } }),
    );
    try {
      await assert.rejects(always.arm.get(always.arm.path('subscriptions', '')), {
        message:
          'Azure API: InvalidAuthenticationToken: bad (HTTP 401); GET /subscriptions/sub-1 was refused again with credentials renewed just before: sign in again',
      });
      assert.equal(always.seen.length, 2);
    } finally {
      await always.close();
    }
  });

  test('against the fake Azure AD: requests refused together renew the token once, and the next requests reuse it', async () => {
    const TENANT = '0b5e3f7a-1c2d-4e6f-8a9b-0c1d2e3f4a5b';
    const SUB = '7d2f4a6c-8e0b-4c1d-9f3a-5b7c9d1e3f50';
    const CLIENT = '5c3e1a9f-2b4d-4f60-8a71-9b0c1d2e3f4a';
    const aad = new FakeAzureAD();
    await aad.start();
    aad.addTenant(TENANT);
    aad.registerApp({ clientId: CLIENT, secret: 'sp-secret-for-reauth', tenant: TENANT });
    const fake = new FakeAzure({
      subscriptionId: SUB,
      tenantId: TENANT,
      acceptToken: (t) => aad.acceptToken(t),
    });
    await fake.start();
    const dir = await mkdtemp(join(tmpdir(), 'dm-azreauth-'));
    const trust = join(dir, 'trust.pem');
    await writeFile(trust, `${await readFile(aad.caPath, 'utf8')}\n${await readFile(fake.caPath, 'utf8')}`);
    // Resource Manager's connection trusts what the process does, as the CLI's would.
    const before = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = trust;
    try {
      const tokens = await azureTokenSource({
        cloud: azureCloud('AzurePublicCloud', { resourceManager: fake.url, authorityHost: aad.url }),
        subscriptionId: SUB,
        tenantId: TENANT,
        clientId: CLIENT,
        clientSecret: 'sp-secret-for-reauth',
        cacheDir: join(dir, 'credentials'),
        env: { NODE_EXTRA_CA_CERTS: trust, PATH: '' },
        notify: () => {},
        debug: () => {},
      });
      const arm = new ARM({ endpoint: fake.url, subscription: SUB, tokens });
      const grants = () => aad.count('client_credentials');
      assert.equal(grants(), 1, 'the sign-in');
      const sub = arm.path('subscriptions', '');
      await Promise.all([arm.get(sub), arm.get(sub)]);
      assert.equal(grants(), 1, 'its token serves the first requests');

      aad.expireAccessTokens();
      const sent = fake.requests.length;
      const five = await Promise.all(
        Array.from({ length: 5 }, () => arm.get<{ subscriptionId: string }>(sub)),
      );
      assert.deepEqual(new Set(five.map((x) => x.subscriptionId)), new Set([SUB]));
      assert.equal(grants(), 2, 'five requests refused with the same token: one renewal');
      assert.equal(fake.requests.length - sent, 10, 'each refused once and sent once more');

      for (let i = 0; i < 3; i++) await arm.get(sub);
      assert.equal(grants(), 2, 'the renewed token serves the next requests');
      assert.equal(fake.requests.length - sent, 13, 'and none of them is refused');
    } finally {
      if (before === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = before;
      await fake.stop();
      await aad.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
